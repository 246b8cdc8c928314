"""Post-processing: stop rules and clean-up applied to generated text."""

from __future__ import annotations
