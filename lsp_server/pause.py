"""Work kept for the moments the user pauses typing: Python's full garbage collection.

CPython's full (generation 2) collection scans every object it tracks. With the token cache, parse trees
and snippet ring of a big workspace that takes several milliseconds, and it starts whenever enough objects
have survived: as often as not in the middle of a keystroke's request. At a pause the server collects
everything once and freezes what survives (``gc.freeze``), so collections during the next burst of typing
only look at the objects made since; the next pause unfreezes, collects and freezes again, so nothing that
became garbage in between is kept for longer than one burst.
"""

from __future__ import annotations

import gc
import time


def collect_at_pause() -> float:
    """Collect all generations, then freeze the survivors; returns the milliseconds it took."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return (time.perf_counter() - started) * 1000
