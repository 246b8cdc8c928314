"""Work kept for the moments the user pauses typing: Python's full garbage collection.

CPython's full (generation 2) collection scans every object it tracks. With the token cache, parse trees
and snippet ring of a big workspace that takes several milliseconds, and it starts whenever enough objects
have survived: as often as not in the middle of a keystroke's request. At a pause the server collects
everything once and freezes what survives (``gc.freeze``), so collections during the next burst of typing
only look at the objects made since. A later pause does it again (unfreeze, collect, freeze) once the
objects made since the last one are a quarter as many as the frozen ones (CPython's own rule for a full
collection), so garbage among frozen objects is kept no longer than CPython itself would keep it.
"""

from __future__ import annotations

import gc
import time


def collect_at_pause() -> float | None:
    """Collect all generations and freeze the survivors, when due; the milliseconds spent (None: not due)."""
    frozen = gc.get_freeze_count()
    if frozen and len(gc.get_objects()) < frozen // 4:  # (get_objects leaves the frozen ones out)
        return None
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return (time.perf_counter() - started) * 1000
