"""The in-process llama.cpp backend: the only part of the server that imports llama_cpp."""

from __future__ import annotations
