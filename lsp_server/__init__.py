"""qwen-lsp: a local language server that keeps a GGUF code model resident and serves completions."""

from __future__ import annotations

__version__ = "0.1.0"
