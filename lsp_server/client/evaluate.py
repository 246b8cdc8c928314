"""``qwen-lsp eval``: which prompt style (``completion.promptStyle``) completes the user's own code best.

What the user sees: the project is copied to a scratch directory (the user's tree is never written to; the
copy is removed at the end), holes are cut in its source files (``eval_holes``: the same ones for the same
``--seed``), and for each style one ``qwen-lsp serve`` answers an inline completion at every hole, as an
editor would ask. A progress line on stderr; then a table on stdout per style (holes, exact matches, mean
edit similarity, tests passed with ``--test-cmd``, median latency, empty answers; all holes, then line and
block holes apart) and a ``recommended: completion.promptStyle = "..."`` line saying why. ``--json`` prints
one JSON object instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_server.client.eval_holes import (
    Hole,
    HoleKind,
    SourceFile,
    cut_holes,
    edit_similarity,
    exact_match,
    sample_files,
)
from lsp_server.client.headless import EXIT_NO_RESULT, EXIT_RESULT, Outcome
from lsp_server.client.locations import language_id_for
from lsp_server.client.session import ServerError, ServerOptions, ServerSession, plain
from lsp_server.context.languages import detect_language

STYLES = ("auto", "fim", "chat", "prefix")
"""The values of ``completion.promptStyle``."""
DEFAULT_STYLES = ("fim", "chat", "prefix")
DEFAULT_HOLES = 20
DEFAULT_SEED = 0
TEST_TIMEOUT = 300.0
"""Seconds one run of ``--test-cmd`` may take (a completion that loops forever fails its hole)."""
MAX_FILE_BYTES = 200_000
SKIPPED_DIRS = frozenset(
    {"node_modules", "venv", "__pycache__", "build", "dist", "target", "site-packages", "_build"}
)
"""Directories left out of the scratch copy (besides hidden ones and ``*.egg-info``): environments and
build outputs, which are not the user's code."""
_KINDS: tuple[HoleKind, ...] = ("line", "block")


class EvalError(Exception):
    """The command cannot run as asked (a bad path or flag); the message says why."""


@attrs.frozen
class EvalRequest:
    """What to measure: the project, the styles, how many holes, the seed, the tests and the server."""

    path: Path
    styles: tuple[str, ...]
    holes: int
    seed: int
    test_cmd: str | None
    options: ServerOptions
    timeout: float


@attrs.define
class HoleResult:
    """One style's answer at one hole and its scores."""

    completion: str
    latency_ms: float
    reported_style: str
    exact: bool
    similarity: float
    passed: bool | None = None

    def data(self) -> dict[str, Any]:
        """The result as ``--json`` gives it."""
        return {
            "completion": self.completion,
            "exact": self.exact,
            "similarity": round(self.similarity, 4),
            "passed": self.passed,
            "latencyMs": round(self.latency_ms, 1),
            "reportedStyle": self.reported_style,
        }


def parse_styles(value: str) -> tuple[str, ...]:
    """``fim,chat,prefix`` as a tuple; EvalError names an unknown or repeated style."""
    styles = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    if not styles:
        raise EvalError("--styles is empty (e.g. --styles fim,chat,prefix)")
    for style in styles:
        if style not in STYLES:
            raise EvalError(f"--styles: unknown style {style!r} (choose from {', '.join(STYLES)})")
    if len(set(styles)) != len(styles):
        raise EvalError(f"--styles names a style twice: {value}")
    return styles


# --- the scratch copy and its sources ---------------------------------------------------------------------


def _skipped(name: str, path: Path) -> bool:
    if path.is_symlink():
        return False  # copied as a link; never followed, never written through
    if path.is_dir():
        return name.startswith(".") or name in SKIPPED_DIRS or name.endswith(".egg-info")
    return not path.is_file()  # sockets, pipes, devices


def copy_project(source: Path, target: Path) -> None:
    """Copy the project to ``target`` (a new directory), leaving out environments and build outputs."""
    avoid = target.resolve().parent

    def ignore(folder: str, names: list[str]) -> set[str]:
        base = Path(folder)
        return {
            name
            for name in names
            if _skipped(name, base / name) or (base / name).resolve() == avoid  # a scratch dir inside PATH
        }

    shutil.copytree(source, target, symlinks=True, ignore=ignore)


def _source_paths(root: Path) -> Iterator[str]:
    """Files under ``root`` (links not followed) in a language the server supports, relative, ``/``-joined."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            name
            for name in dirs
            if not (Path(folder) / name).is_symlink() and not _skipped(name, Path(folder) / name)
        )
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            if detect_language(language_id_for(path), str(path)) is not None:
                yield path.relative_to(root).as_posix()


def read_source(path: Path) -> str | None:
    """The text of a source file, or None when it is too big (over 200 KB), binary or not UTF-8."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def project_sources(root: Path, seed: int) -> list[SourceFile]:
    """The project's source files that holes may be cut in (a seeded sample of a big project)."""
    found = []
    for relative in sample_files(_source_paths(root), seed):
        path = root / relative
        text = read_source(path)
        language = detect_language(language_id_for(path), str(path))
        if text is not None and language is not None:
            found.append(SourceFile(relative, text, language))
    return found


# --- progress -----------------------------------------------------------------------------------------------


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, else one line every few steps."""

    def __init__(self, stream: IO[str], every: int = 5) -> None:
        self.stream = stream
        self.every = every
        self.tty = stream.isatty()
        self._drawn = False

    def update(self, label: str, done: int, total: int) -> None:
        """Show that ``done`` of ``total`` steps of ``label`` are finished."""
        text = f"qwen-lsp eval: {label} {done}/{total}"
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K")
            self._drawn = True
            if done == total:
                self.end()
        elif done == total or (done and done % self.every == 0):
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        """End a redrawn line (before other output on stderr)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def say(self, message: str) -> None:
        """A message of its own on stderr."""
        self.end()
        self.stream.write(f"qwen-lsp eval: {message}\n")
        self.stream.flush()


# --- completions --------------------------------------------------------------------------------------------


def style_options(options: ServerOptions, style: str) -> ServerOptions:
    """``options`` with ``completion.promptStyle`` set to ``style`` (over what ``--setting`` says)."""
    settings = {
        section: dict(values) if isinstance(values, dict) else values
        for section, values in options.settings.items()
    }
    completion = settings.get("completion")
    settings["completion"] = {**(completion if isinstance(completion, dict) else {}), "promptStyle": style}
    return attrs.evolve(options, settings=settings)


def _first_item(result: Any) -> tuple[str, dict[str, Any]]:
    """The first item's insertText and provenance (``command.arguments[1]``)."""
    if isinstance(result, types.InlineCompletionList):
        items = list(result.items)
    elif isinstance(result, list):
        items = result
    else:
        items = []
    if not items:
        return "", {}
    item = items[0]
    text = item.insert_text
    if isinstance(text, types.StringValue):
        text = text.value
    provenance: Any = {}
    command = item.command
    if command is not None and command.arguments and len(command.arguments) > 1:
        provenance = plain(command.arguments[1])
    return (text if isinstance(text, str) else ""), (provenance if isinstance(provenance, dict) else {})


class _Editor:
    """The open documents of one server, kept as an editor keeps them (whole-document sync)."""

    def __init__(self, session: ServerSession, root: Path) -> None:
        self.session = session
        self.root = root
        self.versions: dict[str, int] = {}

    def show(self, relative: str, text: str) -> str:
        """Open the file with ``text`` or change it to ``text``; its URI."""
        path = self.root / relative
        uri = path.as_uri()
        version = self.versions.get(uri)
        if version is None:
            self.session.open_document(uri, language_id_for(path), text)
            self.versions[uri] = 1
            return uri
        self.versions[uri] = version + 1
        self.session.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version + 1),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return uri


async def _ask(session: ServerSession, uri: str, hole: Hole, text: str) -> tuple[str, float, dict[str, Any]]:
    position = types.Position(line=hole.line, character=hole.utf16_character(text))
    started = time.perf_counter()
    result = await session.request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION,
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        ),
    )
    latency_ms = (time.perf_counter() - started) * 1000
    completion, provenance = _first_item(result)
    return completion, latency_ms, provenance


async def _run_style(
    request: EvalRequest,
    style: str,
    root: Path,
    holes: Sequence[Hole],
    texts: dict[str, str],
    progress: Progress,
) -> tuple[list[HoleResult], str | None]:
    """One server with ``style``: a completion at every hole; the results and the model's name."""
    session = ServerSession(style_options(request.options, style))
    timed_out = False
    try:
        await session.start()
        await asyncio.wait_for(session.initialize(root=root), request.timeout)
        info = await asyncio.wait_for(session.wait_for_model(), request.timeout)
        editor = _Editor(session, root)
        results = []
        progress.update(f"{style}: holes", 0, len(holes))
        for index, hole in enumerate(holes):
            text = texts[hole.file]
            shown = hole.without(text)
            uri = editor.show(hole.file, shown)
            completion, latency_ms, provenance = await asyncio.wait_for(
                _ask(session, uri, hole, shown), request.timeout
            )
            editor.show(hole.file, text)  # the user typed it back: later holes see the real file
            reported = provenance.get("promptStyle")
            results.append(
                HoleResult(
                    completion=completion,
                    latency_ms=latency_ms,
                    reported_style=reported if isinstance(reported, str) and reported else style,
                    exact=exact_match(hole.kind, hole.truth, completion),
                    similarity=edit_similarity(hole.kind, hole.truth, completion),
                )
            )
            progress.update(f"{style}: holes", index + 1, len(holes))
        return results, _model_name(info.get("model"))
    except TimeoutError:
        timed_out = True
        raise ServerError(
            f"no answer from the server ({style}) within {request.timeout:g} s (raise --timeout?)"
        ) from None
    except JsonRpcException as exc:
        raise ServerError(f"the server answered with an error: {exc}") from None
    finally:
        progress.end()
        await session.close(graceful=not timed_out)


def _model_name(model: Any) -> str | None:
    """The model's name from ``qwenLsp/stats`` (a dict with ``name``, or a plain string)."""
    if isinstance(model, dict):
        model = model.get("name")
    return model if isinstance(model, str) and model else None


# --- tests --------------------------------------------------------------------------------------------------


def run_test_command(command: str, cwd: Path, timeout: float = TEST_TIMEOUT) -> tuple[bool, str]:
    """Run ``command`` in a shell in ``cwd``: whether it exited 0, and the end of its output."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # a stale .pyc must not hide an edit
    process = subprocess.Popen(
        command,
        shell=True,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        output, _ = process.communicate()
        return False, _tail(output) + f"\n(timed out after {timeout:g} s)"
    return process.returncode == 0, _tail(output)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the test command and everything it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (OSError, AttributeError):
        process.kill()


def _tail(output: bytes, lines: int = 15) -> str:
    return "\n".join(output.decode("utf-8", errors="replace").rstrip().splitlines()[-lines:])


def _score_tests(
    request: EvalRequest,
    root: Path,
    holes: Sequence[Hole],
    texts: dict[str, str],
    results: dict[str, list[HoleResult]],
    progress: Progress,
) -> bool:
    """Run the tests with each completion in its hole; False (and no scores) when they fail untouched."""
    command = request.test_cmd
    assert command is not None
    progress.say(f"running the tests on the untouched copy: {command}")
    passed, output = run_test_command(command, root)
    if not passed:
        progress.say(
            "the tests fail on the untouched project, so completions are not scored by them:\n" + output
        )
        return False
    seen: dict[tuple[int, str], bool] = {}  # the same completion in the same hole: the same outcome
    total = len(holes) * len(results)
    done = 0
    for style_results in results.values():
        for index, (hole, result) in enumerate(zip(holes, style_results, strict=True)):
            key = (index, result.completion)
            if key not in seen:
                path = root / hole.file
                original = texts[hole.file].encode("utf-8")
                try:
                    path.write_bytes(hole.filled(texts[hole.file], result.completion).encode("utf-8"))
                    seen[key] = run_test_command(command, root)[0]
                finally:
                    path.write_bytes(original)
            result.passed = seen[key]
            done += 1
            progress.update("tests", done, total)
    return True


# --- report -------------------------------------------------------------------------------------------------


def summary(results: Sequence[HoleResult], tested: bool) -> dict[str, Any]:
    """Counts and means over some holes' results."""
    count = len(results)
    latencies = [result.latency_ms for result in results]
    return {
        "holes": count,
        "exact": sum(result.exact for result in results),
        "similarity": round(statistics.fmean(r.similarity for r in results), 4) if results else None,
        "testsPassed": sum(bool(result.passed) for result in results) if tested else None,
        "medianLatencyMs": round(statistics.median(latencies), 1) if latencies else None,
        "empty": sum(not result.completion.strip() for result in results),
    }


def _shown(name: str, data: dict[str, Any]) -> str:
    """One score of a style's summary as the recommendation quotes it."""
    if name == "similarity":
        return f"{data['similarity'] or 0.0:.2f}"
    return f"{data[name]}/{data['holes']}"


def _share(part: int | None, whole: int) -> float:
    return (part or 0) / whole if whole else 0.0


def recommend(summaries: dict[str, dict[str, Any]], tested: bool) -> tuple[str, str]:
    """The winning style and why: tests passed (if run), exact matches, mean similarity, then speed."""

    def key(style: str) -> tuple[float, float, float, float]:
        data = summaries[style]
        return (
            _share(data["testsPassed"], data["holes"]) if tested else 0.0,
            _share(data["exact"], data["holes"]),
            data["similarity"] or 0.0,
            -(data["medianLatencyMs"] or 0.0),
        )

    ranked = sorted(summaries, key=key, reverse=True)
    best = ranked[0]
    if len(ranked) == 1:
        return best, "the only style measured"
    others = ranked[1:]
    data = summaries[best]
    criteria = (
        ("testsPassed", "tests passed"),
        ("exact", "exact matches"),
        ("similarity", "mean edit similarity"),
    )
    for position, (name, words) in enumerate(criteria):
        if name == "testsPassed" and not tested:
            continue
        if key(best)[position] > key(ranked[1])[position]:
            against = ", ".join(f"{style} {_shown(name, summaries[style])}" for style in others)
            return best, f"{words} {_shown(name, data)}, against {against}"
    against = ", ".join(f"{style} {summaries[style]['medianLatencyMs']:.0f} ms" for style in others)
    return best, f"same scores, faster: median {data['medianLatencyMs']:.0f} ms, against {against}"


def _percent(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.0f}%)" if whole else "-"


def format_table(summaries: dict[str, dict[str, Any]]) -> str:
    """The per-style table (all holes, then each kind) as aligned text."""
    header = ("style", "holes", "kind", "exact", "similarity", "tests", "median ms", "empty")
    rows = [header]
    for style, data in summaries.items():
        for kind, part in [("all", data), *((k, data["byKind"][k]) for k in _KINDS)]:
            if kind != "all" and not part["holes"]:
                continue
            holes = part["holes"]
            rows.append(
                (
                    style if kind == "all" else "",
                    str(holes),
                    kind,
                    _percent(part["exact"], holes),
                    f"{part['similarity']:.2f}" if part["similarity"] is not None else "-",
                    f"{part['testsPassed']}/{holes}" if part["testsPassed"] is not None else "-",
                    f"{part['medianLatencyMs']:.0f}" if part["medianLatencyMs"] is not None else "-",
                    str(part["empty"]),
                )
            )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if column in (0, 2) else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _hole_data(hole: Hole) -> dict[str, Any]:
    return {
        "file": hole.file,
        "line": hole.line + 1,
        "column": hole.column + 1,
        "kind": hole.kind,
        "cut": hole.cut,
        "truth": hole.truth,
    }


def _report(
    request: EvalRequest,
    holes: Sequence[Hole],
    results: dict[str, list[HoleResult]],
    tested: bool,
    model: str | None,
) -> Outcome:
    summaries: dict[str, dict[str, Any]] = {}
    for style, style_results in results.items():
        data = summary(style_results, tested)
        data["byKind"] = {
            kind: summary([r for h, r in zip(holes, style_results, strict=True) if h.kind == kind], tested)
            for kind in _KINDS
        }
        data["reportedStyles"] = dict(Counter(result.reported_style for result in style_results))
        summaries[style] = data
    best, reason = recommend(summaries, tested)
    kinds = Counter(hole.kind for hole in holes)
    files = len({hole.file for hole in holes})
    lines = [
        f"{len(holes)} holes ({kinds['line']} line, {kinds['block']} block) in {files} files of "
        f"{request.path}, seed {request.seed}" + (f", model {model}" if model else ""),
        "",
        format_table(summaries).rstrip("\n"),
        "",
    ]
    for style, data in summaries.items():
        used = {name: count for name, count in data["reportedStyles"].items() if name != style}
        if used:
            told = ", ".join(f"{name} for {count}" for name, count in sorted(used.items()))
            lines.append(f"note: asked for {style}, the server used {told} of {data['holes']} holes")
    if request.test_cmd and not tested:
        lines.append("note: the tests fail on the untouched project; completions were not scored by them")
    lines.append(f'recommended: completion.promptStyle = "{best}" ({reason})')
    data_out = {
        "path": str(request.path),
        "seed": request.seed,
        "model": model,
        "testCommand": request.test_cmd,
        "tested": tested,
        "holes": [_hole_data(hole) for hole in holes],
        "styles": {
            style: {**summaries[style], "results": [result.data() for result in results[style]]}
            for style in results
        },
        "recommended": best,
        "reason": reason,
    }
    return Outcome(EXIT_RESULT, "\n".join(lines) + "\n", data_out)


# --- the command --------------------------------------------------------------------------------------------


async def _complete_all(
    request: EvalRequest, root: Path, holes: Sequence[Hole], texts: dict[str, str], progress: Progress
) -> tuple[dict[str, list[HoleResult]], str | None]:
    results: dict[str, list[HoleResult]] = {}
    model = None
    for style in request.styles:
        results[style], model = await _run_style(request, style, root, holes, texts, progress)
    return results, model


def evaluate(request: EvalRequest, progress: Progress | None = None) -> Outcome:
    """Run the whole evaluation in a scratch copy of ``request.path``; raise EvalError or ServerError."""
    source = request.path.expanduser()
    if not source.is_dir():
        raise EvalError(f"{request.path}: not a directory")
    progress = progress or Progress(sys.stderr)
    scratch = Path(tempfile.mkdtemp(prefix="qwen-lsp-eval-"))
    try:
        root = scratch / (source.resolve().name or "project")
        copy_project(source, root)
        sources = project_sources(root, request.seed)
        holes = cut_holes(sources, request.holes, request.seed)
        if not holes:
            progress.say(
                f"found no code to cut holes in under {request.path} (files in a language the server "
                "supports, under 200 KB, UTF-8)"
            )
            return Outcome(EXIT_NO_RESULT, "", {"path": str(request.path), "seed": request.seed, "holes": []})
        if len(holes) < request.holes:
            progress.say(f"only {len(holes)} holes could be cut (asked for {request.holes})")
        texts = {source_file.path: source_file.text for source_file in sources}
        results, model = asyncio.run(_complete_all(request, root, holes, texts, progress))
        tested = bool(request.test_cmd) and _score_tests(request, root, holes, texts, results, progress)
        return _report(request, holes, results, tested, model)
    finally:
        progress.end()
        shutil.rmtree(scratch, ignore_errors=True)
