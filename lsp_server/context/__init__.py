"""Context: what the cursor is in, decided with tree-sitter (no pygls here)."""

from __future__ import annotations
