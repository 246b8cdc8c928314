"""The code a chat model means as the completion, out of what it actually wrote.

What the user sees: with ``completion.promptStyle`` ``chat``, ghost text that is only the missing code,
never the chat around it. A chat model answers in its own way: a reasoning block first (``<think>`` ...
``</think>``), the code in a fence (```` ```python ````), the line of the hole written again from its
start, the code after the hole copied once more at the end, the hole marker echoed. Each is removed
here; what is left goes through the same post-processing as any completion.

The answer is read whole, from the start of the assistant's turn: the text the server opened it with
(a fence and the cursor line's code before the cursor) followed by what the model wrote.
"""

from __future__ import annotations

import re

import attrs

from lsp_server.model_api import StopRule

_LEADING_THINK = re.compile(r"\s*<think>.*?</think>\n*", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"```[^\n`]*\n?")
_MAX_RESTATED_LINES = 20
_MIN_ANCHOR = 6
"""A line repeated from the prefix counts as restated context only from this many characters."""


def _without_reasoning(text: str) -> tuple[str, bool]:
    """``text`` without reasoning blocks; True while one is still open (nothing usable yet).

    A block before the answer goes with the line breaks after it; one in the middle of the code (a
    thinking model's tokens leaking into a completion) goes alone, keeping the code's own layout.
    """
    leading = _LEADING_THINK.match(text)
    if leading is not None:
        text = text[leading.end() :]
    text = _THINK.sub("", text)
    opened = text.find("<think>")
    if opened >= 0:
        return text[:opened], True
    return text.replace("</think>", ""), False


@attrs.frozen
class _Span:
    start: int
    """Where the code starts in the answer (after a fence line, or 0 without a fence)."""
    end: int | None
    """Where the closing fence starts (None: not written yet, or no fence)."""


def _code_span(answer: str) -> _Span:
    fence = _FENCE.search(answer)
    if fence is None:
        return _Span(0, None)
    start = fence.end()
    if "\n" not in fence.group(0):
        # a fence line not finished yet ("```pyth"): nothing of the code yet
        return _Span(len(answer), None)
    closing = answer.find("```", start)
    return _Span(start, None if closing < 0 else closing)


def _line_starts(code: str) -> list[int]:
    starts = [0]
    starts += [index + 1 for index, char in enumerate(code) if char == "\n"]
    return starts


def _restated_prefix(code: str, prefix: str) -> int:
    """How many characters at the start of ``code`` restate the code before the cursor.

    The answer starts with the hole's line from its start (the server opens it so; a model asked
    without that opening usually writes it too), often with lines above it, sometimes the whole file
    with a line changed on the way. In order: the longest run of the prefix's last lines that the code
    starts with (its first line may differ in indentation); else the cursor line's code where it
    appears at a line start; else, for a blank cursor line (a block's body), the nearest line above
    it that the code repeats: everything up to it is dropped.
    """
    lines = prefix.split("\n")[-_MAX_RESTATED_LINES:]
    cursor_line = lines[-1]
    for count in range(len(lines), 1, -1):
        tail = "\n".join(lines[-count:])
        stripped = tail.lstrip()
        if not stripped or "\n" not in stripped:
            continue
        if code.startswith(tail):
            return len(tail)
        body = code.lstrip(" \t")
        if body.startswith(stripped):
            return len(code) - len(body) + len(stripped)
    if code.startswith(cursor_line):
        return len(cursor_line)
    typed = cursor_line.strip()
    starts = _line_starts(code)
    if typed:
        for start in starts:
            line = code[start:]
            body = line.lstrip(" \t")
            if body.startswith(typed) and (start == 0 or len(typed) >= _MIN_ANCHOR):
                return start + len(line) - len(body) + len(typed)
        return 0
    for above in reversed(lines[:-1]):
        anchor = above.strip()
        if len(anchor) < _MIN_ANCHOR:
            continue
        for index, start in enumerate(starts[:-1]):
            end = starts[index + 1] - 1
            if code[start:end].strip() == anchor:
                after = starts[index + 1]
                return after + len(cursor_line) if code.startswith(cursor_line, after) else after
    return 0


def _restated_suffix(code: str, suffix: str) -> int:
    """Where ``code`` starts copying the code after the hole (its lines, at a line start); else len.

    The copy must go on as the suffix does for its next lines (the last one may be cut short, where
    the model ran out of tokens).
    """
    following = [line.rstrip() for line in suffix.split("\n")[1:] if line.strip()][:3]
    if not following:
        return len(code)
    lines = code.split("\n")
    offset = 0
    for index, line in enumerate(lines):
        if index > 0 and line.strip() and line.rstrip() == following[0]:
            rest = [later.rstrip() for later in lines[index:] if later.strip()][: len(following)]
            *whole, last = rest
            if whole == following[: len(whole)] and following[len(whole)].startswith(last):
                return offset
        offset += len(line) + 1
    return len(code)


def answer_code(answer: str, prefix: str, hole: str = "") -> tuple[str, int, bool]:
    """The code of a (partial) answer after the restated prefix, its offset, and whether it is finished.

    Finished: the closing fence is written, or the hole marker (a model that copies the marker has
    copied the code around it: what comes before the marker is its answer).
    """
    visible, thinking = _without_reasoning(answer)
    if thinking:
        return "", len(answer), False
    span = _code_span(visible)
    code = visible[span.start : span.end]
    finished = span.end is not None
    if hole and hole in code:
        code, finished = code[: code.index(hole)], True
    skip = _restated_prefix(code, prefix)
    # offsets are in ``visible``; reasoning blocks removed before the code do not shift the code's end
    shift = len(answer) - len(visible) if answer.endswith(visible[span.start :]) else 0
    return code[skip:], span.start + skip + shift, finished


def parse_chat_answer(answer: str, *, prefix: str, suffix: str, hole: str = "") -> str:
    """The completion a chat answer means: no reasoning, fences, restated prefix or suffix, or marker."""
    code, _, _ = answer_code(answer, prefix, hole)
    code = code[: _restated_suffix(code, suffix)]
    return code.rstrip("\n")


@attrs.frozen
class ChatAnswerStop:
    """Applies a completion's stop rule to the code inside a chat answer, and stops at its closing fence.

    ``check`` gets what the model wrote after ``opening`` (the text the answer was opened with) and
    returns the cut in that text.
    """

    inner: StopRule | None
    opening: str
    prefix: str
    hole: str = ""

    def check(self, generated: str) -> int | None:
        """The cut in ``generated``: the closing fence, or where the inner rule ends the code."""
        answer = self.opening + generated
        code, start, finished = answer_code(answer, self.prefix, self.hole)
        if self.inner is not None and code:
            cut = self.inner.check(code)
            if cut is not None:
                return max(0, start + cut - len(self.opening))
        if finished:
            return max(0, start + len(code) - len(self.opening))
        return None
