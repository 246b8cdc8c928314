--- Next-edit suggestions: after an edit settles (Normal or Insert mode), ask the server for the edits that
--- should follow (`textDocument/copilotInlineEdit`, e.g. the same rename on the later usages) and show
--- them with extmarks: the text to replace highlighted as deleted, the new text as virtual text after it
--- (inline for a one-line change, virtual lines below for a multi-line one).
--- Nothing is applied without a key: `jump` moves to the next suggested edit, `apply` applies one (the
--- others stay shown, moved along with the text), `dismiss` hides them. Typing again cancels the request
--- in flight and hides what is shown; a reply for another document version is dropped.

local buffer_state = require("qwen_lsp.buffer_state")
local config = require("qwen_lsp.config")
local lsp = require("qwen_lsp.lsp")

local api = vim.api
local METHOD = "textDocument/copilotInlineEdit"

local M = {}

--- What is drawn: highlights over the text to replace and the new text.
M.ns = api.nvim_create_namespace("qwen_lsp.next_edit")
--- Where the suggested edits are: one invisible extmark per edit spanning the text to replace.
local track_ns = api.nvim_create_namespace("qwen_lsp.next_edit.track")

---@class qwen_lsp.NextEditItem
---@field mark integer             extmark in `track_ns` over the text to replace (moves with the buffer)
---@field old string               the text to replace, as it was when the suggestion came
---@field new string               its replacement
---@field command lsp.Command|nil  run through the client once the edit is applied

---@class qwen_lsp.NextEditState
---@field timer uv.uv_timer_t|nil  debounce timer
---@field client_id integer|nil    client of the request in flight
---@field request_id integer|nil   request in flight
---@field tick integer|nil         b:changedtick already handled (asked about, or left by an apply)
---@field items qwen_lsp.NextEditItem[]  suggested edits, in buffer order

---@class qwen_lsp.NextEditRange
---@field row integer      0-based start row
---@field col integer      0-based start byte column
---@field end_row integer
---@field end_col integer  exclusive

local store = buffer_state.new("qwen_lsp.next_edit")
local states = store.states --[[@as table<integer, qwen_lsp.NextEditState>]] -- lookups that must not create one

---@param bufnr integer
---@return qwen_lsp.NextEditState
local function state(bufnr)
  return store:get(bufnr, function()
    return { items = {} }
  end) --[[@as qwen_lsp.NextEditState]]
end

local resolve = buffer_state.resolve

---@return boolean
local function enabled()
  return config.options.next_edit.enabled == true
end

--- Normal or Insert mode: the modes in which a settled edit asks for a suggestion.
---@return boolean
local function in_editing_mode()
  local mode = api.nvim_get_mode().mode
  return mode == "n" or mode:sub(1, 1) == "i"
end

local cancel = buffer_state.cancel

--- Forget the suggested edits and what is drawn for them.
---@param bufnr integer
local function clear(bufnr)
  local st = states[bufnr]
  if st then
    st.items = {}
  end
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
    api.nvim_buf_clear_namespace(bufnr, track_ns, 0, -1)
  end
end

--- Where an edit's text is now.
---@param bufnr integer
---@param item qwen_lsp.NextEditItem
---@return qwen_lsp.NextEditRange|nil
local function range_of(bufnr, item)
  local mark = api.nvim_buf_get_extmark_by_id(bufnr, track_ns, item.mark, { details = true })
  if #mark == 0 then
    return nil
  end
  local details = mark[3]
  return {
    row = mark[1],
    col = mark[2],
    end_row = details.end_row or mark[1],
    end_col = details.end_col or mark[2],
  }
end

--- Whether the edit's text is still the text it was meant to replace.
---@param bufnr integer
---@param item qwen_lsp.NextEditItem
---@return qwen_lsp.NextEditRange|nil range where it is, when it still applies
local function still_applies(bufnr, item)
  local range = range_of(bufnr, item)
  if not range then
    return nil
  end
  local ok, lines = pcall(api.nvim_buf_get_text, bufnr, range.row, range.col, range.end_row, range.end_col, {})
  if not ok or table.concat(lines, "\n") ~= item.old then
    return nil
  end
  return range
end

--- Drop the edits that no longer apply and draw the others.
---@param bufnr integer
local function render(bufnr)
  api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local st = state(bufnr)
  local kept = {}
  for _, item in ipairs(st.items) do
    local range = still_applies(bufnr, item)
    if range then
      kept[#kept + 1] = item
      if item.old ~= "" then
        api.nvim_buf_set_extmark(bufnr, M.ns, range.row, range.col, {
          end_row = range.end_row,
          end_col = range.end_col,
          hl_group = "QwenLspNextEditDelete",
        })
      end
      local new_lines = vim.split(item.new, "\n", { plain = true })
      if range.row == range.end_row and #new_lines == 1 then
        if item.new ~= "" then
          api.nvim_buf_set_extmark(bufnr, M.ns, range.end_row, range.end_col, {
            virt_text = { { item.new, "QwenLspNextEditAdd" } },
            virt_text_pos = "inline",
          })
        end
      else
        local virt_lines = {}
        for _, line in ipairs(new_lines) do
          virt_lines[#virt_lines + 1] = { { line, "QwenLspNextEditAdd" } }
        end
        api.nvim_buf_set_extmark(bufnr, M.ns, range.end_row, 0, { virt_lines = virt_lines })
      end
    else
      api.nvim_buf_del_extmark(bufnr, track_ns, item.mark)
    end
  end
  st.items = kept
end

--- Byte position of an LSP position in the buffer, or nil when it is outside.
---@param bufnr integer
---@param position lsp.Position
---@param encoding string
---@return integer|nil row, integer|nil col
local function byte_position(bufnr, position, encoding)
  local line = api.nvim_buf_get_lines(bufnr, position.line, position.line + 1, false)[1]
  if not line then
    return nil, nil
  end
  local ok, col = pcall(vim.str_byteindex, line, encoding, position.character, false)
  if not ok then
    return nil, nil
  end
  return position.line, col
end

--- LSP position of a byte position.
---@param bufnr integer
---@param row integer
---@param col integer
---@param encoding string
---@return lsp.Position
local function lsp_position(bufnr, row, col, encoding)
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  return { line = row, character = vim.str_utfindex(line, encoding, col, false) }
end

---@class qwen_lsp.InlineEdit
---@field range lsp.Range
---@field text string
---@field textDocument {uri: string, version: integer}
---@field command lsp.Command|nil

---@class qwen_lsp.BufferEdit
---@field row integer
---@field col integer
---@field end_row integer
---@field end_col integer
---@field text string

--- An LSP edit in buffer bytes, or nil when its range is outside the buffer. A position just past the
--- last line (line = line count, character 0: after the final newline, which Neovim keeps implicit) is
--- moved to the end of the last line, and the text loses the newline it then no longer needs: replacing
--- the last lines keeps one end-of-line, an insertion there starts a new line, deleting whole last lines
--- also deletes the line break before them.
---@param bufnr integer
---@param edit qwen_lsp.InlineEdit
---@param encoding string
---@return qwen_lsp.BufferEdit|nil
function M.buffer_edit(bufnr, edit, encoding)
  if type(edit.text) ~= "string" or type(edit.range) ~= "table" then
    return nil
  end
  local line_count = api.nvim_buf_line_count(bufnr)
  local last = line_count - 1
  local last_len = #(api.nvim_buf_get_lines(bufnr, last, line_count, false)[1] or "")
  local function past_end(position)
    return position.line == line_count and position.character == 0
  end
  local text = edit.text
  local row, col, end_row, end_col
  if past_end(edit.range["end"]) then
    end_row, end_col = last, last_len
    text = text:gsub("\n$", "")
    local start = edit.range.start
    if past_end(start) then
      row, col = last, last_len
      text = "\n" .. text
    elseif edit.text == "" and start.character == 0 and start.line > 0 and start.line <= last then
      row = start.line - 1
      col = #(api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or "")
    end
  else
    end_row, end_col = byte_position(bufnr, edit.range["end"], encoding)
  end
  if not row then
    row, col = byte_position(bufnr, edit.range.start, encoding)
  end
  if not row or not end_row or row > end_row or (row == end_row and col > end_col) then
    return nil
  end
  return { row = row, col = col, end_row = end_row, end_col = end_col, text = text }
end

--- Track the server's edits with extmarks (in buffer order), skipping those that change nothing.
---@param bufnr integer
---@param edits qwen_lsp.InlineEdit[]
---@param encoding string
---@return qwen_lsp.NextEditItem[]
local function track(bufnr, edits, encoding)
  local uri = vim.uri_from_bufnr(bufnr)
  local found = {}
  for _, edit in ipairs(edits) do
    local at = M.buffer_edit(bufnr, edit, encoding)
    local document = edit.textDocument or {}
    if at and (document.uri == nil or document.uri == uri) then
      local old = table.concat(api.nvim_buf_get_text(bufnr, at.row, at.col, at.end_row, at.end_col, {}), "\n")
      if old ~= at.text then
        found[#found + 1] = {
          row = at.row,
          col = at.col,
          end_row = at.end_row,
          end_col = at.end_col,
          old = old,
          new = at.text,
          edit = edit,
        }
      end
    end
  end
  table.sort(found, function(a, b)
    return a.row < b.row or (a.row == b.row and a.col < b.col)
  end)
  local items = {}
  for _, f in ipairs(found) do
    local empty = f.old == ""
    local mark = api.nvim_buf_set_extmark(bufnr, track_ns, f.row, f.col, {
      end_row = f.end_row,
      end_col = f.end_col,
      -- Text typed at either edge stays outside the range (an insertion point moves along with it).
      right_gravity = true,
      end_right_gravity = empty,
    })
    local command = type(f.edit.command) == "table" and f.edit.command or nil
    items[#items + 1] = { mark = mark, old = f.old, new = f.new, command = command }
  end
  return items
end

--- Whether every edit is for the document version the buffer has now.
---@param bufnr integer
---@param edits qwen_lsp.InlineEdit[]
---@return boolean
local function current_version(bufnr, edits)
  local version = vim.lsp.util.buf_versions[bufnr]
  for _, edit in ipairs(edits) do
    local document = edit.textDocument
    if type(document) ~= "table" or document.version ~= version then
      return false
    end
  end
  return true
end

--- Ask the server for the next edits at the cursor now (cancelling the request in flight).
---@param bufnr? integer
function M.request(bufnr)
  bufnr = resolve(bufnr)
  local st = state(bufnr)
  cancel(st)
  if not enabled() or api.nvim_get_current_buf() ~= bufnr then
    return
  end
  local client = lsp.get_client(bufnr)
  if not client then
    return
  end
  local win = api.nvim_get_current_win()
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding) --[[@as table]]
  params.textDocument.version = vim.lsp.util.buf_versions[bufnr]
  local tick = api.nvim_buf_get_changedtick(bufnr)
  st.tick = tick
  local request_id
  local ok, id = client:request(METHOD, params, function(err, result)
    if st.request_id ~= request_id then
      return -- superseded or cancelled
    end
    st.request_id, st.client_id = nil, nil
    if err or type(result) ~= "table" or not api.nvim_buf_is_valid(bufnr) then
      return
    end
    local edits = result.edits or {}
    if #edits == 0 or api.nvim_buf_get_changedtick(bufnr) ~= tick or not current_version(bufnr, edits) then
      return -- nothing to suggest, or the buffer changed meanwhile
    end
    clear(bufnr)
    st.items = track(bufnr, edits, client.offset_encoding)
    render(bufnr)
    api.nvim_exec_autocmds("User", { pattern = "QwenNextEditShown", modeline = false, data = { bufnr = bufnr } })
  end, bufnr)
  if ok then
    request_id = id
    st.request_id, st.client_id = id, client.id
  end
end

--- After an edit (not one this module made): hide the suggestion and ask again once the edit settles.
---@param bufnr integer
local function on_change(bufnr)
  local st = state(bufnr)
  local tick = api.nvim_buf_get_changedtick(bufnr)
  if tick == st.tick then
    return -- already handled (e.g. TextChanged on leaving Insert mode, or an apply)
  end
  st.tick = tick
  cancel(st)
  clear(bufnr)
  st.timer = st.timer or vim.uv.new_timer()
  st.timer:start(
    config.options.next_edit.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if api.nvim_buf_is_valid(bufnr) and api.nvim_get_current_buf() == bufnr and in_editing_mode() then
        M.request(bufnr)
      end
    end)
  )
end

--- Whether suggested edits are shown in the buffer.
---@param bufnr? integer
---@return boolean
function M.visible(bufnr)
  bufnr = resolve(bufnr)
  local st = states[bufnr]
  return st ~= nil and #st.items > 0
end

---@class qwen_lsp.NextEdit: qwen_lsp.NextEditRange
---@field old string  text to replace
---@field new string  replacement

--- The suggested edits shown in the buffer, where they are now.
---@param bufnr? integer
---@return qwen_lsp.NextEdit[]
function M.edits(bufnr)
  bufnr = resolve(bufnr)
  local list = {}
  for _, item in ipairs(state(bufnr).items) do
    local range = range_of(bufnr, item)
    if range then
      list[#list + 1] = vim.tbl_extend("error", range, { old = item.old, new = item.new })
    end
  end
  return list
end

--- The edit that jump goes to: the first one starting after the cursor, else the first one.
--- With `under_cursor`, an edit whose text holds the cursor comes first.
---@param bufnr integer
---@param under_cursor boolean
---@return qwen_lsp.NextEditItem|nil item, qwen_lsp.NextEditRange|nil range
local function target(bufnr, under_cursor)
  local cursor = api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local first, first_range, after, after_range
  for _, item in ipairs(state(bufnr).items) do
    local range = range_of(bufnr, item)
    if range then
      local starts_before = range.row < row or (range.row == row and range.col <= col)
      local ends_after = range.end_row > row or (range.end_row == row and range.end_col >= col)
      if under_cursor and starts_before and ends_after then
        return item, range
      end
      if not first then
        first, first_range = item, range
      end
      if not after and not starts_before then
        after, after_range = item, range
      end
    end
  end
  if after then
    return after, after_range
  end
  return first, first_range
end

--- Move the cursor to the start of the next suggested edit (after the cursor, wrapping around).
---@param bufnr? integer
---@return boolean moved
function M.jump(bufnr)
  bufnr = resolve(bufnr)
  if api.nvim_get_current_buf() ~= bufnr then
    return false
  end
  local _, range = target(bufnr, false)
  if not range then
    return false
  end
  if api.nvim_get_mode().mode == "n" then
    vim.cmd("normal! m'") -- keep the way back in the jumplist
  end
  api.nvim_win_set_cursor(0, { range.row + 1, range.col })
  return true
end

--- Apply the suggested edit under the cursor, else the one jump goes to; the others stay shown. When none
--- is left, ask for the edits that follow this one.
---@param bufnr? integer
---@return boolean applied
function M.apply(bufnr)
  bufnr = resolve(bufnr)
  local st = state(bufnr)
  local client = lsp.get_client(bufnr)
  if not client or api.nvim_get_current_buf() ~= bufnr then
    return false
  end
  render(bufnr) -- drop edits whose text changed
  local item, range = target(bufnr, true)
  if not item or not range then
    return false
  end
  cancel(st)
  local encoding = client.offset_encoding
  local text_edit = {
    range = {
      start = lsp_position(bufnr, range.row, range.col, encoding),
      ["end"] = lsp_position(bufnr, range.end_row, range.end_col, encoding),
    },
    newText = item.new,
  }
  api.nvim_buf_del_extmark(bufnr, track_ns, item.mark)
  st.items = vim.tbl_filter(function(other)
    return other ~= item
  end, st.items)
  vim.lsp.util.apply_text_edits({ text_edit }, bufnr, encoding)
  st.tick = api.nvim_buf_get_changedtick(bufnr) -- this edit asks for nothing by itself
  api.nvim_win_set_cursor(0, { range.row + 1, range.col })
  if item.command then
    client:exec_cmd(item.command, { bufnr = bufnr })
  end
  render(bufnr)
  if #st.items == 0 then
    M.request(bufnr)
  end
  return true
end

--- Hide the suggested edits and cancel the request in flight (until the next edit).
---@param bufnr? integer
---@return boolean dismissed whether edits were shown
function M.dismiss(bufnr)
  bufnr = resolve(bufnr)
  local st = state(bufnr)
  local was_visible = #st.items > 0
  cancel(st)
  clear(bufnr)
  return was_visible
end

--- Start suggesting next edits in a buffer the server attached to (nothing when the feature is off).
---@param bufnr integer
function M.attach(bufnr)
  M.detach(bufnr)
  if not enabled() then
    return
  end
  state(bufnr).tick = api.nvim_buf_get_changedtick(bufnr)
  local group = store:augroup(bufnr)
  api.nvim_create_autocmd({ "TextChanged", "TextChangedI" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_change(bufnr)
    end,
  })
  store:detach_on_unload(group, bufnr, function()
    M.detach(bufnr)
  end)
end

--- Stop suggesting next edits in a buffer.
---@param bufnr integer
function M.detach(bufnr)
  store:forget(bufnr)
  clear(bufnr)
end

--- Highlight groups (the user's own definitions win).
function M.setup()
  api.nvim_set_hl(0, "QwenLspNextEditDelete", { link = "DiffDelete", default = true })
  api.nvim_set_hl(0, "QwenLspNextEditAdd", { link = "DiffAdd", default = true })
end

return M
