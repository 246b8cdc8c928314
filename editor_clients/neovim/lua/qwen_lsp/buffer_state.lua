--- Per-buffer scaffolding shared by `ghost` and `next_edit`: one state per buffer holding the debounce
--- timer and the request in flight, and one augroup per buffer whose autocmds are removed on detach.

local api = vim.api

local M = {}

---@class qwen_lsp.BufferState
---@field timer uv.uv_timer_t|nil  debounce timer
---@field client_id integer|nil    client of the request in flight
---@field request_id integer|nil   request in flight

---@class qwen_lsp.BufferStates
---@field prefix string                            augroup names are `<prefix>.<bufnr>`
---@field states table<integer, qwen_lsp.BufferState>
local Store = {}
Store.__index = Store

--- A store of per-buffer states whose augroups are named `<prefix>.<bufnr>`.
---@param prefix string
---@return qwen_lsp.BufferStates
function M.new(prefix)
  return setmetatable({ prefix = prefix, states = {} }, Store)
end

--- Stop the debounce timer and cancel the request in flight.
---@param st qwen_lsp.BufferState
function M.cancel(st)
  if st.timer then
    st.timer:stop()
  end
  if st.request_id and st.client_id then
    local client = vim.lsp.get_client_by_id(st.client_id)
    if client then
      client:cancel_request(st.request_id)
    end
  end
  st.request_id, st.client_id = nil, nil
end

--- The buffer number, the current buffer's for nil or 0.
---@param bufnr integer|nil
---@return integer
function M.resolve(bufnr)
  return (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
end

--- The buffer's state, made by `fresh()` the first time.
---@param bufnr integer
---@param fresh fun(): qwen_lsp.BufferState
---@return qwen_lsp.BufferState
function Store:get(bufnr, fresh)
  local st = self.states[bufnr]
  if not st then
    st = fresh()
    self.states[bufnr] = st
  end
  return st
end

---@param bufnr integer
---@return string
function Store:augroup_name(bufnr)
  return ("%s.%d"):format(self.prefix, bufnr)
end

--- Create (or clear) the buffer's augroup.
---@param bufnr integer
---@return integer group
function Store:augroup(bufnr)
  return api.nvim_create_augroup(self:augroup_name(bufnr), { clear = true })
end

--- Call `detach` when the buffer is unloaded or wiped out.
---@param group integer
---@param bufnr integer
---@param detach fun()
function Store:detach_on_unload(group, bufnr, detach)
  api.nvim_create_autocmd({ "BufUnload", "BufWipeout" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      detach()
    end,
  })
end

--- Delete the buffer's augroup, cancel its request, close its timer and forget its state.
---@param bufnr integer
function Store:forget(bufnr)
  pcall(api.nvim_del_augroup_by_name, self:augroup_name(bufnr))
  local st = self.states[bufnr]
  if st then
    M.cancel(st)
    if st.timer and not st.timer:is_closing() then
      st.timer:close()
    end
    self.states[bufnr] = nil
  end
end

return M
