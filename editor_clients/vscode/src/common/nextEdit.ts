// Next-edit suggestions: when the user's edits settle, ask the server where the next edit goes
// (`textDocument/copilotInlineEdit`), show it (see nextEditView.ts), and apply it only on the user's key:
// Tab goes to the suggested edit, Tab again applies it and shows the next one; Escape dismisses.

import * as vscode from "vscode";
import { LanguageClient } from "vscode-languageclient/node";
import { INLINE_EDIT_REQUEST, NEXT_EDIT_VISIBLE_CONTEXT } from "./constants";
import { NextEditView, SuggestedEdit } from "./nextEditView";
import { nextEditsEnabled } from "./settings";

/** How long the text must rest before the extension asks (the server waits `nextEdit.debounceMs` too). */
const NEXT_EDIT_DELAY_MS = 500;

interface ProtocolPosition {
  line: number;
  character: number;
}

interface ProtocolRange {
  start: ProtocolPosition;
  end: ProtocolPosition;
}

interface ProtocolInlineEdit {
  range: ProtocolRange;
  text: string;
  textDocument?: { uri: string; version?: number | null };
  command?: { title: string; command: string; arguments?: unknown[] };
}

interface InlineEditResult {
  edits?: ProtocolInlineEdit[] | null;
}

/** What is shown: edits for one version of the document in one editor, sorted by position. */
interface Shown {
  editor: vscode.TextEditor;
  version: number;
  edits: SuggestedEdit[];
}

export class NextEditController implements vscode.Disposable {
  private readonly view = new NextEditView();
  private readonly subscriptions: vscode.Disposable[] = [];
  private shown: Shown | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending: vscode.CancellationTokenSource | undefined;
  /** Set while this controller applies an edit, so its own change does not dismiss the other edits. */
  private applying: vscode.TextDocument | undefined;

  constructor(
    private readonly client: () => LanguageClient | undefined,
    private readonly selector: vscode.DocumentSelector,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((event) => this.onDidChange(event)),
      vscode.window.onDidChangeActiveTextEditor(() => this.dismiss()),
      // The outline follows the cursor: Tab acts on the edit at or after it.
      vscode.window.onDidChangeTextEditorSelection((event) => {
        if (this.shown?.editor === event.textEditor) {
          this.render();
        }
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (this.shown?.editor.document === document) {
          this.dismiss();
        }
      }),
    );
  }

  /** Tab: go to the current suggested edit, or apply it when the cursor is already there. */
  async accept(): Promise<boolean> {
    const shown = this.current();
    if (shown === undefined) {
      return false;
    }
    const { editor, edit } = shown;
    if (!atEdit(editor.selection, edit.range)) {
      this.jump();
      return false;
    }
    return this.apply(editor, edit);
  }

  /** Move the cursor to the start of the current suggested edit and scroll it into view. */
  jump(): void {
    const shown = this.current();
    if (shown === undefined) {
      return;
    }
    const { editor, edit } = shown;
    editor.selection = new vscode.Selection(edit.range.start, edit.range.start);
    editor.revealRange(edit.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    this.render();
  }

  /** Escape: hide the suggestions and stop asking until the next edit. */
  dismiss(): void {
    this.cancelPending();
    if (this.shown !== undefined) {
      this.shown = undefined;
      this.view.clear();
      void setVisible(false);
    }
  }

  /** The setting changed: when it is off, hide what is shown and ask no more. */
  configurationChanged(): void {
    if (!nextEditsEnabled()) {
      this.dismiss();
    }
  }

  dispose(): void {
    this.dismiss();
    this.view.dispose();
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
  }

  private onDidChange(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) {
      return;
    }
    if (this.applying === event.document) {
      // Our own edit: the remaining suggestions move with it (the applied one is already gone).
      if (this.shown !== undefined && this.shown.editor.document === event.document) {
        this.shown.edits = shiftEdits(this.shown.edits, event.contentChanges);
        this.shown.version = event.document.version;
      }
      return;
    }
    const editor = vscode.window.activeTextEditor;
    if (this.shown?.editor.document === event.document || editor?.document === event.document) {
      // The suggestions were for the text before this change: drop them, ask again when it settles.
      this.dismiss();
    }
    if (editor?.document === event.document) {
      this.schedule(editor);
    }
  }

  private schedule(editor: vscode.TextEditor): void {
    if (!nextEditsEnabled() || vscode.languages.match(this.selector, editor.document) === 0) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.request(editor);
    }, NEXT_EDIT_DELAY_MS);
  }

  private cancelPending(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pending?.cancel();
    this.pending?.dispose();
    this.pending = undefined;
  }

  private async request(editor: vscode.TextEditor): Promise<void> {
    const client = this.client();
    if (client === undefined || !client.isRunning() || vscode.window.activeTextEditor !== editor) {
      return;
    }
    this.cancelPending();
    const source = new vscode.CancellationTokenSource();
    this.pending = source;
    const document = editor.document;
    const version = document.version;
    const uri = client.code2ProtocolConverter.asUri(document.uri);
    const position = editor.selection.active;
    let result: InlineEditResult | null;
    try {
      result = await client.sendRequest<InlineEditResult | null>(
        INLINE_EDIT_REQUEST,
        {
          textDocument: { uri, version },
          position: { line: position.line, character: position.character },
        },
        source.token,
      );
    } catch (error) {
      if (!source.token.isCancellationRequested) {
        this.output.debug(`next edit: ${String(error)}`);
      }
      return;
    } finally {
      if (this.pending === source) {
        this.pending = undefined;
        source.dispose();
      }
    }
    // A newer change, another editor or a dismissal since the request went out: the answer is stale.
    if (
      source.token.isCancellationRequested ||
      document.version !== version ||
      vscode.window.activeTextEditor !== editor ||
      !nextEditsEnabled()
    ) {
      return;
    }
    const edits = (result?.edits ?? [])
      .filter((edit) => edit.textDocument === undefined || edit.textDocument.uri === uri)
      .filter((edit) => edit.textDocument?.version == null || edit.textDocument.version === version)
      .map((edit) => toSuggestedEdit(client, edit))
      .filter((edit) => document.validateRange(edit.range).isEqual(edit.range))
      .filter((edit) => document.getText(edit.range) !== edit.text);
    this.output.debug(`next edit: ${edits.length} edit(s) for version ${version}`);
    if (edits.length === 0) {
      return;
    }
    this.shown = { editor, version, edits: edits.sort((a, b) => a.range.start.compareTo(b.range.start)) };
    this.render();
    void setVisible(true);
  }

  /** The shown edit Tab acts on: the first one that ends at or after the cursor, else the first. */
  private current(): { editor: vscode.TextEditor; edit: SuggestedEdit; index: number } | undefined {
    const shown = this.shown;
    if (shown === undefined) {
      return undefined;
    }
    if (vscode.window.activeTextEditor !== shown.editor || shown.editor.document.version !== shown.version) {
      this.dismiss();
      return undefined;
    }
    const cursor = shown.editor.selection.active;
    const index = Math.max(0, shown.edits.findIndex((edit) => edit.range.end.isAfterOrEqual(cursor)));
    return { editor: shown.editor, edit: shown.edits[index], index };
  }

  private render(): void {
    const current = this.current();
    if (current !== undefined && this.shown !== undefined) {
      this.view.show(current.editor, this.shown.edits, current.index);
    }
  }

  private async apply(editor: vscode.TextEditor, edit: SuggestedEdit): Promise<boolean> {
    const shown = this.shown;
    if (shown === undefined) {
      return false;
    }
    shown.edits = shown.edits.filter((other) => other !== edit);
    this.applying = editor.document;
    let applied: boolean;
    try {
      applied = await editor.edit((builder) => builder.replace(edit.range, edit.text));
    } finally {
      this.applying = undefined;
    }
    if (!applied) {
      this.output.warn("next edit: the editor refused the edit");
      this.dismiss();
      return false;
    }
    const end = endOfInsertion(edit.range.start, edit.text);
    editor.selection = new vscode.Selection(end, end);
    if (edit.command !== undefined) {
      const { command, arguments: args = [] } = edit.command;
      vscode.commands.executeCommand(command, ...args).then(undefined, (error: unknown) =>
        this.output.warn(`next edit: ${command}: ${String(error)}`),
      );
    }
    if (this.shown === shown && shown.edits.length > 0 && shown.version === editor.document.version) {
      this.render();
    } else {
      // Nothing left of this prediction: ask again, now that the accepted edit is in the history.
      this.dismiss();
      this.schedule(editor);
    }
    return true;
  }
}

async function setVisible(visible: boolean): Promise<void> {
  await vscode.commands.executeCommand("setContext", NEXT_EDIT_VISIBLE_CONTEXT, visible);
}

function toSuggestedEdit(client: LanguageClient, edit: ProtocolInlineEdit): SuggestedEdit {
  const range = client.protocol2CodeConverter.asRange(edit.range);
  const command = edit.command
    ? { title: edit.command.title, command: edit.command.command, arguments: edit.command.arguments }
    : undefined;
  return { range, text: edit.text, command };
}

/** Whether the cursor is at the edit: an empty selection inside its range (ends included). */
function atEdit(selection: vscode.Selection, range: vscode.Range): boolean {
  return selection.isEmpty && range.contains(selection.active);
}

/** Where text inserted at `start` ends. */
function endOfInsertion(start: vscode.Position, text: string): vscode.Position {
  const lines = text.split(/\r\n|\r|\n/);
  const last = lines[lines.length - 1];
  return lines.length === 1
    ? start.translate(0, text.length)
    : new vscode.Position(start.line + lines.length - 1, last.length);
}

/** `edits` moved through document changes; an edit a change touches is dropped. */
function shiftEdits(
  edits: readonly SuggestedEdit[],
  changes: readonly vscode.TextDocumentContentChangeEvent[],
): SuggestedEdit[] {
  let out = [...edits];
  for (const change of changes) {
    out = out.flatMap((edit) => {
      const range = shiftRange(edit.range, change);
      return range === undefined ? [] : [{ ...edit, range }];
    });
  }
  return out;
}

function shiftRange(range: vscode.Range, change: vscode.TextDocumentContentChangeEvent): vscode.Range | undefined {
  const changed = change.range;
  if (changed.end.isBeforeOrEqual(range.start) && !changed.isEqual(range)) {
    return new vscode.Range(shiftPosition(range.start, change), shiftPosition(range.end, change));
  }
  if (changed.start.isAfterOrEqual(range.end)) {
    return range;
  }
  return undefined;
}

/** A position after `change.range`, where it is once the range holds `change.text`. */
function shiftPosition(position: vscode.Position, change: vscode.TextDocumentContentChangeEvent): vscode.Position {
  const newEnd = endOfInsertion(change.range.start, change.text);
  if (position.line === change.range.end.line) {
    return new vscode.Position(newEnd.line, newEnd.character + position.character - change.range.end.character);
  }
  return position.translate(newEnd.line - change.range.end.line, 0);
}
