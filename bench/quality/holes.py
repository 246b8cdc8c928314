"""Hole cutting for the code-completion quality benchmark, and the frozen hole set ``holes.json``.

Run::

    .venv/bin/python bench/quality/holes.py --stats                 # counts of the frozen set
    .venv/bin/python bench/quality/holes.py --rebuild               # regenerate holes.json (runs tests)
    .venv/bin/python bench/quality/holes.py --rebuild --projects toolz   # only these; keep the others

A hole is a piece of a real source file (``bench/quality/projects.py``) that the model must write back:

* ``single_line``: the rest of one statement line inside a function body (a simple statement, or the
  header of ``if``/``elif``/``for``/``while``/``with``; no comment, docstring, decorator or blank line, no
  trailing comment, the logical line on one physical line), cut at ``after_symbol`` (after ``=``, ``(`` or
  a keyword such as ``return``/``if``/``in``, and the space after it), ``mid_identifier`` (strictly inside a
  name or keyword: ``yi|eld x``, ``if ke|y in d:``; at least a third of the single-line holes) or
  ``token_boundary`` (the start of any token, the first one included). At least 8 non-space characters
  follow the cut; the hole ends before the newline.
* ``multi_line``: a whole block body of 2-10 lines: a function's body after its docstring, or the body of
  ``if``/``for``/``while``/``with``/``try``/``except`` inside a function. The cursor is on the body's first
  line right after its indentation (as an editor auto-indents after ``def f(...):`` Enter); the hole runs
  from there through the end of the body's last line, without its newline.

A candidate is kept only when it DISCRIMINATES, in a real test run: the tests pass on the original file
(which is prefix + hole + suffix by construction; checked), FAIL with the empty string in the hole, and FAIL
with a neutral stand-in that compiles (``pass`` for a statement or a body; for a header ``if False:``,
``elif False:``, or ``for _unused_ in ():`` for a loop, with `` pass`` after it for a one-line ``if x: y``),
so that the tests really exercise the code there and a syntax error is not the only thing that fails. The
tests of a hole are the source module's tests narrowed to the test classes/functions that reference the
top-level definition around the hole (through helpers of the test file), when that narrower selection
still discriminates; otherwise the module's whole test files. Holes are picked in a seeded random order with
at most 2 per function neighbourhood (a module-level function or a method, with the functions nested in it;
one of each kind, not overlapping) and a cap per file, until each project has its quota of each kind.

Record (``holes.json``: ``{"meta": ..., "projects": ..., "holes": [...]}``): ``id``, ``project``, ``file``
(inside the project tree), ``kind``, ``cut`` (single-line cut kind, ``block_start`` for multi-line),
``block`` (multi-line: ``def``/``if``/``for``/...), ``function`` (qualified name around the hole), ``line``
and ``column`` (0-based, code points), ``lines`` (lines in the hole), ``hole`` (the expected text),
``sha256`` (of the original file), ``test`` (``runner``, ``module`` imported and checked by the oracle,
``targets``, ``narrowed``), ``command`` (the same as a readable command line) and ``verified`` (passed and
seconds of the expected, empty and neutral runs; the build needs no re-run).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import math
import random
import sys
import time
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import oracle  # noqa: E402
from projects import PROJECTS, Project  # noqa: E402

HOLES = HERE / "holes.json"
SEED = 20261129
# (single_line, multi_line) per project.
TARGETS: dict[str, tuple[int, int]] = {
    "more-itertools": (14, 14),
    "toolz": (14, 14),
    "boltons": (14, 14),
    "cpython-stdlib": (14, 14),
    "inflection": (6, 5),  # the module has only 12 multi-line candidates
}
CUT_SHARES = {"mid_identifier": 0.36, "after_symbol": 0.34, "token_boundary": 0.30}
PER_NEIGHBOURHOOD = 2
MIN_REST = 8
KEYWORDS_AFTER = {
    "and", "as", "assert", "await", "del", "elif", "else", "for", "from", "if", "import", "in", "is",
    "lambda", "not", "or", "raise", "return", "while", "with", "yield",
}  # fmt: skip
SKIPPED_SIMPLE = (ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal)
HEADERS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)
BLOCKS: dict[type[ast.AST], str] = {
    ast.If: "if",
    ast.For: "for",
    ast.AsyncFor: "for",
    ast.While: "while",
    ast.With: "with",
    ast.AsyncWith: "with",
    ast.Try: "try",
    ast.ExceptHandler: "except",
}


@dataclass
class Candidate:
    """A possible hole before verification."""

    project: str
    file: str
    kind: str
    line: int  # 0-based
    chain: tuple[str, ...]  # enclosing class/function names, outermost first
    first: int  # 0-based line range covered (for overlap checks)
    last: int
    neighbourhood: tuple[str, ...]  # (file, module-level function) or (file, class, method)
    neutral: str  # the whole file with the neutral stand-in
    stand_in: str  # what replaces the line or the body in ``neutral``
    column: int = 0
    hole: str = ""
    block: str = ""  # multi-line: the kind of block
    cut: str = ""  # single-line: the kind of cut
    cuts: dict[str, list[int]] = field(default_factory=dict)  # single-line: cut kind -> columns

    @property
    def key(self) -> str:
        return f"{self.project}:{self.file}:{self.line}:{self.kind}"


# ------------------------------------------------------------------------------------ candidates


def _logical_lines(text: str) -> dict[int, list[tokenize.TokenInfo]]:
    """1-based line -> tokens of the logical line that starts and ends there without a comment."""
    result: dict[int, list[tokenize.TokenInfo]] = {}
    current: list[tokenize.TokenInfo] = []
    skip = {tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.NEWLINE:
            one_line = current and current[0].start[0] == token.start[0]
            if one_line and not any(t.type == tokenize.COMMENT for t in current):
                result[current[0].start[0]] = current
            current = []
        elif token.type == tokenize.COMMENT and not current:
            continue
        elif token.type not in skip:
            current.append(token)
    return result


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _walk_functions(tree: ast.Module) -> list[tuple[Function, tuple[str, ...], tuple[str, ...]]]:
    """Every function (methods and nested ones too) with its name chain and its neighbourhood."""
    found: list[tuple[Function, tuple[str, ...], tuple[str, ...]]] = []

    def visit(node: ast.AST, chain: tuple[str, ...], hood: tuple[str, ...], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, Function):
                inner = (*chain, child.name)
                # a module-level function or a method, with everything nested in it
                own = hood if in_function else inner
                found.append((child, inner, own))
                visit(child, inner, own, True)
            elif isinstance(child, ast.ClassDef):
                if not in_function:
                    visit(child, (*chain, child.name), hood, False)
            else:
                visit(child, chain, hood, in_function)

    visit(tree, (), (), False)
    return found


def _own_statements(function: Function) -> list[ast.stmt]:
    """Every statement of a function body at any depth, not entering nested functions or classes."""
    out: list[ast.stmt] = []

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            out.append(statement)
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            for name in ("body", "orelse", "finalbody"):
                visit(getattr(statement, name, []))
            for handler in getattr(statement, "handlers", []):
                visit(handler.body)

    visit(function.body)
    return out


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _replace_line(lines: list[str], index: int, new: str) -> str:
    return "".join([*lines[:index], new + "\n", *lines[index + 1 :]])


def file_candidates(project: str, file: str, text: str) -> list[Candidate]:
    """Every single-line and multi-line candidate of one source file."""
    tree = ast.parse(text)
    lines = oracle.split_lines(text)
    logical = _logical_lines(text)
    out: list[Candidate] = []
    seen_lines: set[int] = set()
    for function, chain, hood in _walk_functions(tree):
        statements = _own_statements(function)
        # multi-line: the function's body after its docstring, and the bodies of blocks inside it
        bodies: list[tuple[str, list[ast.stmt]]] = []
        body = function.body[1:] if function.body and _is_docstring(function.body[0]) else function.body
        bodies.append(("def", body))
        for statement in statements:
            kind = BLOCKS.get(type(statement))
            if kind is not None:
                bodies.append((kind, statement.body))  # type: ignore[attr-defined]
            for handler in getattr(statement, "handlers", []):
                bodies.append(("except", handler.body))
        for block, stmts in bodies:
            if not stmts:
                continue
            first, last = stmts[0], stmts[-1]
            assert last.end_lineno is not None
            start, end = first.lineno - 1, last.end_lineno - 1
            head = lines[start][: first.col_offset]
            if head.strip() or not 2 <= end - start + 1 <= 10:
                continue
            hole = "".join(lines[start : end + 1]).removesuffix("\n")[len(head) :]
            if len(hole.split()) < 3:
                continue
            prefix = "".join(lines[:start]) + head
            suffix = "".join(lines[end + 1 :])
            neutral = prefix + "pass" + ("\n" if lines[end].endswith("\n") else "") + suffix
            out.append(
                Candidate(
                    project, file, "multi_line", start, chain, start, end, (file, *hood), neutral, "pass",
                    column=len(head), hole=hole, block=block,
                )
            )  # fmt: skip
        # single-line: statement lines of this function (not of nested ones)
        for statement in statements:
            number = statement.lineno
            if number in seen_lines or number not in logical:
                continue
            tokens = logical[number]
            first_token = tokens[0].string
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if isinstance(statement, SKIPPED_SIMPLE) or _is_docstring(statement) or first_token == "@":
                continue
            if isinstance(statement, HEADERS):
                # a loop that never runs keeps ``break``/``continue`` valid; ``if x: y`` keeps a body on its
                # line; an ``else:`` may follow any of them
                if isinstance(statement, ast.For | ast.AsyncFor | ast.While):
                    stand_in = "for _unused_ in ():"
                else:
                    stand_in = "elif False:" if first_token == "elif" else "if False:"
                stand_in += " pass" if statement.body[0].lineno == number else ""
            elif statement.end_lineno == number:
                stand_in = "pass"
            else:
                continue
            index = number - 1
            indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
            content = lines[index].removesuffix("\n")
            cuts = _cuts(content, tokens)
            if not any(cuts.values()):
                continue
            seen_lines.add(number)
            neutral = _replace_line(lines, index, indent + stand_in)
            out.append(
                Candidate(
                    project, file, "single_line", index, chain, index, index, (file, *hood), neutral,
                    stand_in, cuts=cuts,
                )
            )  # fmt: skip
    return out


def _rest_ok(content: str, column: int) -> bool:
    return column < len(content) and len("".join(content[column:].split())) >= MIN_REST


def _cuts(content: str, tokens: list[tokenize.TokenInfo]) -> dict[str, list[int]]:
    cuts: dict[str, list[int]] = {name: [] for name in CUT_SHARES}
    for token in tokens:
        start, end = token.start[1], token.end[1]
        if token.type == tokenize.NAME and end - start >= 2:
            cuts["mid_identifier"].extend(c for c in range(start + 1, end) if _rest_ok(content, c))
        if (token.type == tokenize.OP and token.string in ("=", "(")) or (
            token.type == tokenize.NAME and token.string in KEYWORDS_AFTER
        ):
            column = end
            while column < len(content) and content[column] == " ":
                column += 1
            if (token.string == "(" or column > end) and _rest_ok(content, column):
                cuts["after_symbol"].append(column)
        if _rest_ok(content, start):
            cuts["token_boundary"].append(start)
    for name in cuts:
        cuts[name] = sorted(set(cuts[name]))
    return cuts


# ------------------------------------------------------------------------------------ test narrowing


COLLECT_UNITTEST = r"""
import inspect, json, sys, unittest
def walk(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from walk(test)
        else:
            yield test
seen = set()
for name in sys.argv[1:]:
    for test in walk(unittest.defaultTestLoader.loadTestsFromName(name)):
        cls = type(test)
        target = f"{cls.__module__}.{cls.__qualname__}"
        if not cls.__module__.startswith(name) or "." in cls.__qualname__ or target in seen:
            continue
        seen.add(target)
        print(json.dumps({"target": target, "file": inspect.getsourcefile(cls), "name": cls.__qualname__}))
"""


@dataclass
class Group:
    """A test class or test function that can be selected on its own."""

    target: str
    refs: set[str]


def _references(path: Path) -> dict[str, set[str]]:
    """Top-level name of a test file -> every name it uses, through the file's own helpers and bases."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    direct: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name.rsplit(".", 1)[-1]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names: set[str] = set()
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
                elif isinstance(sub, ast.Attribute):
                    names.add(sub.attr)
                elif isinstance(sub, ast.alias):
                    names.add(sub.name.rsplit(".", 1)[-1])
            direct[node.name] = names | {aliases[n] for n in names if n in aliases}
    closed: dict[str, set[str]] = {}
    for name in direct:
        todo, refs = [name], set[str]()
        while todo:
            current = todo.pop()
            for ref in direct.get(current, set()):
                if ref not in refs:
                    refs.add(ref)
                    if ref in direct:
                        todo.append(ref)
        closed[name] = refs
    return closed


def collect_groups(project: Project, file: str, tree: Path) -> list[Group]:
    """The selectable test groups of a source module, with the names each one references."""
    targets = project.modules[file]
    groups: list[Group] = []
    if project.runner == "pytest":
        argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *targets]
        status, _seconds, tail = _collect(argv, tree)
        names: dict[str, Path] = {}
        for row in tail.splitlines():
            if "::" in row and row.split("::", 1)[0] in targets:
                path, name = row.split("::")[:2]
                names.setdefault(f"{path}::{name.split('[', 1)[0]}", tree / path)
        for target, path in names.items():
            refs = _references(path).get(target.split("::")[1], set())
            groups.append(Group(target, refs))
    else:
        argv = [sys.executable, "-c", COLLECT_UNITTEST, *targets]
        status, _seconds, tail = _collect(argv, tree)
        for row in tail.splitlines():
            if row.startswith("{"):
                item = json.loads(row)
                refs = _references(Path(item["file"])).get(item["name"], set())
                groups.append(Group(item["target"], refs))
    if status != 0 or not groups:
        raise RuntimeError(f"{project.name}: collecting the tests of {file} failed:\n{tail[-3000:]}")
    return groups


def _collect(argv: list[str], tree: Path) -> tuple[int | None, float, str]:
    return oracle.run_command(argv, tree, 300, tail_chars=10_000_000)


def _module_aliases(text: str) -> dict[str, set[str]]:
    """Top-level name -> module-level aliases (``OMD = OrderedMultiDict``)."""
    aliases: dict[str, set[str]] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    aliases.setdefault(node.value.id, set()).add(target.id)
    return aliases


def narrowed(candidate: Candidate, groups: list[Group], aliases: dict[str, set[str]]) -> list[str] | None:
    names = {candidate.chain[0], *aliases.get(candidate.chain[0], set())}
    picked = sorted(group.target for group in groups if group.refs & names)
    if not picked or len(picked) == len(groups):
        return None
    return picked


# ------------------------------------------------------------------------------------ verification


class Verifier:
    """Runs candidates through the oracle, with the original-file runs cached per test selection."""

    def __init__(self, project: Project, workdir: Path) -> None:
        self.project = project
        self.workdir = workdir
        self.original: dict[tuple[str, tuple[str, ...]], tuple[bool, float, str]] = {}
        self.runs = 0

    def test_spec(self, file: str, targets: list[str] | tuple[str, ...], narrow: bool) -> dict[str, Any]:
        return {
            "runner": self.project.runner,
            "module": self.project.import_name(file),
            "targets": list(targets),
            "narrowed": narrow,
        }

    def run(self, file: str, spec: dict[str, Any], text: str, timeout: float) -> tuple[bool, float, str]:
        self.runs += 1
        pseudo = {"project": self.project.name, "file": file, "test": spec}
        return oracle.run_text(pseudo, text, self.workdir, timeout)

    def baseline(self, file: str, spec: dict[str, Any], text: str) -> tuple[bool, float, str]:
        key = (file, tuple(spec["targets"]))
        if key not in self.original:
            self.original[key] = self.run(file, spec, text, 600)
        return self.original[key]

    def discriminates(
        self, candidate: Candidate, spec: dict[str, Any], text: str
    ) -> dict[str, dict[str, Any]] | None:
        passed, seconds, tail = self.baseline(candidate.file, spec, text)
        if not passed:
            if "oracle: " in tail:  # the harness, not the tests: a module that cannot be shadowed, ...
                raise RuntimeError(tail[-2000:])
            return None
        try:  # the stand-in must be valid Python, so that failing means behaving differently
            compile(candidate.neutral, candidate.file, "exec")
        except SyntaxError:
            return None
        timeout = max(15.0, 4 * seconds)
        neutral = self.run(candidate.file, spec, candidate.neutral, timeout)
        if neutral[0]:
            return None
        prefix = text[: oracle.offset(text, candidate.line, candidate.column)]
        suffix = text[len(prefix) + len(candidate.hole) :]
        assert prefix + candidate.hole + suffix == text
        empty = self.run(candidate.file, spec, prefix + suffix, timeout)
        if empty[0]:
            return None
        return {
            "expected": {"passed": True, "seconds": round(seconds, 2)},
            "empty": {"passed": False, "seconds": round(empty[1], 2)},
            "neutral": {"passed": False, "seconds": round(neutral[1], 2), "text": candidate.stand_in},
        }


def _choose_cut(candidate: Candidate, counts: Counter[str], rng: random.Random) -> bool:
    """Pick the cut kind the single-line holes are shortest of, then a column of that kind."""
    total = sum(counts.values()) + 1
    options = [name for name, columns in candidate.cuts.items() if columns]
    if not options:
        return False
    name = max(options, key=lambda n: (CUT_SHARES[n] * total - counts[n], CUT_SHARES[n]))
    candidate.column = rng.choice(candidate.cuts[name])
    candidate.cut = name
    return True


def build_project(name: str, workdir: Path, seed: int = SEED) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Verified holes of one project and its metadata."""
    project = PROJECTS[name]
    tree = oracle.prepare(name)
    verifier = Verifier(project, workdir)
    texts: dict[str, str] = {}
    groups: dict[str, list[Group]] = {}
    aliases: dict[str, dict[str, set[str]]] = {}
    candidates: list[Candidate] = []
    meta: dict[str, Any] = {
        "version": project.version,
        "sdist": project.sdist,
        "sdist_sha256": project.sdist_sha256,
    }
    modules_meta: dict[str, Any] = {}
    for file in sorted(project.modules):
        with (tree / file).open(encoding="utf-8", newline="") as handle:
            text = handle.read()
        if "\r" in text:
            continue
        spec = verifier.test_spec(file, project.modules[file], False)
        passed, seconds, tail = verifier.baseline(file, spec, text)
        modules_meta[file] = {
            "tests": list(project.modules[file]),
            "passed": passed,
            "seconds": round(seconds, 2),
        }
        print(f"  {file}: whole tests {'pass' if passed else 'FAIL'} in {seconds:.1f} s", file=sys.stderr)
        if not passed:
            print(tail[-2000:], file=sys.stderr)
            continue
        texts[file] = text
        groups[file] = collect_groups(project, file, oracle.scratch_dir(name, workdir))
        aliases[file] = _module_aliases(text)
        candidates.extend(file_candidates(name, file, text))
    meta["modules"] = modules_meta
    rng = random.Random(f"{seed}:{name}")
    candidates.sort(key=lambda c: c.key)
    rng.shuffle(candidates)
    quota = dict(zip(("single_line", "multi_line"), TARGETS[name], strict=True))
    per_file = max(math.ceil(0.35 * sum(quota.values())), math.ceil(sum(quota.values()) / len(texts)) + 2)
    taken: Counter[str] = Counter()
    by_file: Counter[str] = Counter()
    cut_counts: Counter[str] = Counter()
    neighbourhoods: dict[tuple[str, ...], list[Candidate]] = {}
    holes: list[dict[str, Any]] = []
    tried = 0
    for candidate in candidates:
        if all(taken[k] >= quota[k] for k in quota):
            break
        if taken[candidate.kind] >= quota[candidate.kind] or by_file[candidate.file] >= per_file:
            continue
        near = neighbourhoods.get(candidate.neighbourhood, [])
        if len(near) >= PER_NEIGHBOURHOOD or any(
            other.kind == candidate.kind or not (other.last < candidate.first or candidate.last < other.first)
            for other in near
        ):
            continue
        text = texts[candidate.file]
        if candidate.kind == "single_line":
            if not _choose_cut(candidate, cut_counts, random.Random(f"{seed}:{candidate.key}")):
                continue
            start = oracle.offset(text, candidate.line, candidate.column)
            candidate.hole = text[start : text.index("\n", start)]
        tried += 1
        narrow = narrowed(candidate, groups[candidate.file], aliases[candidate.file])
        verified = None
        spec: dict[str, Any] = {}
        if narrow:
            spec = verifier.test_spec(candidate.file, narrow, True)
            verified = verifier.discriminates(candidate, spec, text)
        if verified is None:
            spec = verifier.test_spec(candidate.file, project.modules[candidate.file], False)
            verified = verifier.discriminates(candidate, spec, text)
        status = "kept" if verified else "dropped"
        print(
            f"  [{name} {taken['single_line']}+{taken['multi_line']}] {status} {candidate.kind} "
            f"{candidate.file}:{candidate.line + 1} ({'.'.join(candidate.chain)}) {candidate.hole[:50]!r}",
            file=sys.stderr,
            flush=True,
        )
        if verified is None:
            continue
        taken[candidate.kind] += 1
        by_file[candidate.file] += 1
        neighbourhoods.setdefault(candidate.neighbourhood, []).append(candidate)
        if candidate.kind == "single_line":
            cut_counts[candidate.cut] += 1
        holes.append(_record(candidate, spec, verified, text))
    meta["candidates"] = len(candidates)
    meta["tried"] = tried
    meta["test_runs"] = verifier.runs
    if any(taken[k] < quota[k] for k in quota):
        print(f"  {name}: only {dict(taken)} of {quota}", file=sys.stderr)
    return holes, meta


def _record(
    candidate: Candidate, spec: dict[str, Any], verified: dict[str, Any], text: str
) -> dict[str, Any]:
    single = candidate.kind == "single_line"
    command = "python -m " + (
        "pytest -p no:cacheprovider -q -x " if spec["runner"] == "pytest" else "unittest "
    )
    return {
        "id": f"{candidate.project}:{candidate.file}:{candidate.line}:{candidate.column}:{candidate.kind}",
        "project": candidate.project,
        "file": candidate.file,
        "kind": candidate.kind,
        "cut": candidate.cut if single else "block_start",
        "block": "" if single else candidate.block,
        "function": ".".join(candidate.chain),
        "line": candidate.line,
        "column": candidate.column,
        "lines": candidate.hole.count("\n") + 1,
        "hole": candidate.hole,
        "sha256": oracle.sha256_text(text),
        "test": spec,
        "command": command + " ".join(spec["targets"]),
        "verified": verified,
    }


# ------------------------------------------------------------------------------------ CLI


def stats(data: dict[str, Any]) -> str:
    holes = data["holes"]
    rows = [
        "| project | version | single_line | multi_line | mid_identifier | narrowed | median s (expected) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted({h["project"] for h in holes}):
        mine = [h for h in holes if h["project"] == name]
        kinds = Counter(h["kind"] for h in mine)
        seconds = sorted(h["verified"]["expected"]["seconds"] for h in mine)
        version = data["projects"][name]["version"]
        mid = sum(h["cut"] == "mid_identifier" for h in mine)
        narrow = sum(h["test"]["narrowed"] for h in mine)
        rows.append(
            f"| {name} | {version} | {kinds['single_line']} | {kinds['multi_line']} | {mid} | {narrow} | "
            f"{seconds[len(seconds) // 2]:.2f} |"
        )
    cuts = Counter(h["cut"] for h in holes if h["kind"] == "single_line")
    rows.append(f"\n{len(holes)} holes; single-line cuts: {dict(sorted(cuts.items()))}")
    return "\n".join(rows)


def write(data: dict[str, Any], path: Path) -> None:
    """holes.json: the metadata indented, then one hole per line (small, and diffs stay readable)."""
    head = {key: value for key, value in data.items() if key != "holes"}
    body = ",\n".join(json.dumps(hole, ensure_ascii=False) for hole in data["holes"])
    text = json.dumps(head, indent=1, ensure_ascii=False)
    path.write_text(text[:-2] + ',\n "holes": [\n' + body + "\n ]\n}\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="regenerate holes.json (runs the tests)")
    parser.add_argument("--projects", default="", help="with --rebuild: only these (comma-separated)")
    parser.add_argument("--stats", action="store_true", help="print the counts of holes.json")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=HOLES)
    args = parser.parse_args()
    if args.rebuild:
        names = args.projects.split(",") if args.projects else list(TARGETS)
        data: dict[str, Any] = {"meta": {}, "projects": {}, "holes": []}
        if args.projects and args.out.exists():
            data = json.loads(args.out.read_text(encoding="utf-8"))
            data["holes"] = [h for h in data["holes"] if h["project"] not in names]
        started = time.monotonic()
        for name in names:
            print(f"{name}:", file=sys.stderr, flush=True)
            holes, meta = build_project(name, oracle.prepare(name), args.seed)
            data["projects"][name] = meta
            data["holes"].extend(holes)
        data["holes"].sort(key=lambda h: (h["project"], h["file"], h["line"], h["column"], h["kind"]))
        data["meta"] = {
            "seed": args.seed,
            "python": sys.version.split()[0],
            "targets": TARGETS,
            "build_seconds": round(time.monotonic() - started, 1),
        }
        write(data, args.out)
        print(stats(data))
        return 0
    if args.stats or not args.rebuild:
        print(stats(json.loads(args.out.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
