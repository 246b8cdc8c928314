"""LSP wiring: the only layer that imports pygls."""

from __future__ import annotations
