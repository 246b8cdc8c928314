--- qwen-lsp for Neovim 0.11+: `require("qwen_lsp").setup({})`.
--- Ghost text comes from `vim.lsp.inline_completion` where Neovim has it (0.12+), else from the plugin's
--- own extmarks (`qwen_lsp.ghost`); both answer the same small backend interface. Next-edit suggestions
--- (`qwen_lsp.next_edit`) are shown alongside, whichever ghost-text path is used.

local config = require("qwen_lsp.config")

local M = {}

---@class qwen_lsp.Backend
---@field visible fun(bufnr?: integer): boolean
---@field accept fun(kind: qwen_lsp.AcceptKind, bufnr?: integer): boolean
---@field dismiss fun(bufnr?: integer): boolean
---@field next fun(bufnr?: integer): boolean
---@field attach fun(bufnr: integer)
---@field detach fun(bufnr: integer)

--- The backend that draws ghost text with the current options.
---@return qwen_lsp.Backend
function M.backend()
  if config.use_builtin_ghost() then
    return require("qwen_lsp.builtin")
  end
  return require("qwen_lsp.ghost")
end

---@param bufnr integer
local function detach(bufnr)
  if vim.lsp.inline_completion then
    require("qwen_lsp.builtin").detach(bufnr)
  end
  require("qwen_lsp.ghost").detach(bufnr)
  require("qwen_lsp.next_edit").detach(bufnr)
end

---@param bufnr integer
local function attach(bufnr)
  detach(bufnr)
  M.backend().attach(bufnr)
  require("qwen_lsp.next_edit").attach(bufnr)
end

--- Configure and start. Calling it again applies the new options (keys, ghost path, next edits, server entry);
--- a server that is already running keeps its command until restarted.
---@param opts? qwen_lsp.Config|table
function M.setup(opts)
  local options = config.setup(opts)
  vim.api.nvim_set_hl(0, "QwenLspGhost", { link = "Comment", default = true })
  vim.api.nvim_set_hl(0, "QwenLspGhostHint", { link = "NonText", default = true })
  require("qwen_lsp.lsp").setup(options, attach, detach)
  require("qwen_lsp.next_edit").setup()
  require("qwen_lsp.keymaps").setup(options.keymaps, M.backend)
  require("qwen_lsp.keymaps").setup_next_edit(options.next_edit.keymaps, options.next_edit.enabled)
  require("qwen_lsp.commands").setup()
  for _, bufnr in ipairs(require("qwen_lsp.lsp").attached_buffers()) do
    attach(bufnr)
  end
  M.did_setup = true
end

--- Accept the shown suggestion: all of it, its first line, or its next word.
---@param kind? qwen_lsp.AcceptKind
---@return boolean
function M.accept(kind)
  return M.backend().accept(kind or "all")
end

--- Hide the shown suggestion.
---@return boolean
function M.dismiss()
  return M.backend().dismiss()
end

--- Show the next suggestion.
---@return boolean
function M.next()
  return M.backend().next()
end

--- Whether a suggestion is shown in the current buffer.
---@return boolean
function M.visible()
  return M.backend().visible()
end

--- Next-edit suggestions: ask now, move to the next suggested edit, apply one, or hide them all.
---@param action "request"|"jump"|"apply"|"dismiss"
---@return boolean|nil
function M.next_edit(action)
  return require("qwen_lsp.next_edit")[action]()
end

--- Explain the symbol under the cursor (`:QwenExplain`).
function M.explain()
  require("qwen_lsp.commands").explain()
end

--- For a statusline: why suggestions are empty (a remote model server out of reach), else "".
---@return string
function M.status()
  local status = require("qwen_lsp.lsp").server_status
  if status and status.state == "unavailable" then
    return "qwen: " .. status.message
  end
  return ""
end

return M
