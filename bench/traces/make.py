"""Turn a real source file into replayable editor traces (JSONL) for ``bench/latency.py``.

Run: ``.venv/bin/python bench/traces/make.py`` writes ``type.jsonl`` and ``edit-middle.jsonl`` next to this
file from ``colorsys.py`` of the Python standard library (166 lines; override with ``--source``, e.g.
``--source $(python -c "import textwrap; print(textwrap.__file__)") --start-line 171`` for a
longer file whose prompts fill the 1,536-token prefix budget).

Two traces:

* ``type``: the file is open with its first ``--start-line`` lines, and the next lines are typed at the
  end, character by character at human speed (5-8 chars/s, longer pauses after words and at line ends).
  Enter inserts the newline and the next line's indentation in one edit, as an editor's auto-indent does.
* ``edit-middle``: the whole file is open, except that a few real lines are missing from function bodies
  and a few real arguments from ``def`` lines; the trace jumps to each place and types the missing text
  back in.

Every event is one JSON object per line. The first is ``{"op": "open", ...}`` with the document as
opened; then ``{"op": "key", ...}`` events with the insertion position (0-based line, UTF-16 character),
the inserted ``text``, ``dt`` (seconds since the previous key; the replayer schedules keys relative to
each other so that an accepted suggestion can skip the keys it covers), ``t`` (nominal time) and
``remaining`` (the real text still to be typed at this place, starting with this key's text). Whether a
suggestion matches, and so whether the user accepts it (Tab) or types on, is decided by the replayer from
the model's actual suggestion and ``remaining``; the trace only fixes the target text and timing.
Cursor jumps are ``{"op": "move", ...}`` events (editors send nothing for them).
"""

from __future__ import annotations

import argparse
import colorsys
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = Path(colorsys.__file__).resolve()


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Timing:
    """Human typing rhythm: 5-8 chars/s with pauses at word boundaries and line ends."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def key(self, previous: str) -> float:
        dt = self.rng.uniform(0.125, 0.2)  # 5-8 chars/s
        if previous == "\n" or previous.startswith("\n"):
            dt += self.rng.uniform(0.6, 1.4)  # reading / thinking at a line start
        elif previous in " .,(:)[]=" and self.rng.random() < 0.35:
            dt += self.rng.uniform(0.2, 0.7)  # short pause between words
        return round(dt, 3)


def _keys_for(text: str, indent_after_newline: bool = True) -> list[str]:
    """Split text into keystrokes; Enter carries the following indentation (auto-indent)."""
    keys: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\n" and indent_after_newline:
            j = i + 1
            while j < len(text) and text[j] in " \t":
                j += 1
            # blank lines: the editor's auto-indent is removed again when Enter is pressed twice
            if j < len(text) and text[j] == "\n":
                keys.append("\n")
                i += 1
                continue
            keys.append(text[i:j])
            i = j
            continue
        keys.append(char)
        i += 1
    return keys


class Doc:
    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def insert(self, line: int, col: int, text: str) -> tuple[int, int]:
        current = self.lines[line]
        head, tail = current[:col], current[col:]
        parts = (head + text + tail).split("\n")
        self.lines[line : line + 1] = parts
        end_line = line + len(parts) - 1
        end_col = len(parts[-1]) - len(tail)
        return end_line, end_col

    def text(self) -> str:
        return "\n".join(self.lines)


def _emit_segment(
    events: list[dict[str, object]], doc: Doc, line: int, col: int, text: str, timing: Timing, state: dict
) -> None:
    keys = _keys_for(text)
    offset = 0
    for key in keys:
        dt = timing.key(state["prev"])
        state["t"] = round(state["t"] + dt, 3)
        events.append(
            {
                "op": "key",
                "i": state["i"],
                "t": state["t"],
                "dt": dt,
                "line": line,
                "character": utf16_len(doc.lines[line][:col]),
                "text": key,
                "remaining": text[offset:],
            }
        )
        state["i"] += 1
        state["prev"] = key
        line, col = doc.insert(line, col, key)
        offset += len(key)


def make_type(source: Path, start_line: int, max_keys: int, seed: int) -> list[dict[str, object]]:
    lines = source.read_text().split("\n")
    opened = "\n".join(lines[:start_line]) + "\n"
    keys_budget = max_keys
    typed_lines: list[str] = []
    for line in lines[start_line:]:
        cost = len(_keys_for("\n".join([*typed_lines, line]) + "\n"))
        if cost > keys_budget and typed_lines:
            break
        typed_lines.append(line)
    target = "\n".join(typed_lines) + "\n"
    # strip the leading indentation of the first line: it is typed as part of the previous Enter
    first_indent = len(target) - len(target.lstrip(" \t"))
    doc = Doc(opened + target[:first_indent])
    header = {
        "op": "open",
        "trace": "type",
        "source": str(source),
        "uri": f"file:///bench/{source.name}",
        "languageId": "python",
        "text": doc.text(),
        "line": len(doc.lines) - 1,
        "character": first_indent,
        "seed": seed,
        "note": f"typing lines {start_line + 1}-{start_line + len(typed_lines)} of {source.name} at the end",
    }
    events: list[dict[str, object]] = [header]
    state = {"t": 0.0, "i": 0, "prev": "\n"}
    _emit_segment(events, doc, len(doc.lines) - 1, first_indent, target[first_indent:], Timing(seed), state)
    return events[: max_keys + 1]


DEF_ARGS = re.compile(r"^(\s*def \w+\(.*?)(, [\w=*]+(?:=[^,()]+)?)(\):\s*)$")


def make_edit_middle(source: Path, sites: int, seed: int) -> list[dict[str, object]]:
    """Remove a few real lines/arguments from the middle of the file, then type them back in."""
    rng = random.Random(seed)
    lines = source.read_text().split("\n")
    n = len(lines)
    lo, hi = n // 5, (4 * n) // 5

    def balanced(text: str) -> bool:
        return all(
            text.count(a) == text.count(b) for a, b in ("()", "[]", "{}")
        ) and not text.rstrip().endswith(("\\", ",", " and", " or", "<=", "+"))

    def indent_of(text: str) -> int:
        return len(text) - len(text.lstrip(" "))

    candidates_line = [
        i
        for i in range(lo, hi)
        if lines[i].startswith("    ")
        and 12 <= len(lines[i].strip()) <= 45
        and not lines[i].strip().startswith(("#", '"', "'"))
        and balanced(lines[i])
        and balanced(lines[i - 1])
        and not lines[i - 1].strip().startswith(("#", '"', "'"))
        and (
            indent_of(lines[i - 1]) == indent_of(lines[i])
            or (lines[i - 1].rstrip().endswith(":") and indent_of(lines[i]) == indent_of(lines[i - 1]) + 4)
        )
    ]
    candidates_arg = [i for i in range(lo, hi) if DEF_ARGS.match(lines[i])]
    picks: list[tuple[int, str]] = []
    n_args = min(len(candidates_arg), max(1, sites // 3))
    for i in rng.sample(candidates_arg, n_args):
        picks.append((i, "arg"))
    used = {i for i, _ in picks}
    pool = [i for i in candidates_line if all(abs(i - j) > 8 for j in used)]
    rng.shuffle(pool)
    for i in pool:
        if len(picks) >= sites:
            break
        if all(abs(i - j) > 8 for j, _ in picks):
            picks.append((i, "line"))
    picks.sort()
    # build the opened text (without the picked text) and the segments (in a jumping order)
    opened_lines: list[str] = []
    segments_src: list[tuple[int, str, str]] = []
    for i, line in enumerate(lines):
        kind = dict(picks).get(i)
        if kind == "arg":
            m = DEF_ARGS.match(line)
            assert m is not None
            opened_lines.append(m.group(1) + m.group(3))
            segments_src.append((i, "arg", m.group(2)))
        elif kind == "line":
            segments_src.append((i, "line", "\n" + line))  # typed at the end of the line above
        else:
            opened_lines.append(line)
    doc = Doc("\n".join(opened_lines))
    header = {
        "op": "open",
        "trace": "edit-middle",
        "source": str(source),
        "uri": f"file:///bench/{source.name}",
        "languageId": "python",
        "text": doc.text(),
        "line": 0,
        "character": 0,
        "seed": seed,
        "note": f"{len(segments_src)} edits in the middle of {source.name} ("
        + ", ".join(f"{kind} at line {i + 1}" for i, kind, _ in segments_src)
        + ")",
    }
    events: list[dict[str, object]] = [header]
    state = {"t": 0.0, "i": 0, "prev": "\n"}
    timing = Timing(seed)
    order = list(range(len(segments_src)))
    rng.shuffle(order)  # jump around the file, not top to bottom
    done: set[int] = set()
    for k in order:
        i, kind, text = segments_src[k]
        # where is original line i now? count the removed lines above it that are not restored yet
        missing_above = sum(
            1 for j, (ii, kk, _) in enumerate(segments_src) if kk == "line" and ii < i and j not in done
        )
        if kind == "arg":
            row = i - missing_above
            col = len(doc.lines[row]) - len(DEF_ARGS.match(lines[i]).group(3))  # type: ignore[union-attr]
        else:
            row = i - 1 - missing_above
            col = len(doc.lines[row])
        state["t"] = round(state["t"] + timing.rng.uniform(1.5, 3.0), 3)  # find the place, click
        events.append(
            {"op": "move", "t": state["t"], "line": row, "character": utf16_len(doc.lines[row][:col])}
        )
        state["prev"] = "\n"
        _emit_segment(events, doc, row, col, text, timing, state)
        done.add(k)
    assert doc.text() == "\n".join(lines), "edits must restore the real file"
    return events


def write(path: Path, events: list[dict[str, object]]) -> None:
    with path.open("w") as out:
        for event in events:
            out.write(json.dumps(event) + "\n")
    keys = sum(1 for e in events if e["op"] == "key")
    print(f"{path}: {keys} keys, {events[-1].get('t', 0)} s nominal; {events[0]['note']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--start-line", type=int, default=39, help="type trace: lines already there")
    parser.add_argument("--max-keys", type=int, default=130, help="type trace: keystrokes at most")
    parser.add_argument("--sites", type=int, default=5, help="edit-middle trace: places edited")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    write(args.out / "type.jsonl", make_type(args.source, args.start_line, args.max_keys, args.seed))
    write(args.out / "edit-middle.jsonl", make_edit_middle(args.source, args.sites, args.seed))


if __name__ == "__main__":
    main()
