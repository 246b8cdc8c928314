"""Completion scheduling: answer from what is already known before asking the model again.

What the user sees: typing through a suggestion keeps it on screen with no delay (typed-ahead cache); a
keystroke that matches a suggestion still being generated keeps that generation instead of restarting it
(in-flight reuse); after a suggestion is shown the next one is prepared "as if accepted" and the open
document is evaluated ahead while the user is idle (speculation, pre-warm), both giving way at once to a
real request; requests wait a little while the user types faster than the model answers (adaptive
debounce). No LSP types here: the LSP layer hands in plans and gets text back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import attrs

from lsp_server.completion import (
    Completion,
    CompletionPlan,
    Skip,
    finish_completion,
    generated_code,
    make_request,
    plan_completion,
)
from lsp_server.document import DocumentSnapshot, locate, offset_of
from lsp_server.memory import CacheSize, text_bytes
from lsp_server.model_api import Engine, EngineState, GenerationRequest, GenerationResult
from lsp_server.prompt.templates import PromptLibrary
from lsp_server.settings import CompletionSettings

logger = logging.getLogger(__name__)

SPECULATION_PRIORITY = 20
Planner = Callable[[DocumentSnapshot, int, int], CompletionPlan | Skip]
"""Plans a completion for a document at (line, UTF-16 column): the server's, with its trees and snippets."""
PREWARM_PRIORITY = 30
PREWARM_IDLE_S = 0.3


@attrs.frozen
class Suggestion:
    """A suggestion shown (or prepared) for the text before and after a cursor."""

    uri: str
    prefix: str
    suffix: str
    text: str
    speculative: bool = False
    provenance: dict[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.frozen
class CacheHit:
    """What remains of a cached suggestion after the characters the user typed since."""

    text: str
    speculative: bool
    provenance: dict[str, Any] = attrs.field(factory=dict, eq=False)


def _suggestion_bytes(suggestion: Suggestion) -> int:
    # The provenance is a few dozen small values; the texts around the cursor are what can be large.
    texts = (suggestion.uri, suggestion.prefix, suggestion.suffix, suggestion.text)
    return sum(text_bytes(text) for text in texts) + 2048


class SuggestionCache:
    """An LRU of recent suggestions keyed by the text around the cursor, bounded by count and bytes.

    Each entry holds the document's text before and after the cursor (the key), so in a big file a few
    entries are megabytes: ``max_bytes`` bounds them (the oldest go first).
    """

    def __init__(self, capacity: int = 64, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str, str], Suggestion] = OrderedDict()
        self._bytes = 0

    def put(self, suggestion: Suggestion) -> None:
        """Remember a suggestion (the newest wins for the same context)."""
        key = (suggestion.uri, suggestion.prefix, suggestion.suffix)
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= _suggestion_bytes(old)
        self._entries[key] = suggestion
        self._bytes += _suggestion_bytes(suggestion)
        while len(self._entries) > 1 and (len(self._entries) > self.capacity or self._bytes > self.max_bytes):
            _, gone = self._entries.popitem(last=False)
            self._bytes -= _suggestion_bytes(gone)

    def size(self) -> CacheSize:
        """Bytes and entries held now."""
        return CacheSize(self._bytes, len(self._entries), self.max_bytes)

    def lookup(self, uri: str, prefix: str, suffix: str) -> CacheHit | None:
        """The rest of a suggestion whose start the user has typed since it was made, if any."""
        best: tuple[int, Suggestion] | None = None
        for (entry_uri, entry_prefix, entry_suffix), entry in self._entries.items():
            if entry_uri != uri or entry_suffix != suffix or not prefix.startswith(entry_prefix):
                continue
            typed = prefix[len(entry_prefix) :]
            if len(typed) >= len(entry.text) or not entry.text.startswith(typed):
                continue
            if best is None or len(entry_prefix) > best[0]:
                best = (len(entry_prefix), entry)
        if best is None:
            return None
        entry = best[1]
        self._entries.move_to_end((entry.uri, entry.prefix, entry.suffix))
        return CacheHit(entry.text[len(prefix) - len(entry.prefix) :], entry.speculative, entry.provenance)

    def forget(self, uri: str) -> None:
        """Drop every entry of a closed document."""
        for key in [key for key in self._entries if key[0] == uri]:
            self._bytes -= _suggestion_bytes(self._entries.pop(key))


class TypingTracker:
    """Learns the user's typing speed and the model's latency to decide how long to debounce."""

    def __init__(self, *, max_debounce_s: float = 0.15, typing_gap_s: float = 1.0) -> None:
        self.max_debounce_s = max_debounce_s
        self.typing_gap_s = typing_gap_s
        self.interval_s: float | None = None
        self.latency_s: float | None = None
        self._last_keystroke: dict[str, float] = {}

    def keystroke(self, uri: str, now: float | None = None) -> None:
        """Record one edit of ``uri``."""
        now = time.monotonic() if now is None else now
        last = self._last_keystroke.get(uri)
        self._last_keystroke[uri] = now
        if last is not None and now - last < self.typing_gap_s:
            gap = now - last
            self.interval_s = gap if self.interval_s is None else 0.8 * self.interval_s + 0.2 * gap
        # a long pause says nothing about typing speed

    def forget(self, uri: str) -> None:
        """A document was closed."""
        self._last_keystroke.pop(uri, None)

    def observed(self, seconds: float) -> None:
        """Record how long the model took for one completion."""
        self.latency_s = seconds if self.latency_s is None else 0.8 * self.latency_s + 0.2 * seconds

    def debounce(self, uri: str, now: float | None = None) -> float:
        """Seconds to wait before starting a generation for ``uri``."""
        if self.interval_s is None or self.latency_s is None or self.latency_s <= self.interval_s:
            return 0.0  # the model keeps up with the typing: answer every keystroke
        now = time.monotonic() if now is None else now
        since = now - self._last_keystroke.get(uri, 0.0)
        # Wait for a pause a little longer than the usual gap between keystrokes.
        wanted = min(self.max_debounce_s, 1.5 * self.interval_s)
        return max(0.0, wanted - since)


class InFlight:
    """One generation shared by every request that still wants its text."""

    def __init__(self, plan: CompletionPlan, request: GenerationRequest) -> None:
        self.plan = plan
        self.request = request
        self.text = ""
        self.subscribers = 0
        self.pinned = False
        self.future: concurrent.futures.Future[GenerationResult] | None = None
        request.on_text = self._on_text

    def _on_text(self, text: str) -> None:
        # worker thread; a str assignment is atomic
        self.text = generated_code(self.plan, self.request.notes, text)

    def typed_since(self, prefix: str, suffix: str) -> str | None:
        """Characters typed after this generation's cursor, if the new context extends it."""
        if suffix != self.plan.suffix or not prefix.startswith(self.plan.prefix):
            return None
        return prefix[len(self.plan.prefix) :]

    def consistent(self, typed: str) -> bool:
        """Whether ``typed`` agrees with what the model has produced so far (something, not nothing yet)."""
        produced = self.text
        if typed == "":
            return True  # the same context again
        return bool(produced) and (produced.startswith(typed) or typed.startswith(produced))

    def cancel(self, reason: str) -> None:
        """Stop the generation."""
        self.request.cancel.cancel(reason)


@attrs.define
class SchedulingStats:
    """Counters for the stats request and the latency benchmark."""

    typed_ahead_hits: int = 0
    speculation_hits: int = 0
    inflight_hits: int = 0
    speculations: int = 0
    prewarms: int = 0
    debounce_drops: int = 0
    accepted: int = 0


class CompletionService:
    """Decides, per request, whether the cache, a running generation, or a new one answers it."""

    def __init__(
        self,
        engine: Callable[[], Engine | None],
        settings: Callable[[], CompletionSettings],
        planner: Planner | None = None,
        prompts: PromptLibrary | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._prompts = prompts
        self._planner: Planner = planner or (
            lambda snapshot, line, column: plan_completion(snapshot, line, column, settings())
        )
        self.cache = SuggestionCache()
        self.typing = TypingTracker()
        self.stats = SchedulingStats()
        self._inflight: dict[str, InFlight] = {}
        self._latest: dict[str, int] = {}
        self._keystrokes: dict[str, int] = {}
        self._background: dict[str, concurrent.futures.Future[GenerationResult]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- events from the editor ----------------------------------------------------------------

    def document_changed(self, snapshot: DocumentSnapshot, line: int, column: int) -> None:
        """Record a keystroke that left the cursor at (line, UTF-16 column).

        A running generation whose text the user is typing through stays alive for the request that
        follows (in-flight reuse); anything else running in the background gives way.
        """
        uri = snapshot.uri
        self.typing.keystroke(uri)
        self._cancel_background(uri)
        keystroke = self._keystrokes.get(uri, 0) + 1
        self._keystrokes[uri] = keystroke
        flight = self._inflight.get(uri)
        cursor = locate(snapshot.text, line, column)
        if cursor is None:
            return
        offset = offset_of(snapshot.text, cursor)
        prefix, suffix = snapshot.text[:offset], snapshot.text[offset:]
        if flight is not None:
            typed = flight.typed_since(prefix, suffix)
            flight.pinned = typed is not None and flight.consistent(typed)
        self._spawn(self._prewarm_when_idle(snapshot, line, column, (keystroke, self._latest.get(uri, 0))))

    def document_opened(self, snapshot: DocumentSnapshot) -> None:
        """Warm the model with the start of a new document (its end as the cursor: small files fit whole)."""
        lines = snapshot.text.split("\n")
        column = sum(2 if ord(char) > 0xFFFF else 1 for char in lines[-1].removesuffix("\r"))
        uri = snapshot.uri
        moment = (self._keystrokes.get(uri, 0), self._latest.get(uri, 0))
        self._spawn(self._prewarm_when_idle(snapshot, len(lines) - 1, column, moment))

    async def _prewarm_when_idle(
        self, snapshot: DocumentSnapshot, line: int, column: int, moment: tuple[int, int]
    ) -> None:
        """Pre-warm unless the user typed or asked for a completion since ``moment`` (keystroke, request).

        A request since then means the editor already told us where the cursor is and its prompt is in the
        model: pre-warming another place (the end of a just-opened file) would throw that state away.
        """
        await asyncio.sleep(PREWARM_IDLE_S)
        uri = snapshot.uri
        now = (self._keystrokes.get(uri, 0), self._latest.get(uri, 0))
        if now != moment or uri in self._inflight or self._busy(uri):
            return
        self.prewarm(snapshot, line, column)

    def _busy(self, uri: str) -> bool:
        future = self._background.get(uri)
        return future is not None and not future.done()

    def shutdown(self) -> None:
        """Stop everything this service started."""
        for flight in self._inflight.values():
            flight.cancel("shutdown")
        self._inflight.clear()
        for uri in list(self._background):
            self._cancel_background(uri)

    def document_closed(self, uri: str) -> None:
        """Forget a closed document."""
        self.cache.forget(uri)
        self._cancel_background(uri)
        self._latest.pop(uri, None)
        self._keystrokes.pop(uri, None)
        self.typing.forget(uri)
        flight = self._inflight.pop(uri, None)
        if flight is not None:
            flight.cancel("document closed")

    def accepted(self, uri: str) -> None:
        """The user accepted a suggestion (the item's command ran)."""
        self.stats.accepted += 1

    def inflight_cursor(self, uri: str) -> tuple[int, int] | None:
        """(line, UTF-16 column) of the generation running for ``uri``, if any."""
        flight = self._inflight.get(uri)
        if flight is None:
            return None
        return flight.plan.cursor.line, flight.plan.cursor.utf16_character

    # --- requests ------------------------------------------------------------------------------

    async def complete(self, plan: CompletionPlan) -> Completion | None:
        """The suggestion for ``plan``: from the cache, a running generation, or a new one."""
        uri = plan.snapshot.uri
        ticket = self._latest.get(uri, 0) + 1
        self._latest[uri] = ticket
        hit = self.cache.lookup(uri, plan.prefix, plan.suffix)
        if hit is not None:
            self.stats.typed_ahead_hits += 1
            if hit.speculative:
                self.stats.speculation_hits += 1
            source = "speculation" if hit.speculative else "typed-ahead"
            return Completion(hit.text, {**hit.provenance, "source": source})
        flight = self._inflight.get(uri)
        if flight is not None:
            typed = flight.typed_since(plan.prefix, plan.suffix)
            if typed is not None and flight.consistent(typed) and not flight.request.cancel.cancelled:
                self.stats.inflight_hits += 1
                return await self._follow(flight, typed)
            flight.cancel("superseded")
        delay = self.typing.debounce(uri)
        if delay > 0:
            await asyncio.sleep(delay)
            if self._latest.get(uri) != ticket:
                self.stats.debounce_drops += 1
                return None
        return await self._generate(plan)

    async def _generate(self, plan: CompletionPlan) -> Completion | None:
        engine = self._engine()
        if engine is None or engine.state is EngineState.FAILED:
            return None
        uri = plan.snapshot.uri
        self._cancel_background(uri)
        flight = InFlight(plan, make_request(plan, self._settings(), self._prompts))
        flight.future = engine.submit(flight.request)
        self._inflight[uri] = flight
        started = time.monotonic()
        text = await self._follow(flight, "")
        if engine.state is EngineState.READY:
            self.typing.observed(time.monotonic() - started)
        return text

    async def _follow(self, flight: InFlight, typed: str) -> Completion | None:
        """Wait for a shared generation; this caller's cancel stops it only if nobody else wants it."""
        assert flight.future is not None
        flight.subscribers += 1
        try:
            result = await asyncio.shield(asyncio.wrap_future(flight.future))
        except asyncio.CancelledError:
            flight.subscribers -= 1
            if flight.subscribers == 0 and not flight.pinned:
                flight.cancel("$/cancelRequest")
            elif flight.subscribers == 0:
                self._expire(flight)
            raise
        flight.subscribers -= 1
        uri = flight.plan.snapshot.uri
        if self._inflight.get(uri) is flight and flight.subscribers == 0:
            del self._inflight[uri]
        finished = finish_completion(flight.plan, result, flight.request.notes)
        if finished is None:
            return None
        text = finished.text
        self.cache.put(
            Suggestion(uri, flight.plan.prefix, flight.plan.suffix, text, False, finished.provenance)
        )
        if not text.startswith(typed) or len(typed) >= len(text):
            return None
        self._speculate(flight.plan, text)
        source = "in-flight" if typed else "model"
        return Completion(text[len(typed) :], {**finished.provenance, "source": source})

    def _expire(self, flight: InFlight) -> None:
        """A pinned generation nobody waits for: give the next keystroke's request a moment to claim it."""

        async def later() -> None:
            await asyncio.sleep(0.5)
            if flight.subscribers == 0:
                flight.cancel("unclaimed")

        self._spawn(later())

    # --- background work -----------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _cancel_background(self, uri: str) -> None:
        future = self._background.pop(uri, None)
        if future is not None and not future.done():
            future.cancel()

    def _background_request(self, plan: CompletionPlan, priority: int, max_tokens: int | None) -> None:
        engine = self._engine()
        if engine is None or engine.state is not EngineState.READY:
            return
        request = make_request(plan, self._settings(), self._prompts)
        request.priority = priority
        request.preemption = "abandon"
        request.max_predict_ms = 0.0  # nobody waits for it: the whole suggestion
        request.label = "speculation" if max_tokens is None else "pre-warm"
        if max_tokens is not None:
            request.max_tokens = max_tokens
        uri = plan.snapshot.uri
        self._cancel_background(uri)
        future = engine.submit(request)
        self._background[uri] = future

        def done(finished: concurrent.futures.Future[GenerationResult]) -> None:
            if finished.cancelled():
                request.cancel.cancel("replaced")
                return
            done = finish_completion(plan, finished.result(), request.notes)
            if done is not None and max_tokens is None:
                self.cache.put(Suggestion(uri, plan.prefix, plan.suffix, done.text, True, done.provenance))

        future.add_done_callback(done)

    def _speculate(self, plan: CompletionPlan, text: str) -> None:
        """Prepare the suggestion that follows ``text`` as if the user accepted it."""
        accepted_prefix = plan.prefix + text
        document = accepted_prefix + plan.suffix
        line = accepted_prefix.count("\n")
        column_text = accepted_prefix.rsplit("\n", 1)[-1]
        column = sum(2 if ord(char) > 0xFFFF else 1 for char in column_text)
        snapshot = DocumentSnapshot(plan.snapshot.uri, plan.snapshot.language_id, None, document)
        next_plan = self._planner(snapshot, line, column)
        if isinstance(next_plan, Skip):
            return
        self.stats.speculations += 1
        self._background_request(next_plan, SPECULATION_PRIORITY, None)

    def prewarm(self, snapshot: DocumentSnapshot, line: int, column: int) -> None:
        """Evaluate the prompt for a likely cursor ahead of time (no output), at the lowest priority."""
        plan = self._planner(snapshot, line, column)
        if isinstance(plan, Skip):
            return
        self.stats.prewarms += 1
        self._background_request(plan, PREWARM_PRIORITY, 0)
