"""Test oracle of the code-completion quality benchmark: does the project's test suite pass with a completion?

API (holes are the plain dicts of ``bench/quality/holes.json``, see ``bench/quality/holes.py``):

* ``prepare(project) -> Path``: the project's pristine tree, fetched and unpacked once (cached; never
  modified). The runner reads the original files and opens its editor workspace there.
* ``editor_view(hole) -> (text, line, column)``: the file with the hole's text removed and the cursor where
  it was (0-based line, column in code points).
* ``check(hole, completion, workdir=None, timeout=60.0) -> Outcome(passed, exact, seconds, output_tail)``:
  writes prefix + completion + suffix into a scratch copy of the project, runs the hole's tests there in a
  subprocess (``sys.executable`` of this venv, ``-p no:cacheprovider``, ``PYTHONDONTWRITEBYTECODE=1``, only
  pytest's own plugins, output to a file, the whole process group killed at the timeout; a timeout is a
  failure), then restores the file. ``workdir`` is the project tree the runner uses (``prepare(project)``,
  the default): the scratch copy is made once next to it, ``<tree>.scratch``, and reused (a lock file
  serialises checks of one project). Any other directory gets its scratch copy at ``workdir/<project>``.
  ``exact``: the completion equals the hole's text after right-stripping every line and dropping trailing
  empty lines of both.
* ``run_text(hole, text, workdir=None, timeout=60.0) -> (passed, seconds, output_tail)``: the same for a
  whole replacement text of the hole's file (used by ``holes.py`` to verify candidates).

Every run goes through a small driver that first imports the module under test and checks that it comes
from the scratch copy (exit status 3 otherwise, e.g. a stdlib module that was imported at start-up), then
runs ``pytest.main`` or ``unittest.main`` on the hole's test targets (``-x`` / ``--failfast``).

Self-check (expected text passes, empty string fails)::

    .venv/bin/python bench/quality/oracle.py --self-check            # every hole
    .venv/bin/python bench/quality/oracle.py --self-check --limit 10 # 10 holes, spread over the projects
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from projects import PROJECTS, fetch  # noqa: E402

HOLES = HERE / "holes.json"
TIMEOUT_S = 60.0
TAIL_CHARS = 4000
MEMORY_LIMIT = 4 << 30  # address space of a test run
FILE_LIMIT = 1 << 30  # largest file it may write (its output log included)

# Runs in the test subprocess as ``python -c DRIVER runner module root target...``.
DRIVER = r"""
import importlib, os, sys
runner, module, root, *targets = sys.argv[1:]
root = os.path.realpath(root)
if module in sys.modules:
    print(f"oracle: {module} was imported at interpreter start-up; a copy cannot shadow it")
    sys.exit(3)
try:
    loaded = importlib.import_module(module)
except BaseException:
    import traceback
    traceback.print_exc()
    sys.exit(2)
where = os.path.realpath(getattr(loaded, "__file__", None) or "")
if not where.startswith(root + os.sep):
    print(f"oracle: {module} was imported from {where}, not from the copy in {root}")
    sys.exit(3)
if runner == "pytest":
    import pytest
    sys.exit(pytest.main(["-p", "no:cacheprovider", "-q", "-x", *targets]))
import unittest
unittest.main(module=None, argv=["python -m unittest", "-q", "--failfast", *targets])
"""


@dataclass(frozen=True)
class Outcome:
    """The verdict on one completion."""

    passed: bool
    exact: bool
    seconds: float
    output_tail: str


def prepare(project: str) -> Path:
    """The project's pristine tree (fetched and unpacked once, then cached)."""
    return fetch(project)


def split_lines(text: str) -> list[str]:
    """Lines as editors and ``ast`` count them (only ``\\n`` ends a line), each with its newline."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def offset(text: str, line: int, column: int) -> int:
    """Index into ``text`` of a 0-based (line, column in code points) position."""
    start = 0
    for _ in range(line):
        start = text.index("\n", start) + 1
    return start + column


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def original_text(hole: Mapping[str, Any]) -> str:
    """The hole's file as shipped (verified against the hole's sha256)."""
    path = prepare(hole["project"]) / hole["file"]
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    if sha256_text(text) != hole["sha256"]:
        raise RuntimeError(f"{hole['id']}: {path} does not match the hole's sha256 (another version?)")
    return text


def _split(hole: Mapping[str, Any], text: str) -> tuple[str, str]:
    start = offset(text, hole["line"], hole["column"])
    end = start + len(hole["hole"])
    if text[start:end] != hole["hole"]:
        raise RuntimeError(
            f"{hole['id']}: the hole text is not at line {hole['line']}, column {hole['column']}"
        )
    return text[:start], text[end:]


def editor_view(hole: Mapping[str, Any]) -> tuple[str, int, int]:
    """The file with the hole removed, and the cursor (0-based line, column in code points) at the cut."""
    prefix, suffix = _split(hole, original_text(hole))
    return prefix + suffix, hole["line"], hole["column"]


def fill(hole: Mapping[str, Any], completion: str) -> str:
    """The original file with ``completion`` in place of the hole's text."""
    prefix, suffix = _split(hole, original_text(hole))
    return prefix + completion + suffix


def normalise(text: str) -> str:
    """Every line right-stripped, trailing empty lines dropped."""
    return "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n")


def is_exact(hole: Mapping[str, Any], completion: str) -> bool:
    return normalise(completion) == normalise(hole["hole"])


def command(hole: Mapping[str, Any]) -> list[str]:
    """The argv of the hole's test run (cwd: the scratch copy; PYTHONPATH: the same)."""
    test = hole["test"]
    return [sys.executable, "-c", DRIVER, test["runner"], test["module"], ".", *test["targets"]]


def scratch_dir(project: str, workdir: Path | None = None) -> Path:
    tree = prepare(project)
    if workdir is None or workdir.resolve() == tree.resolve():
        return tree.with_name(tree.name + ".scratch")
    return workdir / project


@contextlib.contextmanager
def _scratch(project: str, workdir: Path | None) -> Iterator[Path]:
    """The project's scratch copy, locked for the duration (made from the pristine tree on first use)."""
    scratch = scratch_dir(project, workdir)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    with open(scratch.with_name(scratch.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not scratch.is_dir():
            partial = scratch.with_name(scratch.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(prepare(project), partial, ignore=shutil.ignore_patterns("__pycache__"))
            partial.rename(scratch)
        yield scratch


def _limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def run_command(
    argv: list[str], cwd: Path, timeout: float, tail_chars: int = TAIL_CHARS
) -> tuple[int | None, float, str]:
    """Run a test command in its own process group; (exit status or None on timeout, seconds, tail)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "PYTHON", "COV_")) and key not in ("VIRTUAL_ENV",)
    }
    env.update(
        PYTHONPATH=str(cwd),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        PYTHONIOENCODING="utf-8",
    )
    with tempfile.TemporaryFile() as log:
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_limit_resources,
        )
        try:
            status: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        seconds = time.monotonic() - started
        size = log.seek(0, os.SEEK_END)
        log.seek(max(0, size - tail_chars * 4))
        tail = log.read().decode("utf-8", errors="replace")[-tail_chars:]
    if status is None:
        tail += f"\noracle: timed out after {timeout:.0f} s"
    return status, seconds, tail


def run_text(
    hole: Mapping[str, Any], text: str, workdir: Path | None = None, timeout: float = TIMEOUT_S
) -> tuple[bool, float, str]:
    """Write ``text`` as the hole's file in the scratch copy, run the hole's tests, restore the file."""
    with _scratch(hole["project"], workdir) as scratch:
        path = scratch / hole["file"]
        original = (prepare(hole["project"]) / hole["file"]).read_bytes()
        try:
            with path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            status, seconds, tail = run_command(command(hole), scratch, timeout)
        finally:
            path.write_bytes(original)
    return status == 0, seconds, tail


def check(
    hole: Mapping[str, Any], completion: str, workdir: Path | None = None, timeout: float = TIMEOUT_S
) -> Outcome:
    """Do the hole's tests pass with ``completion`` at the cursor? (and is it the original text?)"""
    passed, seconds, tail = run_text(hole, fill(hole, completion), workdir, timeout)
    return Outcome(passed=passed, exact=is_exact(hole, completion), seconds=seconds, output_tail=tail)


def load_holes(path: Path = HOLES) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    holes: list[dict[str, Any]] = data["holes"]
    return holes


def _spread(holes: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` holes, round-robin over projects and alternating kinds."""
    queues: dict[str, list[dict[str, Any]]] = {}
    for hole in sorted(holes, key=lambda h: (h["project"], h["kind"] != "single_line", h["id"])):
        queues.setdefault(hole["project"], []).append(hole)
    for project, queue in queues.items():
        singles = [h for h in queue if h["kind"] == "single_line"]
        multis = [h for h in queue if h["kind"] != "single_line"]
        mixed = [h for pair in zip(singles, multis, strict=False) for h in pair]
        queues[project] = mixed + singles[len(mixed) // 2 :] + multis[len(mixed) // 2 :]
    picked: list[dict[str, Any]] = []
    while len(picked) < limit and any(queues.values()):
        for queue in queues.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return picked


def self_check(limit: int) -> int:
    """Expected text passes and the empty string fails, for ``limit`` holes (0: all); print a summary."""
    holes = load_holes()
    chosen = _spread(holes, limit) if limit else holes
    summary: dict[str, dict[str, Any]] = {}
    bad = 0
    for index, hole in enumerate(chosen):
        expected = check(hole, hole["hole"])
        empty = check(hole, "")
        ok = expected.passed and expected.exact and not empty.passed
        row = summary.setdefault(hole["project"], {"holes": 0, "ok": 0, "seconds": []})
        row["holes"] += 1
        row["ok"] += ok
        row["seconds"].append(expected.seconds)
        print(
            f"[{index + 1}/{len(chosen)}] {hole['id']}: expected {'pass' if expected.passed else 'FAIL'} "
            f"({expected.seconds:.1f} s), empty {'PASS' if empty.passed else 'fail'} ({empty.seconds:.1f} s)"
            + ("" if ok else "  <-- WRONG"),
            file=sys.stderr,
            flush=True,
        )
        if not ok:
            bad += 1
            print(
                expected.output_tail[-1500:] if not expected.passed else empty.output_tail[-1500:],
                file=sys.stderr,
            )
    sys.stderr.flush()
    print("| project | holes | ok | median s per test run (expected text) |")
    print("|---|---|---|---|")
    for project, row in sorted(summary.items()):
        seconds = sorted(row["seconds"])
        print(f"| {project} | {row['holes']} | {row['ok']} | {seconds[len(seconds) // 2]:.2f} |")
    print(f"{len(chosen) - bad}/{len(chosen)} holes behave as recorded", flush=True)
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-check", action="store_true", help="expected text passes, empty string fails")
    parser.add_argument("--limit", type=int, default=0, help="only N holes, spread over the projects")
    parser.add_argument("--prepare", action="store_true", help="fetch and unpack every project")
    args = parser.parse_args()
    if args.prepare:
        for name in PROJECTS:
            print(f"{name}: {prepare(name)}")
    if args.self_check:
        return self_check(args.limit)
    if not args.prepare:
        parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
