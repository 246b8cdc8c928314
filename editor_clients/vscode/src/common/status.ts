// The status bar item: what the server is doing, at a glance; a click opens the log.

import * as vscode from "vscode";
import { Commands, EXTENSION_NAME } from "./constants";

export type ServerState =
  | { kind: "starting" }
  | { kind: "loading"; percent?: number; message?: string }
  | { kind: "ready"; model?: string }
  | { kind: "error"; message: string }
  | { kind: "stopped" };

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private state: ServerState = { kind: "starting" };
  private pending = 0;
  private enabled = true;

  constructor() {
    this.item = vscode.window.createStatusBarItem("qwenLsp.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = EXTENSION_NAME;
    this.item.command = Commands.showLog;
    this.render();
    this.item.show();
  }

  get current(): ServerState {
    return this.state;
  }

  set(state: ServerState): void {
    this.state = state;
    this.render();
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.render();
  }

  /** Mark one completion request in flight until the returned function is called. */
  busy(): () => void {
    this.pending += 1;
    this.render();
    let done = false;
    return () => {
      if (!done) {
        done = true;
        this.pending -= 1;
        this.render();
      }
    };
  }

  private render(): void {
    const state = this.state;
    const name = "Qwen";
    this.item.backgroundColor = undefined;
    switch (state.kind) {
      case "starting":
        this.item.text = `$(loading~spin) ${name}`;
        this.item.tooltip = `${EXTENSION_NAME}: starting the server`;
        break;
      case "loading": {
        const percent = state.percent === undefined ? "" : ` ${state.percent}%`;
        this.item.text = `$(loading~spin) ${name}${percent}`;
        this.item.tooltip = `${EXTENSION_NAME}: ${state.message ?? "loading the model"}${percent}`;
        break;
      }
      case "ready":
        if (this.pending > 0) {
          this.item.text = `$(sync~spin) ${name}`;
          this.item.tooltip = `${EXTENSION_NAME}: completing`;
        } else if (!this.enabled) {
          this.item.text = `$(circle-slash) ${name}`;
          this.item.tooltip = `${EXTENSION_NAME}: inline completions are off (Qwen LSP: Toggle Inline Completions)`;
        } else {
          this.item.text = `$(check) ${name}`;
          this.item.tooltip = `${EXTENSION_NAME}: ready${state.model ? ` (${state.model})` : ""}`;
        }
        break;
      case "error":
        this.item.text = `$(error) ${name}`;
        this.item.tooltip = `${EXTENSION_NAME}: ${state.message}\nClick to open the log.`;
        this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
        break;
      case "stopped":
        this.item.text = `$(debug-stop) ${name}`;
        this.item.tooltip = `${EXTENSION_NAME}: the server is not running. Click to open the log.`;
        this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
        break;
    }
    this.item.accessibilityInformation = { label: String(this.item.tooltip) };
  }

  dispose(): void {
    this.item.dispose();
  }
}
