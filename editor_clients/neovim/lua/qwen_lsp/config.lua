--- Configuration: one defaults table, merged once with the user's options in `setup()`.

---@class qwen_lsp.Keymaps
---@field accept string|false       Accept the whole suggestion (falls back to the key when none is shown).
---@field accept_line string|false  Accept the suggestion up to the end of its current line.
---@field accept_word string|false  Accept the next word of the suggestion.
---@field dismiss string|false      Hide the suggestion and cancel the request in flight.
---@field next string|false         Show the next suggestion, when the server offered several.

---@class qwen_lsp.NextEditKeymaps
---@field jump string|false     Move the cursor to the start of the next suggested edit.
---@field apply string|false    Apply the suggested edit under the cursor, else the one `jump` goes to.
---@field dismiss string|false  Hide the suggested edits and cancel the request in flight.

---@class qwen_lsp.NextEditConfig
---@field enabled boolean                   Ask for next-edit suggestions; false: no requests, marks or keys.
---@field debounce_ms integer               Pause after an edit (Normal or Insert mode) before asking.
---@field keymaps qwen_lsp.NextEditKeymaps  Normal- and Insert-mode keys; `false` leaves a key unmapped.

---@class qwen_lsp.Config
---@field name string                 Client name given to `vim.lsp.config`.
---@field cmd string[]                Command that starts the server over stdio.
---@field model string|nil            Path of a GGUF model; appended to `cmd` as `--model <path>`.
---@field filetypes string[]          Filetypes the server attaches to.
---@field root_markers string[]       Files that mark a project root (the server also works without one).
---@field debounce_ms integer         Pause after typing before the plugin's own ghost path asks for text.
---@field keymaps qwen_lsp.Keymaps    Insert-mode keys; `false` leaves a key unmapped.
---@field force_extmark_ghost boolean Draw ghost text with the plugin's extmarks even on 0.12+.
---@field next_edit qwen_lsp.NextEditConfig  Next-edit suggestions (`textDocument/copilotInlineEdit`).
---@field init_options table          `initializationOptions` sent to the server.
---@field lsp table                   Merged into the `vim.lsp.config` entry (cmd_cwd, cmd_env, flags, ...).

local M = {}

---@type qwen_lsp.Config
M.defaults = {
  name = "qwen_lsp",
  cmd = { "qwen-lsp", "serve" },
  model = nil,
  filetypes = {
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
  },
  root_markers = { ".git", "pyproject.toml", "package.json", "go.mod", "Cargo.toml" },
  debounce_ms = 150,
  keymaps = {
    accept = "<Tab>",
    accept_line = "<M-C-Right>",
    accept_word = "<M-Right>",
    dismiss = "<C-]>",
    next = "<M-]>",
  },
  force_extmark_ghost = false,
  next_edit = {
    enabled = true,
    debounce_ms = 500,
    keymaps = {
      jump = "<M-n>",
      apply = "<M-y>",
      dismiss = "<M-e>",
    },
  },
  init_options = {},
  lsp = {},
}

---@type qwen_lsp.Config
M.options = vim.deepcopy(M.defaults)

--- Merge user options over the defaults (lists such as `cmd` are replaced, not merged).
---@param opts? table
---@return qwen_lsp.Config
function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  return M.options
end

--- The command line that starts the server, with `--model` when one is configured.
---@param options? qwen_lsp.Config
---@return string[]
function M.server_cmd(options)
  options = options or M.options
  local cmd = vim.deepcopy(options.cmd)
  if options.model and options.model ~= "" then
    vim.list_extend(cmd, { "--model", vim.fn.expand(options.model) })
  end
  return cmd
end

--- Whether ghost text comes from Neovim's own `vim.lsp.inline_completion` (0.12+).
---@param options? qwen_lsp.Config
---@return boolean
function M.use_builtin_ghost(options)
  options = options or M.options
  return vim.lsp.inline_completion and not options.force_extmark_ghost or false
end

return M
