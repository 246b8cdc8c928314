"""The next-edit scenario every next-edit test shares: rename ``scale`` to ``factor`` in the ``def`` line.

Qwen2.5-Coder-0.5B-Instruct (the smallest model here that follows the instruction) then suggests the
same rename on the two later usages; so does repeating the user's edit.
"""

from __future__ import annotations

SOURCE = """import math


def describe(shape, scale):
    area = shape.area() * scale
    print("area", area)
    perimeter = shape.perimeter() * scale
    print("perimeter", perimeter)
    return area + perimeter
"""
RENAMED = SOURCE.replace("(shape, scale)", "(shape, factor)")
DEF_ROW = 3
"""0-based row of ``def describe(shape, scale):``."""
