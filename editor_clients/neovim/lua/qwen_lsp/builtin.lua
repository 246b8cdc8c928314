--- Ghost text from Neovim's own `vim.lsp.inline_completion` (0.12+), plus what it lacks here:
--- partial accepts, a dismiss key, hiding while the completion menu is open, and cancelling the request
--- its debounce timer still sends after Insert mode was left (`ciw...<Esc>` typed fast, or repeated with
--- `.`): the server would otherwise spend a model run on it, ahead of the next-edit suggestion.

local config = require("qwen_lsp.config")
local text_util = require("qwen_lsp.text")

local api = vim.api

local M = {}

--- Namespace the built-in feature draws its ghost text in.
M.ns = api.nvim_create_namespace("nvim.lsp.inline_completion")

local guard_ns = api.nvim_create_namespace("qwen_lsp.builtin_pum_guard")

---@param bufnr? integer
---@return integer
local function resolve(bufnr)
  return (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
end

---@param bufnr integer
local function hide_if_menu(bufnr)
  if vim.fn.pumvisible() == 1 and api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

-- A reply that arrives while the menu is open is drawn by the built-in; drop it before the redraw.
api.nvim_set_decoration_provider(guard_ns, {
  on_win = function(_, _, bufnr)
    if vim.fn.pumvisible() == 1 then
      api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
    end
    return false
  end,
})

--- Whether the built-in shows a suggestion in the buffer.
---@param bufnr? integer
---@return boolean
function M.visible(bufnr)
  bufnr = resolve(bufnr)
  return #api.nvim_buf_get_extmarks(bufnr, M.ns, 0, -1, { limit = 1 }) > 0
end

--- Text of a built-in item still to insert at the cursor.
---@param item vim.lsp.inline_completion.Item
---@param bufnr integer
---@return string|nil
local function remaining_text(item, bufnr)
  local insert = item.insert_text
  local text = type(insert) == "table" and insert.value or insert
  if type(text) ~= "string" then
    return nil
  end
  local cursor = api.nvim_win_get_cursor(0)
  local start = item.range and item.range.start
  if start and start.row == cursor[1] - 1 and start.col < cursor[2] then
    local typed = api.nvim_get_current_line():sub(start.col + 1, cursor[2])
    if text:sub(1, #typed) ~= typed then
      return nil
    end
    text = text:sub(#typed + 1)
  end
  return text
end

--- Accept all (the built-in's own apply), or only the first line or word of the suggestion.
---@param kind qwen_lsp.AcceptKind
---@param bufnr? integer
---@return boolean accepted
function M.accept(kind, bufnr)
  bufnr = resolve(bufnr)
  if not M.visible(bufnr) then
    return false
  end
  if kind == "all" then
    return vim.lsp.inline_completion.get({ bufnr = bufnr })
  end
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(item)
      local text = remaining_text(item, bufnr)
      if text and text ~= "" then
        local cursor = api.nvim_win_get_cursor(0)
        -- Moving the cursor makes the built-in ask again for the rest.
        text_util.insert_at(bufnr, cursor[1] - 1, cursor[2], text_util.part(text, kind))
      end
    end,
  })
end

--- Hide the suggestion and cancel pending requests (the built-in's abort, through `get`).
---@param bufnr? integer
---@return boolean dismissed
function M.dismiss(bufnr)
  bufnr = resolve(bufnr)
  if not M.visible(bufnr) then
    return false
  end
  return vim.lsp.inline_completion.get({ bufnr = bufnr, on_accept = function() end })
end

--- Show the next suggestion.
---@param bufnr? integer
---@return boolean
function M.next(bufnr)
  bufnr = resolve(bufnr)
  if not M.visible(bufnr) then
    return false
  end
  vim.lsp.inline_completion.select({ bufnr = bufnr, count = 1 })
  return true
end

---@param bufnr integer
local function augroup_name(bufnr)
  return ("qwen_lsp.builtin.%d"):format(bufnr)
end

--- Cancel an inline completion request sent outside Insert mode (nothing would show it).
---@param args {data: {client_id: integer, request_id: integer, request: {type: string, method: string}}}
local function cancel_outside_insert(args)
  local request = args.data.request
  if request.type ~= "pending" or request.method ~= "textDocument/inlineCompletion" then
    return
  end
  if api.nvim_get_mode().mode:sub(1, 1) == "i" then
    return
  end
  local client_id, request_id = args.data.client_id, args.data.request_id
  vim.schedule(function()
    local client = vim.lsp.get_client_by_id(client_id)
    local pending = client and client.requests[request_id]
    if client and client.name == config.options.name and pending and pending.type == "pending" then
      client:cancel_request(request_id)
    end
  end)
end

--- Turn the built-in on for a buffer the server attached to.
---@param bufnr integer
function M.attach(bufnr)
  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  local group = api.nvim_create_augroup(augroup_name(bufnr), { clear = true })
  api.nvim_create_autocmd("LspRequest", { group = group, buffer = bufnr, callback = cancel_outside_insert })
  api.nvim_create_autocmd({ "CompleteChanged", "TextChangedP" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      vim.schedule(function()
        hide_if_menu(bufnr)
      end)
    end,
  })
end

--- Turn it off again.
---@param bufnr integer
function M.detach(bufnr)
  pcall(api.nvim_del_augroup_by_name, augroup_name(bufnr))
  if api.nvim_buf_is_valid(bufnr) then
    vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
  end
end

return M
