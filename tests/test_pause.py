"""Unit tests: garbage is collected at a pause and the survivors are frozen until the next one."""

from __future__ import annotations

import gc
import weakref

from lsp_server.pause import collect_at_pause


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_a_pause_collects_cycles_and_freezes_what_survives() -> None:
    try:
        gc.disable()  # no automatic collection in between: the pause is what frees the cycle
        dead = _cycle()
        assert dead() is not None
        collect_at_pause()
        assert dead() is None
        assert gc.get_freeze_count() > 0
        # Garbage made while frozen (during a burst of typing) goes at the next pause, frozen or not.
        later = _cycle()
        assert later() is not None
        collect_at_pause()
        assert later() is None
    finally:
        gc.enable()
        gc.unfreeze()


def test_frozen_objects_are_not_scanned_by_the_collections_of_a_burst() -> None:
    try:
        collect_at_pause()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert all(len(gc.get_objects(generation)) < frozen for generation in range(3))
    finally:
        gc.unfreeze()
