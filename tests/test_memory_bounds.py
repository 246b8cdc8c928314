"""Memory bounds (no timings): every cache stays within its byte bound under a stream of unique inputs, and
closing a document drops what the server kept for it (the stats show it)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from lsprotocol import types

from lsp_server.document import DocumentSnapshot
from lsp_server.prompt.region import RegionBound
from lsp_server.prompt.token_cache import TokenCache
from lsp_server.scheduling import Suggestion, SuggestionCache
from lsp_server.workspace import WorkspaceContext
from tests.conftest import insert_text, lsp_session, open_document, stats

REAL_CODE = Path(__file__).resolve().parent.parent / "lsp_server" / "prompt" / "region.py"


def chars(text: str) -> list[int]:
    return [ord(char) for char in text]


def unique_lines(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    words = ["value", "index", "total", "name", "item", "data", "größe", "λ"]
    return [
        f"    {rng.choice(words)}_{n} = f({rng.choice(words)}, {n * 7919 % 10007}) + {'x' * (n % 40)}\n"
        for n in range(count)
    ]


def test_the_token_cache_stays_within_its_bytes_and_stays_exact() -> None:
    cache = TokenCache(chars, max_bytes=256 * 1024)
    peak = 0
    for index, line in enumerate(unique_lines(20_000)):
        assert cache(line) == chars(line)
        assert cache.count(line + line) == 2 * len(line)  # a whole text counted (its own table)
        peak = max(peak, cache.size().bytes)
        if index == 100:
            assert cache.size().entries > 100  # it does cache
    assert peak <= cache.max_bytes
    assert cache.size().limit == 256 * 1024


def test_the_suggestion_cache_stays_within_its_bytes() -> None:
    cache = SuggestionCache(max_bytes=1024 * 1024)
    prefix = "x = 1\n" * 2_000  # a 12 KB document before the cursor, different each time below
    for index in range(2_000):
        cache.put(Suggestion("file:///a.py", f"{prefix}# {index}\n", "\nrest", f"value_{index}"))
        assert cache.size().bytes <= cache.max_bytes
    assert 0 < cache.size().entries < 100  # bounded by bytes before the count (64)
    hit = cache.lookup("file:///a.py", f"{prefix}# 1999\nval", "\nrest")
    assert hit is not None and hit.text == "ue_1999"  # the newest is kept
    cache.forget("file:///a.py")
    assert cache.size().bytes == 0 and cache.size().entries == 0


def test_closing_a_document_drops_its_tree_snippets_and_places() -> None:
    code = REAL_CODE.read_text(encoding="utf-8")
    context = WorkspaceContext()
    uris = [f"file:///w/module_{n}.py" for n in range(3)]
    for uri in uris:
        context.opened(DocumentSnapshot(uri, "python", 1, code))
    context.places.locate(uris[0], code, code.index("class Places"), RegionBound())
    before = context.sizes()
    assert before["trees"].entries == 3 and before["snippets"].entries > 0 and before["places"].entries == 1
    context.closed(uris[0])
    after = context.sizes()
    assert after["trees"].entries == 2 and after["trees"].bytes < before["trees"].bytes
    assert after["snippets"].bytes < before["snippets"].bytes
    assert all(origin != uris[0] for origin, _ in context.ring.chunk_origins())
    assert after["places"].entries == 0
    for uri in uris[1:]:
        context.closed(uri)
    empty = context.sizes()
    assert empty["trees"].entries == empty["snippets"].entries == empty["places"].entries == 0


async def test_the_stats_report_each_cache_and_a_close_shows(smollm2_path: Path, tmp_path: Path) -> None:
    code = REAL_CODE.read_text(encoding="utf-8")
    async with lsp_session(smollm2_path, root=tmp_path) as (client, _):
        for name in ("a", "b"):
            open_document(client, f"file:///w/{name}.py", "python", code)
        insert_text(client, "file:///w/a.py", 2, 40, 0, "x = 1\n")
        info = await stats(client)
        deadline = asyncio.get_running_loop().time() + 300
        while info["state"] not in ("ready", "failed") and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            info = await stats(client)
        caches = info["caches"]
        for name in ("trees", "snippets", "places", "suggestions", "tokens", "warmQueue"):
            assert {"bytes", "entries", "limit"} <= set(caches[name]), name
        assert caches["trees"]["entries"] == 2 and caches["tokens"]["limit"] > 0
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri="file:///w/a.py"))
        )
        closed = (await stats(client))["caches"]
        assert closed["trees"]["entries"] == 1
        assert closed["snippets"]["bytes"] < caches["snippets"]["bytes"]
        # Handled notifications leave nothing behind (pygls kept each didChange's future forever).
        for step in range(300):
            insert_text(client, "file:///w/b.py", 2 + step, 10, 0, "y")
        assert (await stats(client))["pendingHandlers"] <= 3
