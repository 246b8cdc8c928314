--- Server wiring: the `vim.lsp.config` entry, `vim.lsp.enable`, and the handlers this plugin owns.

local config = require("qwen_lsp.config")

local api = vim.api

local M = {}

---@class qwen_lsp.ShownDocument
---@field uri string
---@field bufnr integer
---@field time number  `vim.uv.now()` when the server asked to show it

--- The last document the server asked the editor to show (`window/showDocument`).
---@type qwen_lsp.ShownDocument|nil
M.last_shown = nil

--- The qwen-lsp client attached to a buffer, if any.
---@param bufnr? integer
---@return vim.lsp.Client|nil
function M.get_client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr or api.nvim_get_current_buf(), name = config.options.name })[1]
end

--- `window/showDocument`: open the document in a split (keeping the code window), then let the
--- default handler apply `takeFocus` and `selection`.
---@param err lsp.ResponseError|nil
---@param params lsp.ShowDocumentParams
---@param ctx lsp.HandlerContext
---@return lsp.ShowDocumentResult|nil
local function show_document(err, params, ctx)
  local default = vim.lsp.handlers["window/showDocument"]
  if err or params.external then
    return default(err, params, ctx)
  end
  local bufnr = vim.uri_to_bufnr(params.uri)
  if #vim.fn.win_findbuf(bufnr) == 0 then
    local previous = api.nvim_get_current_win()
    vim.cmd("belowright split")
    api.nvim_win_set_buf(0, bufnr)
    if params.takeFocus == false then
      api.nvim_set_current_win(previous)
    end
  end
  M.last_shown = { uri = params.uri, bufnr = bufnr, time = vim.uv.now() }
  return default(err, params, ctx)
end

--- The server's last `qwenLsp/status`: a remote model server out of reach ("unavailable"), or back
--- ("ready"). Read by `require("qwen_lsp").status()` for statuslines.
---@type {state: string, message: string}|nil
M.server_status = nil

---@param params {state?: string, message?: string}
local function on_status(_, params)
  M.server_status = { state = params.state or "", message = params.message or "" }
end

--- The `vim.lsp.config` entry built from the options.
---@param options qwen_lsp.Config
---@return vim.lsp.Config
function M.client_config(options)
  ---@type vim.lsp.Config
  local entry = {
    cmd = config.server_cmd(options),
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    init_options = options.init_options,
    -- Neovim 0.11 does not announce inline completion; the server then also answers
    -- textDocument/completion with the same text. Announce it: this plugin shows ghost text either way.
    capabilities = { textDocument = { inlineCompletion = { dynamicRegistration = false } } },
    handlers = { ["window/showDocument"] = show_document, ["qwenLsp/status"] = on_status },
    -- The server may be decoding when Neovim quits: give it a moment, then stop it for good.
    flags = { exit_timeout = 2000 },
  }
  return vim.tbl_deep_extend("force", entry, options.lsp or {})
end

--- Register and enable the server; call `on_attach(bufnr)` / `on_detach(bufnr)` for its buffers.
--- Safe to call again: the config entry is replaced and the autocommands recreated.
---@param options qwen_lsp.Config
---@param on_attach fun(bufnr: integer)
---@param on_detach fun(bufnr: integer)
function M.setup(options, on_attach, on_detach)
  vim.lsp.config[options.name] = M.client_config(options)
  local group = api.nvim_create_augroup("qwen_lsp.lsp", { clear = true })
  api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == options.name then
        on_attach(args.buf)
      end
    end,
  })
  api.nvim_create_autocmd("LspDetach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == options.name then
        on_detach(args.buf)
      end
    end,
  })
  vim.lsp.enable(options.name)
end

--- Buffers that a running qwen-lsp client is attached to.
---@return integer[]
function M.attached_buffers()
  local buffers = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = config.options.name })) do
    for bufnr in pairs(client.attached_buffers) do
      buffers[#buffers + 1] = bufnr
    end
  end
  return buffers
end

return M
