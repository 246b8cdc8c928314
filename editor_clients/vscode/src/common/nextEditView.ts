// How a suggested next edit looks: the text it replaces struck through on a red background, the new
// text after it on a green one (one line; line breaks shown as ⏎), the full replacement in a hover.

import * as vscode from "vscode";

/** One suggested edit, in the document's coordinates. */
export interface SuggestedEdit {
  range: vscode.Range;
  text: string;
  /** Run after the edit is applied (the server's `qwenLsp.accepted`). */
  command?: vscode.Command;
}

const LINE_BREAK = " ⏎ ";
const MAX_SHOWN_CHARS = 120;

export class NextEditView implements vscode.Disposable {
  private readonly removed = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("diffEditor.removedTextBackground"),
    textDecoration: "line-through",
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.deletedForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Right,
  });
  private readonly inserted = vscode.window.createTextEditorDecorationType({
    after: {
      backgroundColor: new vscode.ThemeColor("diffEditor.insertedTextBackground"),
      margin: "0 0 0 2px",
    },
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.addedForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Right,
  });
  /** The current edit (the one Tab acts on) gets an outline, the others only their colours. */
  private readonly current = vscode.window.createTextEditorDecorationType({
    borderColor: new vscode.ThemeColor("editorInlayHint.foreground"),
    borderStyle: "dotted",
    borderWidth: "0 0 1px 0",
  });
  private editor: vscode.TextEditor | undefined;

  /** Show `edits` in `editor` (replacing what was shown anywhere); `currentIndex` is outlined. */
  show(editor: vscode.TextEditor, edits: readonly SuggestedEdit[], currentIndex: number): void {
    if (this.editor !== undefined && this.editor !== editor) {
      this.clear();
    }
    this.editor = editor;
    const hover = (edit: SuggestedEdit): vscode.MarkdownString =>
      new vscode.MarkdownString("**Qwen LSP: next edit** (Tab: go to / accept, Escape: dismiss)").appendCodeblock(
        edit.text,
        editor.document.languageId,
      );
    editor.setDecorations(
      this.removed,
      edits.filter((edit) => !edit.range.isEmpty).map((edit) => ({ range: edit.range, hoverMessage: hover(edit) })),
    );
    editor.setDecorations(
      this.inserted,
      edits
        .filter((edit) => edit.text.length > 0)
        .map((edit) => ({
          range: new vscode.Range(edit.range.end, edit.range.end),
          hoverMessage: hover(edit),
          renderOptions: { after: { contentText: shownText(edit.text) } },
        })),
    );
    const current = edits[currentIndex];
    editor.setDecorations(this.current, current === undefined || current.range.isEmpty ? [] : [current.range]);
  }

  clear(): void {
    for (const type of [this.removed, this.inserted, this.current]) {
      this.editor?.setDecorations(type, []);
    }
    this.editor = undefined;
  }

  dispose(): void {
    this.removed.dispose();
    this.inserted.dispose();
    this.current.dispose();
  }
}

/** The new text as one line of after-content. */
function shownText(text: string): string {
  const line = text.replace(/\r?\n/g, LINE_BREAK);
  return line.length > MAX_SHOWN_CHARS ? `${line.slice(0, MAX_SHOWN_CHARS - 1)}…` : line;
}
