"""Next-edit prediction: the user's recent edits and the code around the cursor in, the next edit out.

What the user sees: after renaming a parameter on one line, the same rename offered on the next usage
a few lines below, as a replacement that Tab applies. The model gets the recent edits as unified diffs,
the file's context (its outline and the code around, as completions get it) and an *editable region*
(about 10-30 lines at statement boundaries, the cursor marked) and rewrites the region. Its answer is
opened with the region's lines above the cursor's (and the cursor's when the user just edited it), so
it writes only the lines after them; decoding
stops once its rewrite has changed something and then gone back to the original for two lines, or has
changed nothing for eight. The rewrite is diffed against the region and the smallest edits that differ
are kept. Nothing is offered that would only undo a recent edit, or that leaves a file that parsed
not parsing (or one that did not parse no better).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import tree_sitter

from lsp_server.context.assemble import ContextBudget, assemble_file_context
from lsp_server.context.languages import parse
from lsp_server.context.syntax_tree import common_prefix_length, common_suffix_length
from lsp_server.document import lines_of
from lsp_server.model_api import ModelInfo, PromptLayout, PromptPiece, Tokenizer
from lsp_server.next_edit.history import EditUnit

CURSOR = "<|user_cursor|>"
"""Where the cursor is in the region shown to the model (Zeta 2's marker)."""
ZETA1_CURSOR = "<|user_cursor_is_here|>"
"""The cursor marker of Zeta 1's prompt format (``nextEdit.promptStyle`` zeta)."""
REGION_START = "<|editable_region_start|>"
REGION_END = "<|editable_region_end|>"
ROWS_BEFORE = 8
ROWS_AFTER = 16
MAX_STATEMENT_ROWS = 6
"""A region boundary inside a statement moves to the statement's edge when it is this short."""
UNCHANGED_ROWS = 8
"""Decoding stops after this many rewritten lines that change nothing."""
RESYNC_ROWS = 2
"""Decoding stops when a change is followed by this many lines as they were."""
_FENCE = re.compile(r"```[^\n`]*\n")


@attrs.frozen
class Region:
    """The editable region: whole lines ``start_row`` .. ``end_row`` (inclusive) around the cursor."""

    start_row: int
    end_row: int
    cursor_row: int
    start: int
    """Character offset of the region's first line."""
    end: int
    """Character offset of the end of its last line (before the line break)."""


@attrs.frozen
class Edit:
    """A replacement of ``text[start:end]`` by ``new_text`` in the document the prediction was made for."""

    start: int
    end: int
    new_text: str


def _statement_rows(tree: tree_sitter.Tree | None, lines: Sequence[str], row: int) -> tuple[int, int]:
    """The rows of the short statement that line ``row`` is part of (the row alone when none)."""
    if tree is None or row >= len(lines):
        return row, row
    line = lines[row]
    column = len(line.encode("utf-8")) - len(line.lstrip().encode("utf-8"))
    point = (row, column)
    node: tree_sitter.Node | None = tree.root_node.named_descendant_for_point_range(point, point)
    best = (row, row)
    while node is not None and node.parent is not None:
        first, last = node.start_point.row, node.end_point.row
        if last - first >= MAX_STATEMENT_ROWS:
            break
        best = (min(best[0], first), max(best[1], last))
        node = node.parent
    return best


def editable_region(
    text: str,
    tree: tree_sitter.Tree | None,
    cursor_row: int,
    before: int = ROWS_BEFORE,
    after: int = ROWS_AFTER,
) -> Region:
    """About ``before`` lines above the cursor and ``after`` below, widened to whole short statements."""
    lines = lines_of(text)
    last_row = max(0, len(lines) - 1)
    cursor_row = min(max(cursor_row, 0), last_row)
    start_row = _statement_rows(tree, lines, max(0, cursor_row - before))[0]
    end_row = min(last_row, _statement_rows(tree, lines, min(last_row, cursor_row + after))[1])
    start = sum(len(line) + 1 for line in lines[:start_row])
    end = start + sum(len(line) + 1 for line in lines[start_row : end_row + 1]) - 1
    return Region(start_row, end_row, cursor_row, start, min(end, len(text)))


_TOKEN = re.compile(r"\w+|\S")


def changed_fragment(unit: EditUnit) -> str:
    """The text a unit replaced, as whole tokens (with one token of context when it only inserted).

    ``iteritems(v`` for ``iteritems(v)`` -> ``v.items()``; ``call(a`` for ``call(a)`` -> ``call(a, b)``.
    """
    before = [(match.start(), match.end()) for match in _TOKEN.finditer(unit.before)]
    after = [match.group(0) for match in _TOKEN.finditer(unit.after)]
    words = [unit.before[start:end] for start, end in before]
    matcher = difflib.SequenceMatcher(a=words, b=after, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        first, last = (i1, i2) if i2 > i1 else (max(0, i1 - 1), min(len(before), i1 + 1))
        if last <= first:
            return ""
        return unit.before[before[first][0] : before[last - 1][1]]
    return ""


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def repeated_change(unit: EditUnit) -> tuple[str, str] | None:
    """What a unit replaced and with what, as whole words (``iteritems(v`` -> ``v.items(``).

    None when it only inserted, or the replaced text is too short to find again.
    """
    before, after = unit.before, unit.after
    head = common_prefix_length(before, after)
    tail = common_suffix_length(before, after, min(len(before), len(after)) - head)

    def cuts_word_at_start() -> bool:
        inside = [
            text[head]
            for text, end in ((before, len(before) - tail), (after, len(after) - tail))
            if head < end
        ]
        return head > 0 and _is_word(before[head - 1]) and any(_is_word(char) for char in inside)

    def cuts_word_at_end() -> bool:
        starts = ((before, head), (after, head))
        inside = [text[len(text) - tail - 1] for text, start in starts if len(text) - tail > start]
        return tail > 0 and _is_word(before[len(before) - tail]) and any(_is_word(char) for char in inside)

    while cuts_word_at_start():
        head -= 1
    while cuts_word_at_end():
        tail -= 1
    if head + tail == len(before):
        # Only inserted: anchor it on the word before and the character after (``self)`` -> ``self, x)``).
        while head > 0 and _is_word(before[head - 1]):
            head -= 1
        tail = max(0, tail - 1)
    old, new = before[head : len(before) - tail], after[head : len(after) - tail]
    if len(old.strip()) < 2 or not any(_is_word(char) for char in old):
        return None
    return old, new


def _whole(text: str, start: int, fragment: str) -> bool:
    end = start + len(fragment)
    before_ok = start == 0 or not (_is_word(fragment[0]) and _is_word(text[start - 1]))
    after_ok = end >= len(text) or not (_is_word(fragment[-1]) and _is_word(text[end]))
    return before_ok and after_ok


def _find_whole(text: str, fragment: str, start: int, end: int) -> int | None:
    found = text.find(fragment, start, end)
    while found >= 0:
        if _whole(text, found, fragment):
            return found
        found = text.find(fragment, found + 1, end)
    return None


def repeat_edit(text: str, units: Sequence[EditUnit], cursor: int) -> Edit | None:
    """The last unit's change made again at the next place that still reads as it did before it.

    The next such place after the cursor, else the first from the top; whole words only. This is the
    edit the user is most likely to make next after a rename or a changed call.
    """
    if not units:
        return None
    change = repeated_change(units[-1])
    if change is None:
        return None
    old, new = change
    site = _find_whole(text, old, cursor, len(text))
    if site is None:
        site = _find_whole(text, old, 0, cursor)
    return None if site is None else Edit(site, site + len(old), new)


def next_site(text: str, units: Sequence[EditUnit], cursor: int) -> int | None:
    """The offset of the next place that still reads as the last unit read before it, if any.

    Searched after the cursor first, then from the top (a rename's usages may be above it).
    """
    if not units:
        return None
    repeat = repeat_edit(text, units, cursor)
    if repeat is not None:
        return repeat.start
    fragment = changed_fragment(units[-1]).strip()
    if len(fragment) < 3 or not re.search(r"\w", fragment):
        return None  # too little to recognise the place by
    found = text.find(fragment, cursor)
    if found < 0:
        found = text.find(fragment, 0, cursor)
    return None if found < 0 else found


@attrs.frozen
class NextEditInputs:
    """Everything a next-edit prompt is made of, as plain data."""

    text: str
    cursor: int
    """Character offset of the cursor."""
    language: str | None
    path: str
    units: tuple[EditUnit, ...]
    tree: tree_sitter.Tree | None = None


@attrs.frozen
class PreparedPrompt:
    """The parts of a next-edit prompt: the region shown and the lines the answer is opened with."""

    region: Region
    shown: str
    """The region with the cursor marker."""
    opening: str
    """The answer's first lines: the region's lines above the cursor's (and the cursor's, when it is
    the line the user just edited)."""
    following: tuple[str, ...]
    """The region's lines after those: what the model rewrites."""
    before: str
    """The file's context before the region (outline and window)."""
    after: str
    """The file's context after the region."""
    diffs: tuple[str, ...]


def prepare(inputs: NextEditInputs, count_tokens: Callable[[str], int]) -> PreparedPrompt:
    """Choose the region and the file context around it (token budgets as completions use)."""
    text = inputs.text
    tree = inputs.tree
    if tree is None and inputs.language is not None:
        tree = parse(inputs.language, text)
    cursor_row = text.count("\n", 0, inputs.cursor)
    region = editable_region(text, tree, cursor_row)
    site = next_site(text, inputs.units, inputs.cursor)
    moved = site is not None and not region.start <= site <= region.end
    if site is not None and moved:
        # The last edit's pattern is still there further away: the region goes there (the user jumps).
        site_row = text.count("\n", 0, site)
        region = attrs.evolve(editable_region(text, tree, site_row, before=4, after=12), cursor_row=site_row)
    budget = ContextBudget(prefix_tokens=768, suffix_tokens=256, outline_tokens=256)
    head = assemble_file_context(text, tree, inputs.language, region.start, count_tokens, budget)
    tail = assemble_file_context(text, tree, inputs.language, region.end, count_tokens, budget)
    region_text = text[region.start : region.end]
    cursor_in_region = inputs.cursor - region.start
    if 0 <= cursor_in_region <= len(region_text):
        shown = region_text[:cursor_in_region] + CURSOR + region_text[cursor_in_region:]
    else:
        shown = region_text  # the cursor is elsewhere
    lines = region_text.split("\n")
    # The line of the last edit is done (the user's own change): the answer starts after it. On any
    # other line (the user moved to the next place) the model may change the cursor's line too.
    last = inputs.units[-1] if inputs.units else None
    edited = last is not None and last.start_row <= region.cursor_row <= last.start_row + last.after.count(
        "\n"
    )
    upto = region.cursor_row - region.start_row + (1 if edited else 0)
    opening = "".join(line + "\n" for line in lines[:upto])
    diffs = tuple(unit.diff(inputs.path or "untitled") for unit in inputs.units)
    return PreparedPrompt(region, shown, opening, tuple(lines[upto:]), head.prefix, tail.suffix, diffs)


def template_variables(inputs: NextEditInputs, prepared: PreparedPrompt) -> dict[str, Any]:
    """The variables of the ``next_edit`` templates."""
    return {
        "language": inputs.language or "text",
        "file_name": inputs.path or "untitled",
        "edits": list(prepared.diffs),
        "before": prepared.before,
        "region": prepared.shown,
        "region_zeta1": prepared.shown.replace(CURSOR, ZETA1_CURSOR),
        "after": prepared.after,
        "cursor": CURSOR,
        "region_start": REGION_START,
        "region_end": REGION_END,
    }


def text_prompt(text: str, opening: str) -> Callable[[ModelInfo, Tokenizer], PromptLayout]:
    """A raw-text prompt (the ``zeta`` style: the format Zeta was trained on), the answer opened too."""

    def build(info: ModelInfo, tok: Tokenizer) -> PromptLayout:
        body = tok.with_special(text) if text else []
        opened = tok(opening)
        tokens = (*info.bos, *body, *opened)
        pieces = (PromptPiece("prompt", len(info.bos) + len(body)), PromptPiece("answer-start", len(opened)))
        return PromptLayout(tokens, pieces, fim=False, prefill=opening)

    return build


def _unmarked(generated: str) -> str:
    return generated.replace(CURSOR, "").replace(ZETA1_CURSOR, "")


def _answer_lines(generated: str) -> tuple[list[str], bool]:
    """The rewritten lines in what the model wrote after the opening, and whether the answer ended."""
    for marker in ("```", REGION_END):
        index = generated.find(marker)
        if index >= 0:
            body = generated[:index]
            return body.split("\n")[:-1] if body.endswith("\n") or not body else body.split("\n"), True
    return generated.split("\n")[:-1], False  # the last line is not finished yet


@attrs.frozen
class NextEditStop:
    """Stops decoding once the rewrite has said what it changes (see the module docstring)."""

    following: tuple[str, ...]

    def check(self, generated: str) -> int | None:
        """The cut in ``generated``: after the lines that settle the prediction, else None."""
        lines, ended = _answer_lines(_unmarked(generated))
        if ended:
            return len(generated)
        changed = False
        matcher = difflib.SequenceMatcher(a=list(self.following), b=lines, autojunk=False)
        for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                changed = True
            elif changed and j2 - j1 >= RESYNC_ROWS:
                return _offset_after_lines(generated, j1 + RESYNC_ROWS)
        if not changed and len(lines) >= min(UNCHANGED_ROWS, len(self.following)):
            return _offset_after_lines(generated, len(lines))
        return None


def _offset_after_lines(text: str, count: int) -> int:
    offset = 0
    for _ in range(count):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset


def predicted_edits(prepared: PreparedPrompt, generated: str, finished: bool) -> list[Edit]:
    """The smallest edits that turn the region's lines after the cursor into the model's rewrite.

    ``finished``: the answer ended (closing fence, or the stop rule settled it); otherwise a change at
    the very end may be cut short and is not offered.
    """
    lines, ended = _answer_lines(_unmarked(generated) + ("" if generated.endswith("\n") else "\n"))
    following = list(prepared.following)
    matcher = difflib.SequenceMatcher(a=following, b=lines, autojunk=False)
    opcodes = matcher.get_opcodes()
    # Lines the model never got to are not deletions.
    if opcodes and opcodes[-1][0] == "delete" and opcodes[-1][2] == len(following):
        opcodes = opcodes[:-1]
    if opcodes and opcodes[-1][0] != "equal" and not (finished or ended):
        opcodes = opcodes[:-1]
    base = prepared.region.start + len(prepared.opening)
    starts = [base]
    for line in following:
        starts.append(starts[-1] + len(line) + 1)
    edits: list[Edit] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        old = "".join(line + "\n" for line in following[i1:i2])
        new = "".join(line + "\n" for line in lines[j1:j2])
        head = common_prefix_length(old, new)
        tail = common_suffix_length(old, new, min(len(old), len(new)) - head)
        start = starts[i1] + head
        edits.append(Edit(start, start + len(old) - head - tail, new[head : len(new) - tail]))
    return edits


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with ``edits`` (non-overlapping) applied."""
    for edit in sorted(edits, key=lambda edit: edit.start, reverse=True):
        text = text[: edit.start] + edit.new_text + text[min(edit.end, len(text)) :]
    return text


def undoes_recent_edit(text: str, edit: Edit, units: Sequence[EditUnit]) -> bool:
    """Whether ``edit`` only turns a recent unit's lines back into what they were before it."""
    edited = apply_edits(text, [edit])
    for unit in units:
        if unit.after and unit.after in text and unit.before in edited and unit.after not in edited:
            return True
    return False


def _errors(tree: tree_sitter.Tree | None) -> int:
    if tree is None or not tree.root_node.has_error:
        return 0
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        elif node.has_error:
            stack.extend(node.children)
    return count


def parse_acceptable(text: str, edited: str, language: str | None) -> bool:
    """An edit may not break a file that parses, and must make one that does not parse better."""
    if language is None:
        return True
    before, after = _errors(parse(language, text)), _errors(parse(language, edited))
    return after == 0 if before == 0 else after < before


def filter_edits(
    text: str, edits: Sequence[Edit], units: Sequence[EditUnit], language: str | None
) -> tuple[list[Edit], list[str]]:
    """The edits worth offering, and why the others were dropped."""
    kept: list[Edit] = []
    dropped: list[str] = []
    for edit in edits:
        if text[edit.start : edit.end] == edit.new_text:
            continue
        if undoes_recent_edit(text, edit, units):
            dropped.append("undoes a recent edit")
            continue
        if not parse_acceptable(text, apply_edits(text, [edit]), language):
            dropped.append("the file would not parse")
            continue
        kept.append(edit)
    return kept, dropped


def fence_opening(language: str | None) -> str:
    """The code fence the answer is opened with, before the region's lines."""
    return f"```{language or ''}\n"


def strip_fence(answer: str) -> str:
    """An answer without a leading code fence line (models that write one anyway)."""
    match = _FENCE.match(answer)
    return answer[match.end() :] if match else answer
