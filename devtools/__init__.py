"""Developer tools that are not part of the shipped server (model fixtures, benchmarks helpers)."""

from __future__ import annotations
