"""The projects of the code-completion quality benchmark: real, tested, pure-Python code nobody here wrote.

Four PyPI projects, fetched as pinned **sdists** (``pip download --no-binary :all: --no-deps``, verified by
sha256) and unpacked once into ``~/.cache/qwen-lsp/bench-quality/`` (override: ``$QWEN_LSP_QUALITY_CACHE``),
plus a fifth, ``cpython-stdlib``: a few pure-Python modules of the running interpreter's standard library,
copied into the same cache and tested by the interpreter's own ``test`` package (``python -m unittest
test.test_x``) with the copy first on ``PYTHONPATH``. Modules that the interpreter (or this venv's ``.pth``
files) imports at start-up cannot be shadowed by a copy and are not used; the oracle checks in every test run
that the module under test really came from the copy.

For every project, ``modules`` maps each source file eligible for holes (relative to the project tree) to
the tests that exercise it: pytest file paths (relative to the tree, which is the working directory of the
run) or unittest module names. ``bench/quality/holes.py`` narrows these per hole to the test classes or
functions that reference the code around the hole when that selection still discriminates.

Run: ``.venv/bin/python bench/quality/projects.py`` fetches everything and prints the trees.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/, for models.py
from models import cache_root, sha256_file

STDLIB = "cpython-stdlib"


@dataclass(frozen=True)
class Project:
    """One project: where its code comes from and which tests exercise which source file."""

    name: str
    version: str
    runner: str  # "pytest" or "unittest"
    modules: dict[str, tuple[str, ...]]
    sdist: str = ""  # file name of the pinned sdist on PyPI ("" for the standard library)
    sdist_sha256: str = ""
    requirement: str = ""  # what ``pip download`` is asked for
    copy: tuple[str, ...] = field(default_factory=tuple)  # stdlib: files and packages copied into the tree

    def import_name(self, file: str) -> str:
        """Dotted module name of a source file of the tree (``toolz/itertoolz.py`` -> ``toolz.itertoolz``)."""
        parts = file.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)


def _boltons_modules() -> dict[str, tuple[str, ...]]:
    extra = {
        "funcutils": (
            "tests/test_funcutils.py",
            "tests/test_funcutils_fb.py",
            "tests/test_funcutils_fb_py3.py",
        ),
        "statsutils": ("tests/test_statsutils.py", "tests/test_statsutils_histogram.py"),
        "tbutils": ("tests/test_tbutils.py", "tests/test_tbutils_parsed_exc.py"),
    }
    names = [
        "cacheutils", "dictutils", "formatutils", "funcutils", "ioutils", "iterutils", "jsonutils",
        "listutils", "mathutils", "namedutils", "queueutils", "setutils", "statsutils", "strutils",
        "tableutils", "tbutils", "timeutils", "urlutils",
    ]  # fmt: skip
    return {f"boltons/{name}.py": extra.get(name, (f"tests/test_{name}.py",)) for name in names}


# Rejected candidates (checked on Python 3.11 with only pytest): sortedcontainers 2.4.0 (the sdist has no
# tests), idna 3.20 (part of the suite needs hypothesis, and most of the code is generated data tables),
# six 1.17.0 (its suite passes, but almost all of the code is Python 2 compatibility shims), python-dateutil
# (not tried: its tests need six and more plugins than pytest).
PROJECTS: dict[str, Project] = {
    "more-itertools": Project(
        name="more-itertools",
        version="11.2.1",
        runner="pytest",
        requirement="more-itertools==11.2.1",
        sdist="more_itertools-11.2.1.tar.gz",
        sdist_sha256="cbf08fd0af284dc69718b9b76a8e6203df624d70209ea511e4219d350c856f63",
        modules={
            "more_itertools/more.py": ("tests/test_more.py",),
            "more_itertools/recipes.py": ("tests/test_recipes.py",),
        },
    ),
    "toolz": Project(
        name="toolz",
        version="1.2.0",
        runner="pytest",
        requirement="toolz==1.2.0",
        sdist="toolz-1.2.0.tar.gz",
        sdist_sha256="9667a038e9d6ecba37995e26cb2f59ec6420b6ad8dd9677de59db9b956b08490",
        modules={
            "toolz/itertoolz.py": ("toolz/tests/test_itertoolz.py",),
            "toolz/functoolz.py": ("toolz/tests/test_functoolz.py",),
            "toolz/dicttoolz.py": ("toolz/tests/test_dicttoolz.py",),
            "toolz/recipes.py": ("toolz/tests/test_recipes.py",),
            "toolz/_signatures.py": ("toolz/tests/test_signatures.py", "toolz/tests/test_inspect_args.py"),
            "toolz/sandbox/core.py": ("toolz/sandbox/tests/test_core.py",),
            "toolz/sandbox/parallel.py": ("toolz/sandbox/tests/test_parallel.py",),
        },
    ),
    "boltons": Project(
        name="boltons",
        version="26.2.0",
        runner="pytest",
        requirement="boltons==26.2.0",
        sdist="boltons-26.2.0.tar.gz",
        sdist_sha256="d39cfd15c1a1c3bd4d705c82252fa9edb8e4f5e8cc039f8e39afac7b1b47e92c",
        modules=_boltons_modules(),
    ),
    "inflection": Project(
        name="inflection",
        version="0.5.1",
        runner="pytest",
        requirement="inflection==0.5.1",
        sdist="inflection-0.5.1.tar.gz",
        sdist_sha256="1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417",
        modules={"inflection/__init__.py": ("test_inflection.py",)},
    ),
    STDLIB: Project(
        name=STDLIB,
        version=platform.python_version(),
        runner="unittest",
        # Not imported at start-up, nor by unittest/test.support themselves (so a broken copy cannot break
        # the harness), no C accelerator hiding the Python code, tests that take well under a few seconds.
        modules={
            "base64.py": ("test.test_base64",),
            "calendar.py": ("test.test_calendar",),
            "colorsys.py": ("test.test_colorsys",),
            "fractions.py": ("test.test_fractions",),
            "getopt.py": ("test.test_getopt",),
            "glob.py": ("test.test_glob",),
            "graphlib.py": ("test.test_graphlib",),
            "html/__init__.py": ("test.test_html",),
            "shlex.py": ("test.test_shlex",),
            "statistics.py": ("test.test_statistics",),
            "string.py": ("test.test_string",),
            "tomllib/_parser.py": ("test.test_tomllib",),
        },
        copy=(
            "base64.py",
            "calendar.py",
            "colorsys.py",
            "fractions.py",
            "getopt.py",
            "glob.py",
            "graphlib.py",
            "html",
            "shlex.py",
            "statistics.py",
            "string.py",
            "tomllib",
        ),
    ),
}


def cache_dir() -> Path:
    return cache_root("QWEN_LSP_QUALITY_CACHE", "~/.cache/qwen-lsp/bench-quality")


def tree_path(name: str) -> Path:
    """Where the project's pristine tree lives (it may not exist yet; see ``fetch``)."""
    project = PROJECTS[name]
    return cache_dir() / f"{project.name}-{project.version}"


def _drop_bytecode(root: Path) -> None:
    for cache in sorted(root.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)


def fetch(name: str) -> Path:
    """Download (pip), verify and unpack one project once; return its pristine tree (never modified)."""
    project = PROJECTS[name]
    target = tree_path(name)
    if target.is_dir():
        return target
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        unpacked = Path(tmp) / "tree"
        if project.name == STDLIB:
            stdlib = Path(sysconfig.get_paths()["stdlib"])
            unpacked.mkdir()
            for entry in project.copy:
                source = stdlib / entry
                if source.is_dir():
                    shutil.copytree(source, unpacked / entry, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(source, unpacked / entry)
        else:
            downloads = Path(tmp) / "sdist"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-binary",
                    ":all:",
                    "--no-deps",
                    "--quiet",
                    "-d",
                    str(downloads),
                    project.requirement,
                ],
                check=True,
            )
            archive = downloads / project.sdist
            actual = sha256_file(archive)
            if actual != project.sdist_sha256:
                raise RuntimeError(f"{name}: sdist sha256 {actual} != pinned {project.sdist_sha256}")
            with tarfile.open(archive) as tar:
                tar.extractall(Path(tmp) / "x", filter="data")
            (top,) = (Path(tmp) / "x").iterdir()
            top.rename(unpacked)
        _drop_bytecode(unpacked)
        missing = [file for file in project.modules if not (unpacked / file).is_file()]
        if missing:
            raise RuntimeError(f"{name}: missing source files {missing}")
        unpacked.rename(target)
    return target


if __name__ == "__main__":
    for requested in sys.argv[1:] or list(PROJECTS):
        print(f"{requested} {PROJECTS[requested].version}: {fetch(requested)}")
