// Settings: how to start the server (the extension's own keys) and what to send it (everything else).
//
// The server's keys are not listed here: they are read from this extension's package.json, whose
// generated categories (ids "server.*") come from lsp_server/settings_schema.py. Only values the user
// set are sent, so a `--model` on the server command line is not overridden by a default.

import * as vscode from "vscode";
import { CONFIG_SECTION, GENERATED_CATEGORY_PREFIX } from "./constants";

export interface ServerCommand {
  command: string;
  args: string[];
}

interface ConfigurationCategory {
  id?: string;
  properties?: Record<string, unknown>;
}

/** The command line that starts the server over stdio. */
export function serverCommand(): ServerCommand {
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const explicit = config.get<string[]>("serverCommand", []).filter((part) => part.length > 0);
  const interpreter = config.get<string>("interpreter", "").trim();
  const extra = config.get<string[]>("serverArgs", []);
  let base: string[];
  if (explicit.length > 0) {
    base = explicit;
  } else if (interpreter.length > 0) {
    base = [interpreter, "-m", "lsp_server", "serve"];
  } else {
    base = ["qwen-lsp", "serve"];
  }
  return { command: base[0], args: [...base.slice(1), ...extra] };
}

/** Dotted keys (without the prefix) of every server setting, e.g. `completion.maxTokensSingleLine`. */
export function serverSettingKeys(packageJSON: { contributes?: { configuration?: unknown } }): string[] {
  const raw = packageJSON.contributes?.configuration;
  const categories = (Array.isArray(raw) ? raw : raw ? [raw] : []) as ConfigurationCategory[];
  return categories
    .filter((category) => (category.id ?? "").startsWith(GENERATED_CATEGORY_PREFIX))
    .flatMap((category) => Object.keys(category.properties ?? {}))
    .map((name) => name.slice(CONFIG_SECTION.length + 1));
}

/** Server settings the user set (in any scope), nested as `initializationOptions` expects. */
export function userServerSettings(keys: string[]): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const options: Record<string, unknown> = {};
  for (const key of keys) {
    const seen = config.inspect(key);
    const value =
      seen?.workspaceFolderValue ?? seen?.workspaceValue ?? seen?.globalValue ?? undefined;
    if (value === undefined) {
      continue;
    }
    const parts = key.split(".");
    let node = options;
    for (const part of parts.slice(0, -1)) {
      node = (node[part] ??= {}) as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
  }
  return options;
}

export function inlineCompletionsEnabled(): boolean {
  return vscode.workspace.getConfiguration(CONFIG_SECTION).get<boolean>("completion.enabled", true);
}

/** The extension's own switch for next-edit suggestions (the server has `nextEdit.enabled`). */
export function nextEditsEnabled(): boolean {
  return vscode.workspace.getConfiguration(CONFIG_SECTION).get<boolean>("nextEditSuggestions", true);
}

/** Changes that need a new server process (command line, model) rather than a settings update. */
export function needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
  return ["serverCommand", "interpreter", "serverArgs", "model"].some((key) =>
    event.affectsConfiguration(`${CONFIG_SECTION}.${key}`),
  );
}
