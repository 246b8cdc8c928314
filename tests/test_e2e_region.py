"""End to end: typing a function into the middle of a real file costs the model only the typed tokens.

``qwen-lsp serve`` with the tiny qwen35 model (FIM markers, hybrid state) over stdio; every keystroke is
an incremental ``didChange`` and an inline completion request, as VS Code sends them. The cursor layout
(``completion.promptLayout = cursor``) is measured the same way, to show what the region layout saves.
"""

from __future__ import annotations

import asyncio
import colorsys
from pathlib import Path

import pytest

from lsp_server.scheduling import PREWARM_IDLE_S
from tests.conftest import inline_completion, insert_text, lsp_session, open_document, stats
from tests.test_region_engine import FUNCTION, keystrokes

SOURCE = Path(colorsys.__file__).read_text()
ARRIVAL = SOURCE.index("def rgb_to_hls(r, g, b):") - 1  # the blank line above it: code below the cursor


@pytest.mark.parametrize("layout", ["region", "cursor"])
async def test_keystrokes_in_the_middle_of_a_file_evaluate_only_their_tokens(
    qwen35_path: Path, layout: str
) -> None:
    uri = "file:///project/colorsys.py"
    options = {"completion": {"promptLayout": layout}}
    async with lsp_session(qwen35_path, options=options) as (client, _):
        open_document(client, uri, "python", SOURCE)
        line = SOURCE[:ARRIVAL].count("\n")
        await inline_completion(client, uri, line, 0)  # arrival: the whole prompt is read once
        version, column = 1, 0
        costs: list[tuple[str, int]] = []
        seen = (await stats(client))["userRequests"]
        for key in keystrokes(FUNCTION):
            version += 1
            insert_text(client, uri, version, line, column, key)
            if key.startswith("\n"):
                line, column = line + 1, len(key) - 1
            else:
                column += len(key)
            await inline_completion(client, uri, line, column)
            info = await stats(client)
            if info["userRequests"] > seen:  # the model ran for this keystroke (not the typed-ahead cache)
                seen = info["userRequests"]
                costs.append((key, info["lastUserPromptTokensEvaluated"]))
        assert len(costs) > 40
        info = await stats(client)
        if layout == "cursor":
            # Each keystroke re-reads what follows the cursor in the prompt (the suffix and the markers).
            assert sum(cost for _, cost in costs) / len(costs) > 20
            return
        # A key evaluates its own tokens (one per character at most) and the two before it it re-tokenizes;
        # Enter evaluates the line break and the new line's indentation.
        assert all(cost <= len(key) + 2 for key, cost in costs), costs
        assert info["placeArrivals"] == 1 and info["placesOutgrown"] == 0


async def test_a_request_right_after_opening_keeps_its_prompt_over_the_opening_prewarm(
    qwen35_path: Path,
) -> None:
    """Opening a file pre-warms its end after a short idle, unless the editor has asked at a cursor since:
    then that cursor's prompt is in the model and pre-warming elsewhere would throw it away (the next
    keystroke would re-read the whole prompt: a flaky cold start seen in CI)."""
    uri = "file:///project/colorsys.py"
    async with lsp_session(qwen35_path) as (client, _):
        open_document(client, uri, "python", SOURCE)
        line = SOURCE[:ARRIVAL].count("\n")
        await inline_completion(client, uri, line, 0)
        await asyncio.sleep(PREWARM_IDLE_S + 0.7)
        assert (await stats(client))["prewarms"] == 0
        insert_text(client, uri, 2, line, 0, "d")
        await inline_completion(client, uri, line, 1)
        info = await stats(client)
        assert info["lastUserPromptTokensEvaluated"] <= 3
        other = "file:///project/other.py"
        open_document(client, other, "python", "import os\n\nprint(os.getcwd())\n")
        await asyncio.sleep(PREWARM_IDLE_S + 0.7)
        assert (await stats(client))["prewarms"] == 1  # nobody asked there: its end is pre-warmed
