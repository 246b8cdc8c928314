--- Keys. Each is an expression mapping: with something to act on it acts (scheduled, since expression
--- mappings may not change text); without, it types its own key, so <Tab> still indents.
---  - ghost text: Insert mode (accept, accept a line or a word, dismiss, next);
---  - next-edit suggestions: Normal and Insert mode (jump, apply, dismiss).

local M = {}

---@class qwen_lsp.MappedKey
---@field modes string[]
---@field lhs string

---@type qwen_lsp.MappedKey[] ghost-text keys mapped by the last `setup()`, removed before mapping again
local ghost_mapped = {}
---@type qwen_lsp.MappedKey[] next-edit keys mapped by the last `setup_next_edit()`
local next_edit_mapped = {}

---@type table<string, fun(backend: qwen_lsp.Backend): boolean>
local actions = {
  accept = function(backend)
    return backend.accept("all")
  end,
  accept_line = function(backend)
    return backend.accept("line")
  end,
  accept_word = function(backend)
    return backend.accept("word")
  end,
  dismiss = function(backend)
    return backend.dismiss()
  end,
  next = function(backend)
    return backend.next()
  end,
}

--- The next-edit actions, by key name (functions of `qwen_lsp.next_edit`).
local next_edit_actions = { "jump", "apply", "dismiss" }

---@param mapped qwen_lsp.MappedKey[]
local function unmap(mapped)
  for _, key in ipairs(mapped) do
    pcall(vim.keymap.del, key.modes, key.lhs)
  end
end

--- Map `lhs`: when `ready()`, run `action` (scheduled) instead of the key; otherwise type the key itself.
---@param modes string[]
---@param lhs string
---@param ready fun(): boolean
---@param action fun()
---@param desc string
---@return qwen_lsp.MappedKey
local function map(modes, lhs, ready, action, desc)
  vim.keymap.set(modes, lhs, function()
    if not ready() then
      return lhs
    end
    vim.schedule(action)
    return ""
  end, { expr = true, replace_keycodes = true, silent = true, desc = desc })
  return { modes = modes, lhs = lhs }
end

--- Map the configured ghost-text keys (and unmap the ones from a previous call).
---@param keymaps qwen_lsp.Keymaps
---@param get_backend fun(): qwen_lsp.Backend
function M.setup(keymaps, get_backend)
  unmap(ghost_mapped)
  ghost_mapped = {}
  for name, action in pairs(actions) do
    local lhs = keymaps[name]
    if lhs then
      ghost_mapped[#ghost_mapped + 1] = map({ "i" }, lhs, function()
        return get_backend().visible()
      end, function()
        action(get_backend())
      end, "qwen-lsp: " .. name)
    end
  end
end

--- Map the configured next-edit keys (and unmap the ones from a previous call); none when `enabled` is false.
---@param keymaps qwen_lsp.NextEditKeymaps
---@param enabled boolean
function M.setup_next_edit(keymaps, enabled)
  unmap(next_edit_mapped)
  next_edit_mapped = {}
  if not enabled then
    return
  end
  local next_edit = require("qwen_lsp.next_edit")
  for _, name in ipairs(next_edit_actions) do
    local lhs = keymaps[name]
    if lhs then
      next_edit_mapped[#next_edit_mapped + 1] = map({ "n", "i" }, lhs, function()
        return next_edit.visible()
      end, function()
        next_edit[name]()
      end, "qwen-lsp: next edit " .. name)
    end
  end
end

return M
