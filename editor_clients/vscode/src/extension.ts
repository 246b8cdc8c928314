// Qwen LSP for VS Code: starts `qwen-lsp serve`, shows its ghost text and next-edit suggestions, and reports
// its state in the status bar.

import * as vscode from "vscode";
import { DidChangeConfigurationNotification, LanguageClient } from "vscode-languageclient/node";
import { explainAtCursor, toggleInlineCompletions } from "./common/commands";
import { CONFIG_SECTION, Commands, EXTENSION_NAME } from "./common/constants";
import { NextEditController } from "./common/nextEdit";
import { inlineCompletionsEnabled, needsRestart, serverSettingKeys, userServerSettings } from "./common/settings";
import { DOCUMENT_SELECTOR, startClient } from "./common/server";
import { StatusItem } from "./common/status";

let client: LanguageClient | undefined;
let restarting: Promise<void> = Promise.resolve();

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel(EXTENSION_NAME, { log: true });
  const status = new StatusItem();
  status.setEnabled(inlineCompletionsEnabled());
  const ctx = { output, status, serverSettingKeys: serverSettingKeys(context.extension.packageJSON) };
  const nextEdit = new NextEditController(() => client, DOCUMENT_SELECTOR, output);
  context.subscriptions.push(output, status, nextEdit);

  // One restart at a time; a restart asked for during another runs after it, with the newest settings.
  const restart = (): Promise<void> => {
    restarting = restarting.then(async () => {
      const previous = client;
      client = undefined;
      if (previous !== undefined) {
        await previous.dispose().catch((error: unknown) => output.warn(`stopping the server: ${String(error)}`));
      }
      client = await startClient(ctx).catch(() => undefined);
    });
    return restarting;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand(Commands.restart, restart),
    vscode.commands.registerCommand(Commands.showLog, () => output.show(true)),
    vscode.commands.registerCommand(Commands.toggleInlineCompletions, toggleInlineCompletions),
    vscode.commands.registerCommand(Commands.nextEditAccept, () => nextEdit.accept()),
    vscode.commands.registerCommand(Commands.nextEditJump, () => nextEdit.jump()),
    vscode.commands.registerCommand(Commands.nextEditDismiss, () => nextEdit.dismiss()),
    vscode.commands.registerCommand(Commands.explainAtCursor, async () => {
      const done = status.busy();
      try {
        return await explainAtCursor(client);
      } catch (error) {
        output.error(`explain: ${String(error)}`);
        void vscode.window.showErrorMessage(`Qwen LSP: explain failed: ${String(error)}`);
        return undefined;
      } finally {
        done();
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration(CONFIG_SECTION)) {
        return;
      }
      status.setEnabled(inlineCompletionsEnabled());
      nextEdit.configurationChanged();
      if (needsRestart(event)) {
        await restart();
      } else if (client?.isRunning()) {
        await client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { [CONFIG_SECTION]: userServerSettings(ctx.serverSettingKeys) },
        });
      }
    }),
    { dispose: () => void client?.dispose() },
  );

  await restart();
}

export async function deactivate(): Promise<void> {
  await client?.dispose();
  client = undefined;
}
