"""End to end: suggestions are built from the tree-sitter context engine and say how they were made."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from tests.conftest import (
    inline_completion,
    insert_text,
    items_of,
    lsp_session,
    open_document,
    plain,
    stats,
)

GEOMETRY = '''"""Plane geometry helpers."""


def polygon_area(points):
    """Area of a simple polygon given as (x, y) pairs (shoelace formula)."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2
'''

SHAPES = """from geometry import polygon_area


def describe(points):
    area = polygon_area(points)
    return "area: " + str(area)


def square(side):
    points = [(0, 0), (side, 0), (side, side), (0, side)]
    return polygon_area(
"""


async def test_provenance_names_the_other_file_and_the_tree_is_updated_incrementally(
    smollm2_path: Path, tmp_path: Path
) -> None:
    geometry_uri = (tmp_path / "geometry.py").as_uri()
    shapes_uri = (tmp_path / "shapes.py").as_uri()
    async with lsp_session(smollm2_path, root=tmp_path) as (client, _):
        open_document(client, geometry_uri, "python", GEOMETRY)
        open_document(client, shapes_uri, "python", SHAPES)
        last = len(SHAPES.splitlines()) - 1
        insert_text(client, shapes_uri, 2, last, len("    return polygon_area("), "p")
        insert_text(client, shapes_uri, 3, last, len("    return polygon_area(p"), "o")
        items = items_of(await inline_completion(client, shapes_uri, last, len("    return polygon_area(po")))
        assert len(items) == 1
        command = items[0].command
        assert command is not None and command.arguments is not None and len(command.arguments) == 2
        provenance = plain(command.arguments[1])
        names = [piece["name"] for piece in provenance["pieces"]]
        # The definition of polygon_area comes from the other open file, named relative to the root.
        assert "definition:geometry.py" in names
        assert "prefix" in names and provenance["promptTokens"] > 0
        assert all(piece["tokens"] >= 0 for piece in provenance["pieces"])
        assert provenance["source"] == "model" and provenance["kind"] == "single_line"
        assert provenance["healing"] == "po"  # the partial word is spelled again by the model
        assert str(items[0].insert_text)[:1] not in ("p", " ")  # and not repeated in the suggestion
        for key in ("planMs", "contextMs", "promptMs", "decodeMs", "postprocessMs"):
            assert provenance["timings"][key] >= 0
        info = await stats(client)
        assert info["incrementalParses"] >= 2  # one per keystroke, not a re-parse from scratch
        assert info["fullParses"] == 2  # once per opened document
        # Typing paused: the server collected garbage then (once per pause: fewer times than the two opens
        # and two keystrokes it followed, which came in a quick burst).
        deadline = asyncio.get_running_loop().time() + 30
        while info["pauseCollections"] < 1 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            info = await stats(client)
        assert 1 <= info["pauseCollections"] < 4


async def test_completion_item_fallback_carries_provenance_in_data(
    smollm2_path: Path, tmp_path: Path
) -> None:
    uri = (tmp_path / "shapes.py").as_uri()
    async with lsp_session(smollm2_path, root=tmp_path, inline=False) as (client, _):
        open_document(client, uri, "python", SHAPES)
        last = len(SHAPES.splitlines()) - 1
        result = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=last, character=len("    return polygon_area(")),
            )
        )
        assert isinstance(result, types.CompletionList) and len(result.items) == 1
        data = plain(result.items[0].data)
        assert data["kind"] == "single_line" and [p for p in data["pieces"] if p["name"] == "prefix"]
