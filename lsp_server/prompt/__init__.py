"""Prompt: token-level prompt layouts built from the model's own special tokens."""

from __future__ import annotations
