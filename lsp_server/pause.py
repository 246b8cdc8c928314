"""Work kept for the moments the user pauses typing: Python's full garbage collection.

CPython's full (generation 2) collection scans every object it tracks. With the token cache, parse trees
and snippet ring of a big workspace that takes several milliseconds, and it starts whenever enough objects
have survived: as often as not in the middle of a keystroke's request. At a pause the server collects
everything once and freezes what survives (``gc.freeze``), so collections during the next burst of typing
only look at the objects made since. A later pause does it again (unfreeze, collect, freeze) once the
objects made since the last one are a quarter as many as the frozen ones (CPython's own rule for a full
collection), and at the latest at the second pause after the last collection: objects that were alive
when frozen and became garbage since (a finished request's cycles) are never collected while frozen, so
no such garbage outlives two pauses however little the user typed in between.
"""

from __future__ import annotations

import gc
import time

_skipped = False


def collect_at_pause() -> float | None:
    """Collect all generations and freeze the survivors, when due; the milliseconds spent (None: not due)."""
    global _skipped
    frozen = gc.get_freeze_count()
    if frozen and not _skipped and len(gc.get_objects()) < frozen // 4:  # (frozen ones are not listed)
        _skipped = True
        return None
    _skipped = False
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return (time.perf_counter() - started) * 1000
