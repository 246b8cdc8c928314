--- End-to-end driver for a child Neovim (`nvim --headless --clean -u NONE -S e2e.lua`), run by
--- tests/editor/test_neovim.py. Reads its scenario from $QWEN_LSP_E2E (JSON), drives insert mode with
--- real key presses against the real server, writes what it saw to `out` as JSON, and always quits.
---
---@class qwen_lsp.e2e.Scenario
---@field plugin_dir string  editor_clients/neovim
---@field out string         where to write the JSON result
---@field mode "builtin"|"extmark"|"setup"|"status"|"next_edit"
---@field cmd string[]       server command
---@field cwd string         server working directory
---@field file string        Python file to edit; its last line is completed after typing "("
---@field explain_file string|nil  when set, also run :QwenExplain on the first function of this file
---@field init_options table  initializationOptions for the server
---@field show_document boolean|nil  false: tell the server that Neovim cannot show documents
---@field next_edit_enabled boolean|nil  next_edit mode: the plugin's `next_edit.enabled`
---@field edit_cases {text: string, edit: table}[]|nil  setup mode: LSP edits to map into a buffer and apply
---@field timeout_s number   whole-run deadline
---@field wait_s number      longest wait for one model answer

local api = vim.api

local env = os.getenv("QWEN_LSP_E2E") or ""
local decoded, scenario = pcall(vim.json.decode, env, { luanil = { object = true } })
if not decoded then
  io.stderr:write("e2e.lua: QWEN_LSP_E2E is missing or not JSON: " .. tostring(scenario) .. "\n")
  vim.cmd("cquit 3")
end
---@cast scenario qwen_lsp.e2e.Scenario
vim.opt.runtimepath:prepend(scenario.plugin_dir)

local started = vim.uv.hrtime()
local out = { ok = false, log = {}, nvim = tostring(vim.version()) }
local finished = false

---@param message string
local function log(message)
  out.log[#out.log + 1] = ("%6.2fs %s"):format((vim.uv.hrtime() - started) / 1e9, message)
end

local function finish()
  if finished then
    return
  end
  finished = true
  out.messages = vim.fn.execute("messages")
  local file = assert(io.open(scenario.out, "w"))
  file:write(vim.json.encode(out))
  file:close()
  vim.cmd("qa!")
end

---@param message string
local function fail(message)
  out.error = message
  log("FAIL " .. message)
  finish()
end

vim.defer_fn(function()
  fail("deadline of " .. scenario.timeout_s .. "s reached")
end, math.floor(scenario.timeout_s * 1000))

local co ---@type thread

local function resume()
  local ok, err = coroutine.resume(co)
  if not ok then
    fail(debug.traceback(co, err))
  end
end

--- Yield to the event loop until `predicate()` is true; fail the run after `timeout_ms`.
---@param what string
---@param predicate fun(): any
---@param timeout_ms integer
local function wait_until(what, predicate, timeout_ms)
  local start = vim.uv.now()
  local timer = assert(vim.uv.new_timer())
  timer:start(
    10,
    20,
    vim.schedule_wrap(function()
      if finished or timer:is_closing() then
        return
      end
      local ok, value = pcall(predicate)
      if ok and value then
        timer:close()
        log("ok: " .. what)
        resume()
      elseif vim.uv.now() - start > timeout_ms then
        timer:close()
        local detail = ok and "" or (": " .. tostring(value))
        fail(("timeout (%d ms) waiting for %s%s"):format(timeout_ms, what, detail))
      end
    end)
  )
  coroutine.yield()
end

---@param ms integer
local function sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end

--- Press keys as a user would (mappings apply).
---@param keys string
local function press(keys)
  api.nvim_feedkeys(api.nvim_replace_termcodes(keys, true, false, true), "mt", false)
end

---@return string
local function buffer_text()
  return table.concat(api.nvim_buf_get_lines(0, 0, -1, false), "\n")
end

--- Ghost text drawn in a namespace: first line from virt_text, the others from virt_lines.
---@param ns integer
---@return string|nil
local function ghost_text(ns)
  local marks = api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local details = marks[1][4]
  ---@param chunks [string, string][]
  local function join(chunks)
    local parts = {}
    for _, chunk in ipairs(chunks or {}) do
      if chunk[2] ~= "ComplHintMore" and chunk[2] ~= "QwenLspGhostHint" then
        parts[#parts + 1] = chunk[1]
      end
    end
    return table.concat(parts)
  end
  local lines = { join(details.virt_text) }
  for _, chunks in ipairs(details.virt_lines or {}) do
    lines[#lines + 1] = join(chunks)
  end
  return table.concat(lines, "\n")
end

--- Type text literally (no key notation).
---@param text string
local function type_text(text)
  api.nvim_feedkeys(text, "nt", false)
end

local completed = 0 -- inline completion requests answered so far

--- Press keys, then wait for a fresh inline completion answer and the ghost text it draws.
---@param keys string
---@param ns integer
---@param what string
local function press_and_wait_for_ghost(keys, ns, what)
  local before = completed
  press(keys)
  wait_until(what, function()
    return completed > before and ghost_text(ns) ~= nil
  end, math.floor(scenario.wait_s * 1000))
end

--- A completion menu hides the suggestion.
---@param ns integer
local function open_and_close_menu(ns)
  vim.fn.complete(vim.fn.col("."), { "alpha", "beta" })
  wait_until("menu open and ghost hidden", function()
    return vim.fn.pumvisible() == 1 and ghost_text(ns) == nil
  end, 5000)
  out.hidden_with_menu = true
  press("<C-e>")
  wait_until("menu closed", function()
    return vim.fn.pumvisible() == 0
  end, 5000)
end

--- <C-]> hides the suggestion, keeps the text, and nothing comes back by itself.
---@param ns integer
local function dismiss(ns)
  local before = buffer_text()
  press("<C-]>")
  wait_until("ghost dismissed", function()
    return ghost_text(ns) == nil
  end, 5000)
  sleep(400) -- longer than any debounce
  out.dismissed = { hidden = ghost_text(ns) == nil, text_kept = buffer_text() == before }
end

--- Built-in path: dismiss, menu, one word (through on_accept), then <Tab> for the next suggestion.
---@param ns integer
local function builtin_flow(ns)
  dismiss(ns)
  press_and_wait_for_ghost("<BS>(", ns, "ghost text after retyping")
  open_and_close_menu(ns)
  press_and_wait_for_ghost("<BS>(", ns, "ghost text after the menu")
  out.ghost_before_word = ghost_text(ns)
  press_and_wait_for_ghost("<M-Right>", ns, "one word accepted and a new suggestion")
  out.after_word = buffer_text()
  local before_accept = buffer_text()
  out.ghost_before_accept = ghost_text(ns)
  press("<Tab>")
  wait_until("suggestion accepted", function()
    return buffer_text() ~= before_accept
  end, 5000)
  out.accepted = buffer_text()
end

--- Extmark path: menu (the suggestion comes back), one word, type-ahead, dismiss, then <Tab>.
---@param ns integer
local function extmark_flow(ns)
  open_and_close_menu(ns)
  wait_until("ghost text back after the menu", function()
    return ghost_text(ns) ~= nil
  end, 5000)
  out.ghost_after_menu = ghost_text(ns)
  -- Accept one word: it is inserted and the rest stays shown.
  press("<M-Right>")
  wait_until("one word accepted", function()
    return buffer_text() ~= out.typed
  end, 5000)
  out.after_word = buffer_text()
  out.ghost_after_word = ghost_text(ns)
  -- Typing the next character of the suggestion keeps the rest, without asking the server again.
  local requests = completed
  local char = out.ghost_after_word:sub(1, 1)
  type_text(char)
  wait_until("typed ahead", function()
    return buffer_text() == out.after_word .. char
  end, 5000)
  sleep(200)
  out.typed_ahead = { char = char, ghost = ghost_text(ns), new_requests = completed - requests }
  dismiss(ns)
  press_and_wait_for_ghost("<BS>" .. (char == "<" and "<lt>" or char), ns, "ghost text after retyping")
  local before_accept = buffer_text()
  out.before_accept = before_accept
  out.ghost_before_accept = ghost_text(ns)
  press("<Tab>")
  wait_until("suggestion accepted", function()
    return buffer_text() ~= before_accept
  end, 5000)
  out.accepted = buffer_text()
end

--- `:QwenExplain` on the name of the first function in `explain_file`, from normal mode.
local function run_explain()
  press("<Esc>")
  wait_until("normal mode", function()
    return api.nvim_get_mode().mode == "n"
  end, 5000)
  vim.cmd.edit(vim.fn.fnameescape(scenario.explain_file))
  if vim.bo.filetype ~= "python" then
    vim.bo.filetype = "python"
  end
  wait_until("client attached to the explain file", function()
    return require("qwen_lsp.lsp").get_client(0) ~= nil
  end, 10000)
  local row = vim.fn.search([[^\s*def ]], "cw")
  local line = api.nvim_buf_get_lines(0, row - 1, row, false)[1]
  api.nvim_win_set_cursor(0, { row, assert(line:find("def ", 1, true)) + 3 })
  local code_win = api.nvim_get_current_win()
  local done ---@type qwen_lsp.ExplainDone|nil
  api.nvim_create_autocmd("User", {
    pattern = "QwenExplainDone",
    once = true,
    callback = function(args)
      done = args.data
    end,
  })
  vim.cmd("QwenExplain")
  wait_until("QwenExplainDone", function()
    return done ~= nil
  end, math.floor(scenario.wait_s * 1000))
  ---@cast done qwen_lsp.ExplainDone
  local explain = { error = done.error, result = done.result, shown_by_server = done.shown_by_server }
  explain.server_showed = require("qwen_lsp.lsp").last_shown ~= nil
  if done.bufnr and api.nvim_buf_is_valid(done.bufnr) then
    explain.name = api.nvim_buf_get_name(done.bufnr)
    explain.filetype = vim.bo[done.bufnr].filetype
    explain.lines = api.nvim_buf_get_lines(done.bufnr, 0, -1, false)
    explain.windows = #vim.fn.win_findbuf(done.bufnr)
  end
  explain.code_window_kept = api.nvim_win_is_valid(code_win)
  explain.window_count = #api.nvim_tabpage_list_wins(0)
  out.explain = explain
end

local no_show_document = { window = { showDocument = { support = false } } }

local function run_editor()
  local qwen = require("qwen_lsp")
  qwen.setup({
    cmd = scenario.cmd,
    force_extmark_ghost = scenario.mode == "extmark",
    debounce_ms = 50,
    -- Ghost text only: a next-edit request would be one more engine request in the counters checked here.
    next_edit = { enabled = false },
    init_options = scenario.init_options,
    lsp = {
      cmd_cwd = scenario.cwd,
      root_markers = { ".qwen-lsp-e2e-root" },
      capabilities = scenario.show_document == false and no_show_document or nil,
    },
  })
  local ns = scenario.mode == "extmark" and require("qwen_lsp.ghost").ns or require("qwen_lsp.builtin").ns
  out.backend = scenario.mode
  out.has_builtin = vim.lsp.inline_completion ~= nil
  vim.o.completeopt = "menu,menuone,noinsert,noselect"

  vim.cmd.edit(vim.fn.fnameescape(scenario.file))
  if vim.bo.filetype ~= "python" then
    vim.bo.filetype = "python"
  end
  wait_until("client attached", function()
    return require("qwen_lsp.lsp").get_client(0) ~= nil
  end, 30000)
  out.before = buffer_text()
  sleep(50) -- the built-in sets itself up one tick after LspAttach

  -- Extmark path: as soon as the first request is sent, retype "(": the plugin cancels it and asks again.
  out.cancelled = {}
  local first_request ---@type integer|nil
  api.nvim_create_autocmd("LspRequest", {
    callback = function(args)
      local request = args.data.request
      if request.method ~= "textDocument/inlineCompletion" then
        return
      end
      if request.type == "pending" and not first_request and scenario.mode == "extmark" then
        first_request = args.data.request_id
        out.first_request = first_request
        press("<BS>(")
      elseif request.type == "cancel" then
        table.insert(out.cancelled, args.data.request_id)
      elseif request.type == "complete" then
        completed = completed + 1
      end
    end,
  })

  -- Type "(" at the end of the last line, in insert mode.
  press("GA(")
  wait_until("ghost text", function()
    return ghost_text(ns) ~= nil
  end, math.floor(scenario.wait_s * 1000))
  out.typed = buffer_text()
  out.ghost = ghost_text(ns)
  out.visible = qwen.visible()
  if scenario.mode == "extmark" then
    -- The engine counters once the first suggestion is shown (after the cancelled request).
    local client = assert(require("qwen_lsp.lsp").get_client(0))
    client:request("qwenLsp/stats", vim.NIL, function(err, result)
      out.stats = err and { error = err.message } or result
    end)
    wait_until("server stats", function()
      return out.stats ~= nil
    end, 10000)
    extmark_flow(ns)
  else
    builtin_flow(ns)
  end
  out.mode_after_accept = api.nvim_get_mode().mode

  if scenario.explain_file then
    run_explain()
  end
  out.ok = true
  finish()
end

--- No server: `setup()` twice must leave one set of keys, autocommands and config.
local function run_setup()
  local qwen = require("qwen_lsp")
  qwen.setup({
    model = "/models/a.gguf",
    keymaps = { accept = "<C-l>" },
    next_edit = { keymaps = { jump = "<M-j>" } },
  })
  qwen.setup({ model = "/models/b.gguf", cmd = { "qwen-lsp" } })
  out.cmd = vim.lsp.config.qwen_lsp.cmd
  ---@param mode string
  ---@return string[] lhs of the plugin's keys in `mode`
  local function plugin_maps(mode)
    local maps = {}
    for _, map in ipairs(api.nvim_get_keymap(mode)) do
      if (map.desc or ""):find("^qwen%-lsp") then
        maps[#maps + 1] = map.lhs
      end
    end
    table.sort(maps)
    return maps
  end
  out.maps = plugin_maps("i")
  out.normal_maps = plugin_maps("n")
  out.lsp_autocmds = #api.nvim_get_autocmds({ group = "qwen_lsp.lsp" })
  out.commands = vim.tbl_keys(api.nvim_get_commands({}))
  table.sort(out.commands)
  -- Which ghost-text path: the built-in by default on 0.12, the extmarks when forced or on 0.11.
  local ghost, builtin = require("qwen_lsp.ghost"), require("qwen_lsp.builtin")
  out.backends = { default = qwen.backend() == builtin }
  qwen.setup({ force_extmark_ghost = true })
  out.backends.forced = qwen.backend() == ghost
  rawset(vim.lsp, "inline_completion", false) -- what Neovim 0.11 looks like to the plugin
  qwen.setup({})
  out.backends.without_builtin = qwen.backend() == ghost
  out.capabilities = vim.lsp.config.qwen_lsp.capabilities
  -- Next-edit suggestions turned off in the plugin: their keys go, the ghost-text keys stay.
  qwen.setup({ next_edit = { enabled = false } })
  out.without_next_edit = { insert = plugin_maps("i"), normal = plugin_maps("n") }

  local text = require("qwen_lsp.text")
  local sample = 'os.getcwd(), "a")\nprint(1)'
  out.parts = {
    word = text.part(sample, "word"),
    line = text.part(sample, "line"),
    line_after_newline = text.part("\n    return x\ny", "line"),
    all = text.part(sample, "all"),
  }

  -- Next-edit ranges in buffer bytes: each case's edit applied to a scratch buffer holding its text.
  out.applied_edits = {}
  local next_edit = require("qwen_lsp.next_edit")
  local scratch = api.nvim_create_buf(false, true)
  for _, case in ipairs(scenario.edit_cases or {}) do
    api.nvim_buf_set_lines(scratch, 0, -1, false, vim.split(case.text, "\n", { plain = true }))
    local at = next_edit.buffer_edit(scratch, case.edit, "utf-16")
    if at then
      api.nvim_buf_set_text(scratch, at.row, at.col, at.end_row, at.end_col, vim.split(at.text, "\n", { plain = true }))
      out.applied_edits[#out.applied_edits + 1] = table.concat(api.nvim_buf_get_lines(scratch, 0, -1, false), "\n")
    else
      out.applied_edits[#out.applied_edits + 1] = vim.NIL
    end
  end
  out.ok = true
  finish()
end

--- A server whose remote model server is out of reach: its status reaches `require("qwen_lsp").status()`.
local function run_status()
  local qwen = require("qwen_lsp")
  qwen.setup({ cmd = scenario.cmd, lsp = { cmd_cwd = scenario.cwd, root_markers = { ".qwen-lsp-e2e-root" } } })
  out.before_status = qwen.status()
  vim.cmd.edit(vim.fn.fnameescape(scenario.file))
  vim.bo.filetype = "python"
  wait_until("client attached", function()
    return require("qwen_lsp.lsp").get_client(0) ~= nil
  end, 30000)
  wait_until("an unavailable status", function()
    return qwen.status() ~= ""
  end, 30000)
  out.status = qwen.status()
  out.ok = true
  finish()
end

--- What the next-edit module draws: one entry per extmark, in buffer order.
---@return table[]
local function next_edit_marks()
  local ns = require("qwen_lsp.next_edit").ns
  local marks = {}
  for _, mark in ipairs(api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    local details = mark[4]
    local virt_lines = {}
    for _, chunks in ipairs(details.virt_lines or {}) do
      virt_lines[#virt_lines + 1] = chunks[1][1]
    end
    marks[#marks + 1] = {
      row = mark[2],
      col = mark[3],
      end_row = details.end_row,
      end_col = details.end_col,
      hl_group = details.hl_group,
      virt_text = details.virt_text and details.virt_text[1][1] or nil,
      virt_text_hl = details.virt_text and details.virt_text[1][2] or nil,
      virt_text_pos = details.virt_text_pos,
      virt_lines = #virt_lines > 0 and virt_lines or nil,
    }
  end
  return marks
end

---@return {row: integer, col: integer}
local function cursor()
  local position = api.nvim_win_get_cursor(0)
  return { row = position[1] - 1, col = position[2] }
end

--- Next-edit suggestions: rename a parameter in Normal mode (`ciw...<Esc>`) and wait for the suggested
--- edits; dismiss them, ask again with `:QwenNextEdit`, then jump to and apply each with the keys.
--- With `next_edit_enabled = false`: nothing is asked, shown, or applied.
local function run_next_edit()
  local next_edit = require("qwen_lsp.next_edit")
  require("qwen_lsp").setup({
    cmd = scenario.cmd,
    init_options = scenario.init_options,
    next_edit = { enabled = scenario.next_edit_enabled },
    lsp = { cmd_cwd = scenario.cwd, root_markers = { ".qwen-lsp-e2e-root" } },
  })
  local requests = { sent = 0, answered = 0, cancelled = 0 }
  out.requests = requests
  -- Inline completion requests that the built-in's debounce timer sends after `<Esc>`: the plugin cancels them.
  local stray = { sent = {}, cancelled = {} }
  out.stray_inline_completions = stray
  api.nvim_create_autocmd("LspRequest", {
    callback = function(args)
      local request = args.data.request
      if request.method == "textDocument/copilotInlineEdit" then
        local kind = ({ pending = "sent", complete = "answered", cancel = "cancelled" })[request.type]
        if kind then
          requests[kind] = requests[kind] + 1
        end
      elseif request.method == "textDocument/inlineCompletion" then
        if request.type == "pending" and api.nvim_get_mode().mode:sub(1, 1) ~= "i" then
          table.insert(stray.sent, args.data.request_id)
        elseif request.type == "cancel" then
          table.insert(stray.cancelled, args.data.request_id)
        end
      end
    end,
  })
  local maps = {}
  for _, mode in ipairs({ "n", "i" }) do
    for _, map in ipairs(api.nvim_get_keymap(mode)) do
      if (map.desc or ""):find("^qwen%-lsp: next edit") then
        maps[#maps + 1] = mode .. " " .. map.lhs
      end
    end
  end
  table.sort(maps)
  out.maps = maps

  vim.cmd.edit(vim.fn.fnameescape(scenario.file))
  vim.bo.filetype = "python"
  wait_until("client attached", function()
    return require("qwen_lsp.lsp").get_client(0) ~= nil
  end, 30000)
  out.before = buffer_text()

  -- Rename the parameter `scale` to `factor` in the def line, as a user would.
  local row = vim.fn.search([[^def ]], "cw")
  local line = api.nvim_buf_get_lines(0, row - 1, row, false)[1]
  api.nvim_win_set_cursor(0, { row, assert(line:find("scale", 1, true)) - 1 })
  press("ciwfactor<Esc>")
  wait_until("renamed in Normal mode", function()
    return api.nvim_get_mode().mode == "n" and buffer_text() ~= out.before
  end, 5000)
  out.renamed = buffer_text()
  out.cursor_after_rename = cursor()

  local wait_ms = math.floor(scenario.wait_s * 1000)
  if scenario.next_edit_enabled == false then
    sleep(3000) -- six times the debounce
    out.disabled = { marks = next_edit_marks(), visible = next_edit.visible() }
    vim.cmd("QwenNextEdit apply")
    out.disabled.applied = next_edit.apply()
    out.disabled.text = buffer_text()
    out.disabled.cursor = cursor()
    out.ok = true
    return finish()
  end

  wait_until("next-edit suggestion", function()
    return next_edit.visible()
  end, wait_ms)
  out.shown = { marks = next_edit_marks(), edits = next_edit.edits(), text = buffer_text(), cursor = cursor() }
  sleep(500)
  out.text_before_keys = buffer_text() -- nothing is applied without a key

  -- Dismiss: the marks go, the text stays, and nothing is asked again without an edit.
  local sent = requests.sent
  press("<M-e>")
  wait_until("suggestion dismissed", function()
    return #next_edit_marks() == 0
  end, 5000)
  sleep(1000) -- twice the debounce
  out.dismissed = {
    marks = #next_edit_marks(),
    visible = next_edit.visible(),
    text = buffer_text(),
    new_requests = requests.sent - sent,
  }

  -- Ask again with the command, then jump to each suggested edit and apply it.
  vim.cmd("QwenNextEdit")
  wait_until("next-edit suggestion again", function()
    return next_edit.visible()
  end, wait_ms)
  out.steps = {}
  local applied = 0
  while next_edit.visible() and applied < 4 do
    local step = { edits = next_edit.edits() }
    press("<M-n>")
    wait_until("cursor at the start of a suggested edit", function()
      local now = cursor()
      for _, edit in ipairs(step.edits) do
        if edit.row == now.row and edit.col == now.col then
          return true
        end
      end
    end, 5000)
    step.cursor_after_jump = cursor()
    local before_apply = buffer_text()
    press("<M-y>")
    wait_until("applied", function()
      return buffer_text() ~= before_apply
    end, 5000)
    applied = applied + 1
    step.text = buffer_text()
    step.cursor_after_apply = cursor()
    step.marks_after_apply = next_edit_marks()
    step.edits_after_apply = next_edit.edits()
    out.steps[#out.steps + 1] = step
    sleep(100)
  end
  out.final = buffer_text()
  out.ok = true
  finish()
end

co = coroutine.create(function()
  if scenario.mode == "setup" then
    run_setup()
  elseif scenario.mode == "status" then
    run_status()
  elseif scenario.mode == "next_edit" then
    run_next_edit()
  else
    run_editor()
  end
end)
vim.schedule(resume)
