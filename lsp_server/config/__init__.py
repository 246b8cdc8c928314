"""Layered settings: defaults, ``qwen-lsp.toml`` files, the editor's options and its configuration."""
