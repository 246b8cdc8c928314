"""Engine: the single owner of the resident llama.cpp model."""

from __future__ import annotations
