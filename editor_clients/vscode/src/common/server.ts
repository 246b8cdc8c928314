// The language client: starts `qwen-lsp serve` over stdio and feeds the status bar from what it says.

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  ServerOptions,
  ShowMessageNotification,
  State,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from "vscode-languageclient/node";
import { CONFIG_SECTION, Commands, EXTENSION_NAME, LANGUAGES, STATS_REQUEST, STATUS_NOTIFICATION } from "./constants";
import { inlineCompletionsEnabled, serverCommand, userServerSettings } from "./settings";
import { StatusItem } from "./status";

interface EngineStats {
  state?: string;
  failure?: string | null;
  model?: { name?: string } | null;
}

/** The documents the server handles: files and untitled buffers in the languages it has a grammar for. */
export const DOCUMENT_SELECTOR = LANGUAGES.flatMap((language) => [
  { scheme: "file", language },
  { scheme: "untitled", language },
]);

export interface ServerContext {
  output: vscode.LogOutputChannel;
  status: StatusItem;
  serverSettingKeys: string[];
}

/** Start a client (and so a server process); resolves once the server has answered `initialize`. */
export async function startClient(ctx: ServerContext): Promise<LanguageClient> {
  const { command, args } = serverCommand();
  let loadToken: string | number | undefined;
  ctx.output.info(`starting: ${[command, ...args].join(" ")}`);
  ctx.output.debug(`initializationOptions: ${JSON.stringify(userServerSettings(ctx.serverSettingKeys))}`);
  const serverOptions: ServerOptions = { command, args, options: { env: process.env } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: ctx.output,
    initializationOptions: () => userServerSettings(ctx.serverSettingKeys),
    middleware: {
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        if (!inlineCompletionsEnabled()) {
          return null;
        }
        const done = ctx.status.busy();
        try {
          return await next(document, position, context, token);
        } finally {
          done();
        }
      },
      // The model-load progress goes to our status item instead of a second one of VS Code's;
      // later progress (code actions) shows as usual.
      handleWorkDoneProgress: (token, params, next) => {
        const loading = ctx.status.current.kind === "starting" || ctx.status.current.kind === "loading";
        if (params.kind === "begin" && loading && loadToken === undefined) {
          loadToken = token;
        }
        if (token === loadToken) {
          onProgress(ctx.status, params);
        } else {
          next(token, params);
        }
      },
      workspace: {
        // Answer the server's pull of `qwenLsp` with the values the user set, not VS Code's defaults
        // (they would override `--model` and qwen-lsp.toml) nor the extension's own keys.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers;
          }
          return params.items.map((item, index) =>
            item.section === CONFIG_SECTION || item.section?.startsWith(`${CONFIG_SECTION}.`)
              ? userSection(item.section, userServerSettings(ctx.serverSettingKeys))
              : answers[index],
          );
        },
      },
    },
  };
  const client = new LanguageClient(CONFIG_SECTION, EXTENSION_NAME, serverOptions, clientOptions);
  client.onDidChangeState((event) => {
    if (event.newState === State.Stopped && ctx.status.current.kind !== "error") {
      ctx.status.set({ kind: "stopped" });
    }
  });
  ctx.status.set({ kind: "starting" });
  try {
    await client.start();
  } catch (error) {
    const message = `could not start the server (${[command, ...args].join(" ")}): ${String(error)}`;
    ctx.output.error(message);
    ctx.status.set({ kind: "error", message });
    throw error;
  }
  client.onNotification(ShowMessageNotification.type, (params) => showMessage(ctx, params.type, params.message));
  // A remote model server out of reach (and back): the status item says so until it answers again.
  client.onNotification(STATUS_NOTIFICATION, (params: { state?: string; message?: string }) => {
    if (params.state === "unavailable") {
      ctx.status.set({ kind: "error", message: params.message ?? "the model server is unavailable" });
    } else if (params.state === "ready") {
      ctx.status.set({ kind: "ready" });
    }
  });
  if (ctx.status.current.kind === "starting") {
    ctx.status.set({ kind: "loading" });
  }
  // The model may have finished loading before any progress was reported.
  void refreshFromStats(client, ctx.status);
  return client;
}

function userSection(section: string, settings: Record<string, unknown>): unknown {
  let node: unknown = settings;
  for (const part of section.split(".").slice(1)) {
    node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[part] : undefined;
  }
  return node ?? null;
}

function onProgress(
  status: StatusItem,
  params: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd,
): void {
  if (params.kind === "end") {
    if (status.current.kind !== "error") {
      status.set({ kind: "ready" });
    }
    return;
  }
  if (status.current.kind === "error") {
    return;
  }
  const previous = status.current.kind === "loading" ? status.current : undefined;
  status.set({
    kind: "loading",
    percent: params.percentage ?? previous?.percent,
    message: params.message ?? previous?.message,
  });
}

function showMessage(ctx: ServerContext, type: MessageType, message: string): void {
  const showLog = "Show Log";
  const openLog = (choice: string | undefined) => {
    if (choice === showLog) {
      void vscode.commands.executeCommand(Commands.showLog);
    }
  };
  switch (type) {
    case MessageType.Error:
      ctx.status.set({ kind: "error", message });
      void vscode.window.showErrorMessage(message, showLog).then(openLog);
      break;
    case MessageType.Warning:
      void vscode.window.showWarningMessage(message, showLog).then(openLog);
      break;
    default:
      void vscode.window.showInformationMessage(message);
  }
}

/** Ask the server for its engine state; poll until the model has loaded or failed. */
export async function refreshFromStats(client: LanguageClient, status: StatusItem): Promise<void> {
  for (let attempt = 0; attempt < 600 && client.isRunning(); attempt++) {
    let stats: EngineStats;
    try {
      stats = await client.sendRequest<EngineStats>(STATS_REQUEST, {});
    } catch {
      return;
    }
    if (stats.state === "ready") {
      if (status.current.kind !== "error") {
        status.set({ kind: "ready", model: stats.model?.name ?? undefined });
      }
      return;
    }
    if (stats.state === "failed") {
      status.set({ kind: "error", message: stats.failure ?? "the model failed to load" });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
