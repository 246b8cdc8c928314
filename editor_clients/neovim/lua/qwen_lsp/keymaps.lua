--- Insert-mode keys. Each is an expression mapping: with a suggestion shown it acts (scheduled, since
--- expression mappings may not change text); without one it types its own key, so <Tab> still indents.

local M = {}

---@type string[] keys mapped by the last `setup()`, removed before mapping again
local mapped = {}

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

--- Map the configured keys (and unmap the ones from a previous call).
---@param keymaps qwen_lsp.Keymaps
---@param get_backend fun(): qwen_lsp.Backend
function M.setup(keymaps, get_backend)
  for _, lhs in ipairs(mapped) do
    pcall(vim.keymap.del, "i", lhs)
  end
  mapped = {}
  for name, action in pairs(actions) do
    local lhs = keymaps[name]
    if lhs then
      vim.keymap.set("i", lhs, function()
        local backend = get_backend()
        if not backend.visible() then
          return lhs
        end
        vim.schedule(function()
          action(backend)
        end)
        return ""
      end, { expr = true, replace_keycodes = true, silent = true, desc = "qwen-lsp: " .. name })
      mapped[#mapped + 1] = lhs
    end
  end
end

return M
