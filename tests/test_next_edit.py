"""Next-edit parts without a model: the edit history, the region, the rewrite's edits, the filters."""

from __future__ import annotations

from lsp_server.context.languages import parse
from lsp_server.next_edit.history import MAX_UNITS, EditHistory, EditUnit
from lsp_server.next_edit.predict import (
    Edit,
    NextEditInputs,
    NextEditStop,
    apply_edits,
    editable_region,
    filter_edits,
    predicted_edits,
    prepare,
    repeat_edit,
    repeated_change,
)
from tests.next_edit_sample import RENAMED, SOURCE


def typed(history: EditHistory, text: str, at: int, word: str, version: int) -> tuple[str, int]:
    """Type ``word`` at ``at`` one character at a time, as didChange reports it."""
    for char in word:
        text = text[:at] + char + text[at:]
        at += 1
        version += 1
        history.record(text, version)
    return text, version


def renamed() -> tuple[EditHistory, NextEditInputs]:
    """The history after the rename on the def line, and the inputs with the cursor after ``factor``."""
    history = EditHistory()
    history.reset(SOURCE, 1)
    history.record(RENAMED, 2)
    cursor = RENAMED.index("factor)") + len("factor")
    return history, NextEditInputs(RENAMED, cursor, "python", "shapes.py", tuple(history.units()))


def test_typing_a_word_is_one_unit_and_its_diff_has_the_documents_line_numbers() -> None:
    history = EditHistory()
    history.reset(SOURCE, 1)
    at = SOURCE.index("scale)")
    text = SOURCE[:at] + SOURCE[at + len("scale") :]
    history.record(text, 2)
    text, version = typed(history, text, at, "factor", 2)
    assert text == RENAMED
    (unit,) = history.units()
    assert (unit.before, unit.after, unit.start_row, unit.version) == (
        "def describe(shape, scale):",
        "def describe(shape, factor):",
        3,
        version,
    )
    diff = unit.diff("shapes.py")
    assert (
        "@@ -4 +4 @@" in diff
        and "-def describe(shape, scale):" in diff
        and "+def describe(shape, factor):" in diff
    )


def test_an_edit_elsewhere_closes_the_unit() -> None:
    history = EditHistory()
    history.reset(SOURCE, 1)
    history.record(RENAMED, 2)
    later = RENAMED.replace('* scale\n    print("area"', '* factor\n    print("area"')
    history.record(later, 3)
    first, second = history.units()
    assert first.after == "def describe(shape, factor):"
    assert (
        second.before == "    area = shape.area() * scale"
        and second.after == "    area = shape.area() * factor"
    )


def test_typing_and_deleting_again_leaves_nothing() -> None:
    history = EditHistory()
    history.reset(SOURCE, 1)
    at = SOURCE.index("scale)")
    text, version = typed(history, SOURCE, at, "new_", 1)
    assert len(history.units()) == 1
    at += len("new_")
    for _ in range(len("new_")):  # backspace, one character at a time
        text = text[: at - 1] + text[at:]
        at -= 1
        version += 1
        history.record(text, version)
    assert text == SOURCE
    assert history.units() == []


def test_a_large_replacement_starts_over_and_units_are_bounded() -> None:
    text = "".join(f"value_{row} = {row}\n" for row in range(100))
    history = EditHistory()
    history.reset(text, 1)
    for index in range(MAX_UNITS + 4):
        # each edit on a line of its own, far apart: one unit each
        row = 10 * index
        text = text.replace(f"value_{row} = {row}\n", f"value_{row} = -{row}\n")
        history.record(text, index + 2)
    assert len(history.units()) == MAX_UNITS + 1  # the closed ones kept, and the open one
    assert history.held_bytes() > 0
    history.record("x = 1\n" * 5000, 99)
    assert history.units() == []


def test_the_region_is_around_the_cursor_at_statement_boundaries() -> None:
    text = "\n".join(f"x{row} = [\n    {row},\n]" for row in range(40)) + "\n"
    tree = parse("python", text)
    region = editable_region(text, tree, 60)
    lines = text.split("\n")
    assert region.start_row <= 52 and region.end_row >= 76
    assert lines[region.start_row].startswith("x")  # a statement's first line, not its middle
    assert lines[region.end_row] == "]"
    assert text[region.start : region.end] == "\n".join(lines[region.start_row : region.end_row + 1])


def test_the_answer_is_opened_after_the_line_just_edited() -> None:
    _history, inputs = renamed()
    prepared = prepare(inputs, lambda text: len(text) // 3)
    assert prepared.opening.endswith("def describe(shape, factor):\n")
    assert prepared.following[0] == "    area = shape.area() * scale"
    assert "factor<|user_cursor|>)" in prepared.shown
    # At the next usage instead, the model may rewrite the cursor's own line.
    usage = RENAMED.index("* scale") + 2
    moved = prepare(NextEditInputs(RENAMED, usage, "python", "shapes.py", inputs.units), len)
    assert moved.following[0] == "    area = shape.area() * scale"
    assert moved.opening.endswith("def describe(shape, factor):\n")


def test_a_rewrite_becomes_the_smallest_edits() -> None:
    _history, inputs = renamed()
    prepared = prepare(inputs, len)
    rewrite = "\n".join(prepared.following).replace("scale", "factor") + "\n```"
    edits = predicted_edits(prepared, rewrite, finished=True)
    assert [RENAMED[edit.start : edit.end] for edit in edits] == ["scale", "scale"]
    assert [edit.new_text for edit in edits] == ["factor", "factor"]
    assert apply_edits(RENAMED, edits) == SOURCE.replace("scale", "factor")
    # An answer cut short: its last, unfinished change is not offered.
    partial = '    area = shape.area() * factor\n    print("area", area)\n    perimeter = shape.per'
    (edit,) = predicted_edits(prepared, partial, finished=False)
    assert RENAMED[edit.start : edit.end] == "scale" and edit.start < RENAMED.index("perimeter")


def test_decoding_stops_when_the_rewrite_settles() -> None:
    following = ("a = 1", "b = 2", "c = 3", "d = 4", "e = 5")
    stop = NextEditStop(following)
    assert stop.check("a = 10\nb = 2\n") is None  # one line back in step: not yet
    text = "a = 10\nb = 2\nc = 3\nd = 4\n"
    cut = stop.check(text)
    assert cut is not None and text[:cut] == "a = 10\nb = 2\nc = 3\n"
    unchanged = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf"
    assert stop.check(unchanged) is not None  # nothing changes: no reason to go on
    fenced = "a = 10\n```"
    assert stop.check(fenced) == len(fenced)


def test_edits_that_undo_a_recent_edit_or_break_the_parse_are_dropped() -> None:
    history = EditHistory()
    history.reset(SOURCE, 1)
    history.record(RENAMED, 2)
    units = history.units()
    at = RENAMED.index("factor)")
    undo = Edit(at, at + len("factor"), "scale")
    broken = Edit(RENAMED.index("area +"), RENAMED.index("area +") + len("area +"), "area +(")
    good_at = RENAMED.index("* scale") + 2
    good = Edit(good_at, good_at + len("scale"), "factor")
    kept, dropped = filter_edits(RENAMED, [undo, broken, good], units, "python")
    assert kept == [good]
    assert dropped == ["undoes a recent edit", "the file would not parse"]


def test_the_last_edit_is_made_again_at_the_next_place_that_reads_as_before() -> None:
    history = EditHistory()
    history.reset(SOURCE, 1)
    history.record(RENAMED, 2)
    cursor = RENAMED.index("factor)") + len("factor")
    edit = repeat_edit(RENAMED, history.units(), cursor)
    assert edit is not None and (RENAMED[edit.start : edit.end], edit.new_text) == ("scale", "factor")
    assert edit.start == RENAMED.index("* scale") + 2  # the next usage, whole word


def test_changes_are_taken_as_whole_words_and_insertions_are_anchored() -> None:
    def change(before: str, after: str) -> tuple[str, str] | None:
        return repeated_change(EditUnit(before, after, 0, 1))

    assert change("for k, v in iteritems(v)", "for k, v in v.items()") == ("iteritems(v", "v.items(")
    assert change("class Eq(object):", "class Eq:") == ("(object)", "")
    assert change("    def t(self):", "    def t(self, validator):") == ("self)", "self, validator)")
    assert change("x = foo_bar(1)", "x = foo_baz(1)") == ("foo_bar", "foo_baz")
    assert change("x = 1", "x = 1  ") is None  # nothing to find again
    # whole words: ``scale`` is not found inside ``rescale``
    text = "def f(scale):\n    return rescale(2)\n"
    unit = EditUnit("def f(scale):", "def f(factor):", 0, 1)
    assert repeat_edit(text.replace("(scale)", "(factor)"), [unit], 0) is None


def test_both_prompt_styles_render_the_diffs_and_the_marked_region() -> None:
    from lsp_server.next_edit.predict import template_variables
    from lsp_server.prompt.templates import PromptLibrary

    _history, inputs = renamed()
    variables = template_variables(inputs, prepare(inputs, len))
    library = PromptLibrary()
    instruct = library.render("next_edit", **variables).text
    zeta = library.render("next_edit_zeta", **variables).text
    for text in (instruct, zeta):
        assert "-def describe(shape, scale):" in text and "+def describe(shape, factor):" in text
    assert "factor<|user_cursor|>)" in instruct
    assert "### User Edits:" in zeta and "### Response:" in zeta
    assert "<|editable_region_start|>\n" in zeta and "factor<|user_cursor_is_here|>)" in zeta
