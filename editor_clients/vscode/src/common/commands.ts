// The command palette's "Qwen LSP: ..." commands, each a few lines over the client.

import * as vscode from "vscode";
import { ExecuteCommandRequest, LanguageClient } from "vscode-languageclient/node";
import { CONFIG_SECTION, SERVER_EXPLAIN_COMMAND } from "./constants";

interface ExplainResult {
  symbol?: string;
  markdown?: string;
  uri?: string;
}

/** Ask the server to explain the symbol under the cursor; it opens the explanation with showDocument. */
export async function explainAtCursor(client: LanguageClient | undefined): Promise<ExplainResult | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (client === undefined || !client.isRunning()) {
    void vscode.window.showWarningMessage("Qwen LSP: the server is not running.");
    return undefined;
  }
  if (editor === undefined) {
    void vscode.window.showInformationMessage("Qwen LSP: open a file and put the cursor on a symbol first.");
    return undefined;
  }
  const position = editor.selection.active;
  const argument = {
    uri: client.code2ProtocolConverter.asUri(editor.document.uri),
    line: position.line,
    character: position.character,
  };
  const result = (await client.sendRequest(ExecuteCommandRequest.type, {
    command: SERVER_EXPLAIN_COMMAND,
    arguments: [argument],
  })) as ExplainResult | null;
  if (result?.uri) {
    // The server normally shows it already; make sure it is visible even if showDocument was refused.
    const uri = client.protocol2CodeConverter.asUri(result.uri);
    const shown = vscode.window.visibleTextEditors.some((other) => other.document.uri.toString() === uri.toString());
    if (!shown) {
      await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    }
  }
  return result ?? undefined;
}

/** Flip `qwenLsp.completion.enabled` where it is set (user settings unless a workspace overrides it). */
export async function toggleInlineCompletions(): Promise<boolean> {
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const seen = config.inspect<boolean>("completion.enabled");
  const enabled = !config.get<boolean>("completion.enabled", true);
  const target =
    seen?.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : seen?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
  await config.update("completion.enabled", enabled, target);
  void vscode.window.setStatusBarMessage(`Qwen LSP: inline completions ${enabled ? "on" : "off"}`, 3000);
  return enabled;
}
