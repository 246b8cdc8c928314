"""Unit tests: garbage is collected at a pause and the survivors are frozen until the next one."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from lsp_server.pause import collect_at_pause


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def no_automatic_collection() -> Iterator[None]:
    # Only the pauses collect here, and nothing stays frozen for the other tests.
    gc.unfreeze()
    gc.disable()
    yield
    gc.enable()
    gc.unfreeze()


def test_a_pause_collects_cycles_and_freezes_what_survives() -> None:
    dead = _cycle()
    assert dead() is not None
    assert collect_at_pause() is not None
    assert dead() is None
    frozen = gc.get_freeze_count()
    assert frozen > 0
    # Collections during a burst of typing do not look at the frozen objects.
    assert all(len(gc.get_objects(generation)) < frozen for generation in range(3))


def test_the_next_pause_collects_again_once_enough_was_made_since() -> None:
    assert collect_at_pause() is not None
    later = _cycle()
    assert collect_at_pause() is None  # little made since: nothing to gain from a full collection
    assert later() is not None
    made = [_Node() for _ in range(gc.get_freeze_count() // 4 + 1)]
    assert collect_at_pause() is not None
    assert later() is None
    assert gc.get_freeze_count() > len(made)  # the survivors are frozen again
    assert all(len(gc.get_objects(generation)) < len(made) for generation in range(3))


def test_garbage_among_frozen_objects_does_not_outlive_two_pauses() -> None:
    node, other = _Node(), _Node()
    node.other, other.other = other, node
    dead = weakref.ref(node)
    assert collect_at_pause() is not None  # the cycle is alive: frozen with the survivors
    del node, other  # now garbage, but frozen objects are never collected while frozen
    gc.collect()
    assert dead() is not None
    collect_at_pause()  # the first pause after may skip (little was made since) ...
    collect_at_pause()  # ... the second never does
    assert dead() is None
