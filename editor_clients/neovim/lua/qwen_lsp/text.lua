--- Pieces of a suggestion (all / line / word) and inserting them at the cursor.

local api = vim.api

local M = {}

---@alias qwen_lsp.AcceptKind "all"|"line"|"word"

--- The part of `text` that an accept of `kind` inserts.
---  - all:  everything;
---  - line: up to the end of the current line (or the next line when the text starts with a newline);
---  - word: leading whitespace plus one word, or one run of punctuation.
---@param text string
---@param kind qwen_lsp.AcceptKind
---@return string
function M.part(text, kind)
  if kind == "line" then
    local newline = text:sub(1, 1) == "\n" and "\n" or ""
    local rest = text:sub(#newline + 1)
    return newline .. (rest:match("^[^\n]*") or "")
  elseif kind == "word" then
    return text:match("^%s*[%w_]+") or text:match("^%s*[^%w_%s]+") or text:match("^%s+") or text
  end
  return text
end

--- Insert `text` at (row, col) (0-based, bytes) and put the cursor after it.
---@param bufnr integer
---@param row integer
---@param col integer
---@param text string
---@return integer row, integer col where the cursor ends (0-based)
function M.insert_at(bufnr, row, col, text)
  local lines = vim.split(text, "\n", { plain = true })
  api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
  local end_row = row + #lines - 1
  local end_col = (#lines == 1 and col or 0) + #lines[#lines]
  local win = vim.fn.bufwinid(bufnr)
  if win ~= -1 then
    api.nvim_win_set_cursor(win, { end_row + 1, end_col })
  end
  return end_row, end_col
end

return M
