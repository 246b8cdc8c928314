"""Turn a real source file into replayable editor traces (JSONL) for ``bench/latency.py``.

Run: ``.venv/bin/python bench/traces/make.py`` writes ``type.jsonl`` and ``edit-middle.jsonl`` next to this
file from ``colorsys.py`` of the Python standard library (166 lines; override with ``--source``, e.g.
``--source $(python -c "import textwrap; print(textwrap.__file__)") --start-line 171`` for a
longer file whose prompts fill the 1,536-token prefix budget).
``.venv/bin/python bench/traces/make.py --middle all`` writes the ``mid-*.jsonl`` traces (below) from the
files listed in ``MIDDLE_TRACES``; ``--middle NAME --source FILE [--at-line N]`` makes one from any file.

Two small traces:

* ``type``: the file is open with its first ``--start-line`` lines, and the next lines are typed at the
  end, character by character at human speed (5-8 chars/s, longer pauses after words and at line ends).
  Enter inserts the newline and the next line's indentation in one edit, as an editor's auto-indent does.
* ``edit-middle``: the whole file is open, except that a few real lines are missing from function bodies
  and a few real arguments from ``def`` lines; the trace jumps to each place and types the missing text
  back in.

And the ``mid-*`` traces, typed INSIDE large real files with code below the cursor (issue 13): a real
function or method of 12-25 lines in the middle third of a file of over 3,000 lines is removed, the file
is opened without it (the cursor on a line holding only the function's indentation, where the user
pressed Enter), and the function is typed back at the same human rhythm, Enter carrying the next line's
indentation. Four files from four projects: CPython 3.11 ``inspect.py``, mypy's ``mypy/build.py``, click's
``click/core.py`` and llama.cpp's ``src/llama-sampler.cpp`` (C++, from the llama-cpp-python 0.3.36 sdist
that ``bench/anchor.py`` builds). The pick is deterministic for a seed (``--seed``; ``--at-line`` names the
function instead). The header holds the document as opened once (``text``) and the text to type once
(``target``); each key carries its ``offset`` into ``target`` instead of ``remaining`` (the replayer
rebuilds it), so a trace is the file plus ~100 bytes a key and replays on any machine without the source.
Keys where the typist stops and reads the suggestion (``bench/latency.py --replay pause``) are marked
``"pause": "mid"`` (after a name or keyword in code, with text left on the line) or ``"pause": "eol"``
(after Enter and its auto-indent, at the start of the next line): every line end, plus mid-line stops on
seeded lines until there are ``--pauses`` (36) in all. ``mark_pauses`` is the rule; the replayer applies
it to traces made without marks.

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
import ast
import colorsys
import hashlib
import json
import random
import re
import sys
import sysconfig
from pathlib import Path
from typing import Any

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


# ------------------------------------------------------------------ typing inside large real files

#: The ``mid-*`` traces: where each source comes from (``stdlib``: this Python's standard library, which
#: must be 3.11; ``site``: an installed package; ``llama.cpp``: the tree vendored in the llama-cpp-python
#: sdist that bench/anchor.py builds), the sha256 of the version the committed trace was made from, the
#: function typed (by its first line; without ``at_line`` the seed picks one) and the seed of the rhythm.
MIDDLE_TRACES: dict[str, dict[str, Any]] = {
    "mid-inspect": {
        "project": "CPython 3.11.7 standard library",
        "where": ("stdlib", "inspect.py"),
        "sha256": "d55ac82f84e5c93953e9f5852ec255957e6c12f47d5cc0ea456447319da0f5af",
        "at_line": 1501,  # _too_many
        "seed": 13,
    },
    "mid-mypy": {
        "project": "mypy 2.4.1",
        "where": ("site", "mypy/build.py"),
        "sha256": "61e1295a840159ea32f78dcc2fe253c49be7d1915f47551ad74be91be76df641",
        "at_line": 3186,  # State.get_source
        "seed": 13,
    },
    "mid-click": {
        "project": "click 8.5.1",
        "where": ("site", "click/core.py"),
        "sha256": "fac4d7719a062666ae082f3bd2522e680c74e72deae4c4e6915644d924e2b8d8",
        "at_line": 1278,  # Command.format_help_text
        "seed": 13,
    },
    "mid-llama": {
        "project": "llama.cpp as vendored in llama-cpp-python 0.3.36",
        "where": ("llama.cpp", "src/llama-sampler.cpp"),
        "sha256": "991c4a1eb391bdb56fac75cf1c09b837e601b879f56b58058c14d28a9051a449",
        "at_line": 2700,  # llama_sampler_grammar_reset
        "language": "cpp",
        "seed": 13,
    },
}

LANGUAGES = {".py": "python", ".c": "c", ".h": "c", ".cpp": "cpp", ".cc": "cpp", ".hpp": "cpp"}
WORD = re.compile(r"\w")
WORD_END = re.compile(r"(?<!\w)[A-Za-z_]\w*$")  # a name or keyword ends here


def locate(where: tuple[str, str]) -> Path:
    """The file a ``MIDDLE_TRACES`` entry names, on this machine."""
    kind, relative = where
    if kind == "stdlib":
        if sys.version_info[:2] != (3, 11):
            sys.exit(f"{relative}: the trace comes from Python 3.11's standard library; run with 3.11")
        return Path(sysconfig.get_paths()["stdlib"]) / relative
    if kind == "site":
        for entry in sys.path:
            path = Path(entry) / relative
            if entry and path.is_file():
                return path
        sys.exit(f"{relative} is not on sys.path: run with the venv's python (.venv/bin/python)")
    sys.path.insert(0, str(HERE.parent))
    from anchor import ANCHOR_HOME, LLAMA_CPP_PYTHON_VERSION, _fetch_sdist_source

    tree = ANCHOR_HOME / "sdist" / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}" / "vendor" / "llama.cpp"
    if not tree.exists():
        tree = _fetch_sdist_source(ANCHOR_HOME)
    return tree / relative


def _python_functions(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line + 1, name) of every function and method (0-based rows), decorators included."""
    out: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, inside_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            is_function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and not inside_function:
                assert isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)]) - 1
                assert child.end_lineno is not None
                out.append((first, child.end_lineno, child.name))
            visit(child, inside_function or is_function)

    visit(ast.parse(text), False)
    return out


C_HEADER = re.compile(r"^(?:[A-Za-z_][\w:<>,*& ]*[\s*&])?([~\w:]+)\s*\(")


def _c_functions(lines: list[str]) -> list[tuple[int, int, str]]:
    """Top-level C/C++ function definitions: a header at column 0, the body closed by ``}`` at column 0."""
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(lines):
        match = C_HEADER.match(lines[i])
        if match is None or lines[i].rstrip().endswith(";"):
            i += 1
            continue
        j = i  # the header may span a few lines; it ends with the body's "{"
        while j < min(len(lines) - 1, i + 8) and not lines[j].rstrip().endswith(("{", ";")):
            j += 1
        k = j + 1  # the body ends at the next line that starts at column 0
        while k < len(lines) and not lines[k][:1].strip():
            k += 1
        if lines[j].rstrip().endswith("{") and k < len(lines) and lines[k].rstrip() == "}":
            out.append((i, k + 1, match.group(1)))
            i = k + 1
        else:
            i += 1
    return out


def _code_lines(text: str) -> int:
    """Lines that are code (not blank, not comments, not docstring-looking lines)."""
    count = 0
    in_doc = False
    for line in text.split("\n"):
        stripped = line.strip()
        quotes = stripped.count('"""') + stripped.count("'''")
        if in_doc or quotes:
            in_doc = in_doc != (quotes % 2 == 1)
            continue
        if stripped and not stripped.startswith(("#", "//", "/*", "*")):
            count += 1
    return count


def pick_function(
    lines: list[str], language: str, seed: int, min_lines: int, max_lines: int, at_line: int | None
) -> tuple[int, int, str]:
    """A real function of ``min_lines``-``max_lines`` lines in the file's middle third (seeded)."""
    text = "\n".join(lines)
    found = _python_functions(text) if language == "python" else _c_functions(lines)
    if at_line is not None:
        for first, end, name in found:
            if first <= at_line - 1 < end:
                return first, end, name
        sys.exit(f"no function at line {at_line}")
    n = len(lines)
    candidates = [
        (first, end, name)
        for first, end, name in found
        if min_lines <= end - first <= max_lines
        and n // 3 <= first
        and end <= (2 * n) // 3
        and "\t" not in "\n".join(lines[first:end])
        and "\n".join(lines[first:end]).isascii()
        and _code_lines("\n".join(lines[first:end])) >= min(10, min_lines)
    ]
    if not candidates:
        sys.exit(f"no function of {min_lines}-{max_lines} lines in the middle third")
    return random.Random(seed).choice(candidates)


def _scan(line: str, open_quote: str, language: str) -> str:
    """What the end of ``line`` is in: "" (code), the quote of an open string, or "#" (a comment)."""
    comment = "#" if language == "python" else "//"
    quote, i = open_quote, 0
    while i < len(line):
        if quote:
            if line.startswith(quote, i):
                i, quote = i + len(quote), ""
            else:
                i += 2 if line[i] == "\\" else 1
            continue
        if line.startswith(comment, i):
            return "#"
        quote = next((q for q in ('"""', "'''", '"', "'") if line.startswith(q, i)), "")
        i += max(1, len(quote))
    return quote


def mark_pauses(keys: list[dict[str, Any]], seed: int, pauses: int, language: str = "python") -> None:
    """Mark where the typist stops to read the suggestion (``"pause"``: ``"eol"`` or ``"mid"``).

    ``keys`` are key events with ``text`` and ``remaining`` (the real text still to type, from this key).
    Line ends: after every Enter that lands on a line with text to type (its auto-indent included).
    Mid-line: after the last character of a name or keyword, in code (not in a string or a comment),
    when more than two non-blank characters are left on that line; one such stop on seeded lines (two
    where lines run out) until there are ``pauses`` in all. Deterministic for a seed; every replayed side
    sees the same marks.
    """
    rng = random.Random(seed * 7919 + 1)
    for key in keys:
        key.pop("pause", None)
    eol = []
    mid_by_line: dict[int, list[int]] = {}
    line_no = 0
    typed = ""  # the current line as typed so far (from this segment's start)
    carried = ""  # a triple-quoted string left open by an earlier line
    for n, key in enumerate(keys[:-1]):
        text, remaining = str(key["text"]), str(key["remaining"])
        rest = remaining[len(text) :]
        if "\n" in text:
            for done in (typed + text).split("\n")[:-1]:
                carried = _scan(done, carried, language)
                carried = carried if len(carried) == 3 else ""
            typed = (typed + text).rsplit("\n", 1)[-1]
            line_no += text.count("\n")
            if rest and not rest.startswith("\n"):
                eol.append(n)
            continue
        typed += text
        this_line = rest.split("\n", 1)[0]
        if (
            len(text) == 1
            and WORD_END.search(typed)
            and not _scan(typed, carried, language)  # in code, not in a string or a comment
            and this_line
            and not WORD.match(this_line[0])
            and len(this_line.replace(" ", "")) > 2
        ):
            mid_by_line.setdefault(line_no, []).append(n)
    if len(eol) > pauses:
        eol = sorted(rng.sample(eol, pauses))
    for n in eol:
        keys[n]["pause"] = "eol"
    want = max(0, pauses - len(eol))
    lines = sorted(mid_by_line)
    rng.shuffle(lines)
    chosen: list[int] = []
    for round_ in range(2):
        for line in lines:
            options = [n for n in mid_by_line[line] if n not in chosen]
            if len(chosen) >= want or not options or (round_ and len(mid_by_line[line]) < 2):
                continue
            chosen.append(rng.choice(options))
    for n in chosen:
        keys[n]["pause"] = "mid"


def make_middle(
    name: str,
    source: Path,
    *,
    relative: str,
    project: str,
    language: str,
    seed: int,
    pauses: int,
    min_lines: int = 12,
    max_lines: int = 25,
    at_line: int | None = None,
) -> list[dict[str, object]]:
    """Remove a real function from the middle of a large file and type it back in (see the docstring)."""
    raw = source.read_bytes()
    lines = raw.decode().split("\n")
    first, end, function = pick_function(lines, language, seed, min_lines, max_lines, at_line)
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip(" "))]
    target = "\n".join(lines[first:end])[len(indent) :]
    doc = Doc("\n".join([*lines[:first], indent, *lines[end:]]))
    opened = doc.text()
    events: list[dict[str, object]] = []
    state = {"t": 0.0, "i": 0, "prev": "\n"}
    _emit_segment(events, doc, first, len(indent), target, Timing(seed), state)
    assert doc.text() == raw.decode(), "typing the function back must restore the real file"
    mark_pauses(events, seed, pauses, language)
    for event in events:  # the header holds the target once; a key holds its offset into it
        event["offset"] = len(target) - len(str(event.pop("remaining")))
    header = {
        "op": "open",
        "trace": name,
        "source": {
            "project": project,
            "file": relative,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "lines": len(lines),
        },
        "uri": f"file:///bench/{source.name}",
        "languageId": language,
        "line": first,
        "character": len(indent),
        "seed": seed,
        "function": function,
        "cut": [first + 1, end],
        "pauses": sum(1 for e in events if "pause" in e),
        "note": f"typing {function} (lines {first + 1}-{end}, {end - first} lines) back into {source.name} "
        f"({len(lines)} lines, {len(lines) - end} below it) from {project}",
        "text": opened,
        "target": target,
    }
    return [header, *events]


def write(path: Path, events: list[dict[str, object]]) -> None:
    with path.open("w") as out:
        for event in events:
            out.write(json.dumps(event) + "\n")
    keys = sum(1 for e in events if e["op"] == "key")
    pauses = sum(1 for e in events if "pause" in e)
    size = path.stat().st_size // 1024
    print(
        f"{path}: {keys} keys, {events[-1].get('t', 0)} s nominal, {pauses} pause marks, {size} KiB; "
        f"{events[0]['note']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", type=Path, default=None, help="default: colorsys.py, or the --middle table's"
    )
    parser.add_argument("--start-line", type=int, default=39, help="type trace: lines already there")
    parser.add_argument("--max-keys", type=int, default=130, help="type trace: keystrokes at most")
    parser.add_argument("--sites", type=int, default=5, help="edit-middle trace: places edited")
    parser.add_argument("--seed", type=int, default=None, help="default 4, or the --middle table's")
    parser.add_argument(
        "--middle",
        default=None,
        help="write mid-*.jsonl traces instead: 'all', names from MIDDLE_TRACES (comma list), or a new "
        "name with --source",
    )
    parser.add_argument("--at-line", type=int, default=None, help="middle: type the function at this line")
    parser.add_argument("--language", default=None, help="middle: languageId (default: from the suffix)")
    parser.add_argument("--pauses", type=int, default=36, help="middle: pause marks per trace")
    parser.add_argument("--min-lines", type=int, default=12, help="middle: function length at least")
    parser.add_argument("--max-lines", type=int, default=25, help="middle: function length at most")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    if args.middle is None:
        source = args.source or DEFAULT_SOURCE
        seed = 4 if args.seed is None else args.seed
        write(args.out / "type.jsonl", make_type(source, args.start_line, args.max_keys, seed))
        write(args.out / "edit-middle.jsonl", make_edit_middle(source, args.sites, seed))
        return
    names = list(MIDDLE_TRACES) if args.middle == "all" else args.middle.split(",")
    for name in names:
        spec = MIDDLE_TRACES.get(name)
        if args.source is not None:
            source, relative, project = args.source, args.source.name, args.source.name
        elif spec is not None:
            source, relative, project = locate(spec["where"]), spec["where"][1], spec["project"]
        else:
            sys.exit(f"{name}: not in MIDDLE_TRACES; give --source")
        language = args.language or (spec or {}).get("language") or LANGUAGES.get(source.suffix, "python")
        seed = args.seed if args.seed is not None else (spec or {}).get("seed", 4)
        if spec and spec.get("sha256") and args.source is None:
            actual = hashlib.sha256(source.read_bytes()).hexdigest()
            if actual != spec["sha256"]:
                print(f"warning: {source} is not the version the committed {name}.jsonl came from")
        events = make_middle(
            name,
            source,
            relative=relative,
            project=project,
            language=language,
            seed=seed,
            pauses=args.pauses,
            min_lines=args.min_lines,
            max_lines=args.max_lines,
            at_line=args.at_line if args.at_line is not None else (spec or {}).get("at_line"),
        )
        write(args.out / f"{name}.jsonl", events)


if __name__ == "__main__":
    main()
