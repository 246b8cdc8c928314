--- User commands: `:QwenExplain` (the server's explain action at the cursor), `:QwenStats`, and
--- `:QwenNextEdit [request|jump|apply|dismiss]` (next-edit suggestions).

local lsp = require("qwen_lsp.lsp")

local api = vim.api

local M = {}

M.EXPLAIN = "qwenLsp.explain"
M.STATS = "qwenLsp/stats"

--- `:QwenNextEdit` subcommands (functions of `qwen_lsp.next_edit`); the first is the default.
M.NEXT_EDIT_ACTIONS = { "request", "jump", "apply", "dismiss" }

---@class qwen_lsp.ExplainResult
---@field symbol string
---@field markdown string
---@field uri string|nil

---@class qwen_lsp.ExplainDone
---@field result qwen_lsp.ExplainResult|nil
---@field error string|nil
---@field shown_by_server boolean  the server opened the document with window/showDocument
---@field bufnr integer|nil         buffer that shows the explanation

--- Fire `User QwenExplainDone` so scripts and tests can follow the explain action.
---@param data qwen_lsp.ExplainDone
local function done(data)
  M.last_explain = data
  api.nvim_exec_autocmds("User", { pattern = "QwenExplainDone", modeline = false, data = data })
end

--- Open the explanation in a split: the server's file when it named one, else a scratch buffer.
---@param result qwen_lsp.ExplainResult
---@return integer bufnr
local function open_in_split(result)
  if result.uri then
    local bufnr = vim.uri_to_bufnr(result.uri)
    vim.cmd("belowright split")
    api.nvim_win_set_buf(0, bufnr)
    vim.bo[bufnr].buflisted = true
    return bufnr
  end
  local bufnr = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(bufnr, 0, -1, false, vim.split(result.markdown or "", "\n", { plain = true }))
  vim.bo[bufnr].filetype = "markdown"
  vim.bo[bufnr].bufhidden = "wipe"
  pcall(api.nvim_buf_set_name, bufnr, "qwen-explain://" .. (result.symbol or "symbol"))
  vim.cmd("belowright split")
  api.nvim_win_set_buf(0, bufnr)
  return bufnr
end

--- Run `qwenLsp.explain` at the cursor and show the markdown it returns.
---@param bufnr? integer
function M.explain(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  local client = lsp.get_client(bufnr)
  if not client then
    vim.notify("qwen-lsp is not attached to this buffer", vim.log.levels.WARN)
    return done({ error = "not attached", shown_by_server = false })
  end
  local position = vim.lsp.util.make_position_params(0, client.offset_encoding).position
  local argument = { uri = vim.uri_from_bufnr(bufnr), line = position.line, character = position.character }
  local since = vim.uv.now()
  local params = { command = M.EXPLAIN, arguments = { argument } }
  client:request("workspace/executeCommand", params, function(err, result)
    if err or type(result) ~= "table" then
      local message = err and err.message or "no explanation"
      vim.notify("qwen-lsp explain: " .. message, vim.log.levels.WARN)
      return done({ error = message, shown_by_server = false })
    end
    if result.cancelled then
      return done({ error = "cancelled", shown_by_server = false })
    end
    ---@cast result qwen_lsp.ExplainResult
    if result.uri == vim.NIL or result.uri == "" then
      result.uri = nil
    end
    local shown = lsp.last_shown
    local by_server = shown ~= nil and shown.time >= since and api.nvim_buf_is_valid(shown.bufnr)
    local target = result.uri and vim.uri_to_bufnr(result.uri) or nil
    if target and #vim.fn.win_findbuf(target) > 0 then
      return done({ result = result, shown_by_server = by_server, bufnr = target })
    end
    done({ result = result, shown_by_server = false, bufnr = open_in_split(result) })
  end, bufnr)
end

--- Print the engine counters (`qwenLsp/stats`).
function M.stats()
  local client = lsp.get_client()
  if not client then
    vim.notify("qwen-lsp is not attached to this buffer", vim.log.levels.WARN)
    return
  end
  client:request(M.STATS, vim.NIL, function(err, result)
    vim.notify(err and ("qwen-lsp stats: " .. err.message) or vim.inspect(result))
  end)
end

--- `:QwenNextEdit {action}`: ask for next edits at the cursor now, jump to one, apply one, or hide them.
---@param action? string
function M.next_edit(action)
  action = (action == nil or action == "") and M.NEXT_EDIT_ACTIONS[1] or action
  if not vim.list_contains(M.NEXT_EDIT_ACTIONS, action) then
    vim.notify("qwen-lsp: unknown :QwenNextEdit action " .. action, vim.log.levels.ERROR)
    return
  end
  if not require("qwen_lsp.config").options.next_edit.enabled then
    vim.notify("qwen-lsp: next-edit suggestions are off (next_edit.enabled = false)", vim.log.levels.WARN)
    return
  end
  if not lsp.get_client() then
    vim.notify("qwen-lsp is not attached to this buffer", vim.log.levels.WARN)
    return
  end
  require("qwen_lsp.next_edit")[action]()
end

--- Define the user commands (redefining them is harmless).
function M.setup()
  api.nvim_create_user_command("QwenExplain", function()
    M.explain()
  end, { desc = "qwen-lsp: explain the symbol under the cursor" })
  api.nvim_create_user_command("QwenStats", function()
    M.stats()
  end, { desc = "qwen-lsp: show engine counters" })
  api.nvim_create_user_command("QwenNextEdit", function(args)
    M.next_edit(args.fargs[1])
  end, {
    nargs = "?",
    complete = function()
      return M.NEXT_EDIT_ACTIONS
    end,
    desc = "qwen-lsp: next-edit suggestions (request, jump, apply, dismiss)",
  })
end

return M
