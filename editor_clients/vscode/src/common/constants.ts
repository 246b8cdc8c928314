// Names shared by the extension's modules: one place for every id the package.json also spells.

export const EXTENSION_NAME = "Qwen LSP";
/** Settings prefix and language-client id (so `qwenLsp.trace.server` works). */
export const CONFIG_SECTION = "qwenLsp";
/** Categories in package.json whose id starts with this are generated from the server's settings. */
export const GENERATED_CATEGORY_PREFIX = "server.";

export const Commands = {
  explainAtCursor: "qwenLsp.explainAtCursor",
  restart: "qwenLsp.restart",
  toggleInlineCompletions: "qwenLsp.toggleInlineCompletions",
  showLog: "qwenLsp.showLog",
  nextEditAccept: "qwenLsp.nextEdit.accept",
  nextEditJump: "qwenLsp.nextEdit.jump",
  nextEditDismiss: "qwenLsp.nextEdit.dismiss",
} as const;

/** Context key: next-edit suggestions are shown (the Tab and Escape keybindings use it). */
export const NEXT_EDIT_VISIBLE_CONTEXT = "qwenLsp.nextEditVisible";

/** The server's `workspace/executeCommand` command (code actions titled "Explain ..." use it too). */
export const SERVER_EXPLAIN_COMMAND = "qwenLsp.explain";
/** Custom request: engine state and counters. */
export const STATS_REQUEST = "qwenLsp/stats";
export const STATUS_NOTIFICATION = "qwenLsp/status";
/** Copilot's next-edit request, which the server answers with edits anywhere in the document. */
export const INLINE_EDIT_REQUEST = "textDocument/copilotInlineEdit";

/** Languages the server has a tree-sitter grammar for. */
export const LANGUAGES = [
  "shellscript",
  "sh",
  "bash",
  "c",
  "cpp",
  "csharp",
  "cs",
  "elixir",
  "go",
  "haskell",
  "java",
  "javascript",
  "javascriptreact",
  "kotlin",
  "lua",
  "php",
  "python",
  "ruby",
  "rust",
  "scala",
  "swift",
  "typescriptreact",
  "typescript",
  "zig",
];
