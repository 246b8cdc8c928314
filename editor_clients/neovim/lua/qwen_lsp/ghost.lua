--- The plugin's own ghost text: `textDocument/inlineCompletion` drawn with extmarks.
--- Used on Neovim 0.11 (no `vim.lsp.inline_completion`) or when `force_extmark_ghost` is set.
--- Debounced on TextChangedI/CursorMovedI; a newer request cancels the one in flight, and a reply for a
--- stale `changedtick` or cursor is dropped. Hidden while the completion menu is open.

local buffer_state = require("qwen_lsp.buffer_state")
local config = require("qwen_lsp.config")
local lsp = require("qwen_lsp.lsp")
local text_util = require("qwen_lsp.text")

local api = vim.api
local METHOD = "textDocument/inlineCompletion"

local M = {}

M.ns = api.nvim_create_namespace("qwen_lsp.ghost")

---@class qwen_lsp.GhostState
---@field timer uv.uv_timer_t|nil     debounce timer
---@field client_id integer|nil       client of the request in flight
---@field request_id integer|nil      request in flight
---@field tick integer|nil            b:changedtick the suggestion belongs to
---@field row integer|nil             0-based row where the suggestion starts
---@field col integer|nil             0-based byte column where the suggestion starts
---@field items string[]              suggestions (text still to insert at row/col)
---@field index integer               the one shown

local store = buffer_state.new("qwen_lsp.ghost")

---@param bufnr integer
---@return qwen_lsp.GhostState
local function state(bufnr)
  return store:get(bufnr, function()
    return { items = {}, index = 1 }
  end) --[[@as qwen_lsp.GhostState]]
end

local resolve = buffer_state.resolve

---@return boolean
local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == "i"
end

local cancel = buffer_state.cancel

---@param bufnr integer
local function hide(bufnr)
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

---@param st qwen_lsp.GhostState
---@return string|nil
local function current_text(st)
  local text = st.items[st.index]
  if text == nil or text == "" then
    return nil
  end
  return text
end

--- Whether the stored suggestion still belongs to the buffer and cursor as they are now.
---@param bufnr integer
---@param st qwen_lsp.GhostState
---@return boolean
local function still_valid(bufnr, st)
  if st.tick ~= api.nvim_buf_get_changedtick(bufnr) or api.nvim_get_current_buf() ~= bufnr then
    return false
  end
  local cursor = api.nvim_win_get_cursor(0)
  return cursor[1] - 1 == st.row and cursor[2] == st.col
end

---@param bufnr integer
local function show(bufnr)
  hide(bufnr)
  local st = state(bufnr)
  local text = current_text(st)
  if not text or vim.fn.pumvisible() == 1 or not in_insert_mode() or not still_valid(bufnr, st) then
    return
  end
  local lines = vim.split(text, "\n", { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], "QwenLspGhost" } }
  end
  local hint = #st.items > 1 and (" (%d/%d)"):format(st.index, #st.items) or nil
  local first = { { lines[1], "QwenLspGhost" } }
  if hint then
    local last = #virt_lines > 0 and virt_lines[#virt_lines] or first
    last[#last + 1] = { hint, "QwenLspGhostHint" }
  end
  api.nvim_buf_set_extmark(bufnr, M.ns, st.row, st.col, {
    virt_text = first,
    virt_text_pos = "inline",
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = "combine",
  })
end

--- Text of one `InlineCompletionItem` as it should appear at the cursor, or nil when it does not fit.
---@param item lsp.InlineCompletionItem
---@param client vim.lsp.Client
---@param bufnr integer
---@param cursor integer[] (1,0)-indexed cursor
---@return string|nil
local function item_text(item, client, bufnr, cursor)
  local insert = item.insertText
  local text = type(insert) == "table" and insert.value or insert
  if type(text) ~= "string" then
    return nil
  end
  local range = item.range
  if range then
    local row = cursor[1] - 1
    if range.start.line ~= row then
      return nil
    end
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
    local ok, start_col = pcall(vim.str_byteindex, line, client.offset_encoding, range.start.character, false)
    if not ok then
      return nil
    end
    -- Text between the range start and the cursor was already typed: show only the rest.
    local typed = line:sub(start_col + 1, cursor[2])
    if start_col > cursor[2] or text:sub(1, #typed) ~= typed then
      return nil
    end
    text = text:sub(#typed + 1)
  end
  return text
end

--- Ask the server for a suggestion at the cursor (cancelling the one in flight).
---@param bufnr? integer
function M.request(bufnr)
  bufnr = resolve(bufnr)
  local st = state(bufnr)
  cancel(st)
  if api.nvim_get_current_buf() ~= bufnr or not in_insert_mode() then
    return
  end
  local client = lsp.get_client(bufnr)
  if not client then
    return
  end
  local win = api.nvim_get_current_win()
  ---@type lsp.InlineCompletionParams
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding) --[[@as any]]
  params.context = { triggerKind = 2 } -- Automatic
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local cursor = api.nvim_win_get_cursor(win)
  local request_id
  local ok, id = client:request(METHOD, params, function(err, result)
    if st.request_id ~= request_id then
      return -- superseded by a newer request
    end
    st.request_id, st.client_id = nil, nil
    if err or not result or not api.nvim_buf_is_valid(bufnr) then
      return
    end
    if api.nvim_buf_get_changedtick(bufnr) ~= tick or api.nvim_get_current_buf() ~= bufnr then
      return -- the buffer changed meanwhile
    end
    local now = api.nvim_win_get_cursor(0)
    if now[1] ~= cursor[1] or now[2] ~= cursor[2] or not in_insert_mode() then
      return
    end
    local texts = {}
    for _, item in ipairs(result.items or result) do
      local text = item_text(item, client, bufnr, cursor)
      if text and text ~= "" then
        texts[#texts + 1] = text
      end
    end
    st.items, st.index = texts, 1
    st.tick, st.row, st.col = tick, cursor[1] - 1, cursor[2]
    show(bufnr)
  end, bufnr)
  if ok then
    request_id = id
    st.request_id, st.client_id = id, client.id
  end
end

--- Debounce a request after an edit or cursor move.
---@param bufnr integer
local function schedule_request(bufnr)
  local st = state(bufnr)
  cancel(st)
  st.timer = st.timer or vim.uv.new_timer()
  st.timer:start(
    config.options.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if api.nvim_buf_is_valid(bufnr) then
        M.request(bufnr)
      end
    end)
  )
end

--- After an edit or cursor move: keep the suggestion when nothing changed or the user typed its
--- beginning; otherwise hide it and ask again after the debounce.
---@param bufnr integer
local function on_change(bufnr)
  local st = state(bufnr)
  local text = current_text(st)
  if text and still_valid(bufnr, st) then
    show(bufnr)
    return
  end
  local cursor = api.nvim_win_get_cursor(0)
  if text and cursor[1] - 1 == st.row and cursor[2] > st.col then
    local line = api.nvim_get_current_line()
    local typed = line:sub(st.col + 1, cursor[2])
    if #typed < #text and text:sub(1, #typed) == typed then
      st.items = { text:sub(#typed + 1) }
      st.index = 1
      st.tick, st.col = api.nvim_buf_get_changedtick(bufnr), cursor[2]
      show(bufnr)
      return
    end
  end
  st.items, st.index = {}, 1
  hide(bufnr)
  schedule_request(bufnr)
end

--- Whether a suggestion is shown in the buffer.
---@param bufnr? integer
---@return boolean
function M.visible(bufnr)
  return M.current(bufnr) ~= nil
end

--- The suggestion shown at the cursor, if any.
---@param bufnr? integer
---@return string|nil
function M.current(bufnr)
  bufnr = resolve(bufnr)
  local st = state(bufnr)
  local drawn = #api.nvim_buf_get_extmarks(bufnr, M.ns, 0, -1, { limit = 1 }) > 0
  if not drawn or not still_valid(bufnr, st) then
    return nil
  end
  return current_text(st)
end

--- Insert all, the first line, or the next word of the suggestion; the rest stays shown.
---@param kind qwen_lsp.AcceptKind
---@param bufnr? integer
---@return boolean accepted
function M.accept(kind, bufnr)
  bufnr = resolve(bufnr)
  local st = state(bufnr)
  local text = M.current(bufnr)
  if not text then
    return false
  end
  cancel(st)
  hide(bufnr)
  local part = text_util.part(text, kind)
  local rest = text:sub(#part + 1)
  local row, col = text_util.insert_at(bufnr, st.row, st.col, part)
  st.items, st.index = { rest }, 1
  st.tick, st.row, st.col = api.nvim_buf_get_changedtick(bufnr), row, col
  show(bufnr)
  return true
end

--- Hide the suggestion and cancel the request in flight.
---@param bufnr? integer
---@return boolean dismissed whether a suggestion was shown
function M.dismiss(bufnr)
  bufnr = resolve(bufnr)
  local st = state(bufnr)
  local was_visible = #api.nvim_buf_get_extmarks(bufnr, M.ns, 0, -1, { limit = 1 }) > 0
  cancel(st)
  st.items, st.index = {}, 1
  hide(bufnr)
  return was_visible
end

--- Show the next suggestion.
---@param bufnr? integer
---@return boolean
function M.next(bufnr)
  bufnr = resolve(bufnr)
  local st = state(bufnr)
  if not M.current(bufnr) or #st.items < 2 then
    return false
  end
  st.index = st.index % #st.items + 1
  show(bufnr)
  return true
end

--- Start drawing suggestions in a buffer the server attached to.
---@param bufnr integer
function M.attach(bufnr)
  local group = store:augroup(bufnr)
  api.nvim_create_autocmd({ "TextChangedI", "CursorMovedI" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_change(bufnr)
    end,
  })
  api.nvim_create_autocmd("InsertEnter", {
    group = group,
    buffer = bufnr,
    callback = function()
      schedule_request(bufnr)
    end,
  })
  api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
    end,
  })
  -- The completion menu hides the suggestion; it comes back when the menu closes unchanged.
  api.nvim_create_autocmd("CompleteChanged", {
    group = group,
    buffer = bufnr,
    callback = function()
      hide(bufnr)
    end,
  })
  api.nvim_create_autocmd("CompleteDone", {
    group = group,
    buffer = bufnr,
    callback = function()
      vim.schedule(function()
        if api.nvim_buf_is_valid(bufnr) and api.nvim_get_current_buf() == bufnr and in_insert_mode() then
          on_change(bufnr)
        end
      end)
    end,
  })
  store:detach_on_unload(group, bufnr, function()
    M.detach(bufnr)
  end)
end

--- Stop drawing suggestions in a buffer.
---@param bufnr integer
function M.detach(bufnr)
  store:forget(bufnr)
  hide(bufnr)
end

return M
