"""Build the next-edit benchmark's targets from real edits: diffs between releases of real PyPI packages.

Run (network on first use: the sdists are cached outside the repository)::

    .venv/bin/python bench/next_edit/extract.py --out bench/next_edit/targets.json
    .venv/bin/python bench/next_edit/extract.py --scan                       # counts only, nothing written
    .venv/bin/python bench/next_edit/extract.py --scan --pairs toolz:0.11.2:0.12.0   # try other releases

Where the edits come from: for every pair of releases in ``PAIRS`` both sdists are fetched (``pip download
--no-deps --no-binary :all:``, checked against the pinned ``SDIST_SHA256``) into
``~/.cache/qwen-lsp/next-edit-sdists`` (override: ``$QWEN_LSP_NEXT_EDIT_CACHE``) and their ``.py`` files are
read straight from the archives, matched by path below the archive's top folder (``src/`` ignored).

How targets are chosen, per file changed between the two releases (at most ``MAX_FILE_LINES`` lines, UTF-8,
``\\n`` line ends, no characters outside the BMP, so UTF-16 columns equal code-point columns):

1. ``difflib`` line hunks with no context. Dropped: hunks of more than ``MAX_HUNK_LINES`` lines on either
   side; hunks whose code tokens do not change once comments are removed and string literals compared by
   value (whitespace, comments, quote style, ``u''`` prefixes); hunks entirely inside multi-line strings
   (docstrings); hunks that only add type annotations (``-> T``, ``: T``: what to add depends on each
   function, not on the edit repeated).
2. Each hunk becomes a token-level substitution: the old and new lines are split into code tokens
   (identifiers, numbers, string literals, operators) and ``difflib`` on the token lists gives the changed
   runs; the hunk's key is the sorted set of ``(old tokens, new tokens)`` runs. A key needs at least one
   identifier, number or string among its tokens.
3. Hunks of one file with the same key form a group (one change repeated across the file). A group of
   n >= 2 hunks gives examples k = 1 .. min(n - 1, ``MAX_PER_GROUP``): the first k hunks (file order) are
   the user's edits, hunk k + 1 is the target. At most ``MAX_PER_FILE`` examples per file (k = 1 of every
   group first, then k = 2, ...). Per release pair: at most ``MAX_PER_CHANGE`` targets with one and the
   same key (mass edits such as ``(object)`` removed would dominate), at most ``MAX_PER_PROJECT`` targets,
   taken round-robin over the files, and files of at most ``PROJECT_TEXT_BUDGET`` characters in all (the
   JSON stays under 3 MB).

How an example is stored: each hunk is one replacement edit, narrowed to the changed characters (the
common prefix and suffix of the hunk's old and new text removed, widened to whole words). The replayed
edits are listed in the order the user makes them, each range against the document after the previous
ones; the target's range is against the document after all of them (it never overlaps them: zero-context
hunks are at least a line apart), with ``old_text`` the text it replaces; ``cursor`` is the end of the last
replayed edit's inserted text and ``distance`` the lines from it to the target. The before text of each file
is stored once, in ``files``, keyed ``project/version/path`` (each target's ``file``). Kinds: ``rename``
(every run one identifier for another), ``argument`` (arguments or parameters added or removed: a pure
insertion or deletion with a comma), ``call`` (a run with a call ``name(`` or an attribute ``.name``: a
changed call pattern) and ``other``.

The output is deterministic for a given ``PAIRS`` list (sorted inputs, no clocks, no randomness).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import hashlib
import io
import itertools
import json
import re
import sys
import tarfile
import tokenize
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/, for models.py
from models import cache_root, pip_download, sha256_file

# (project, old version, new version): releases with larger refactors (Python 2 dropped, renames, type
# hints), where one change is often repeated across a file. Change the list, then DATASET_DATE, and rerun.
PAIRS: list[tuple[str, str, str]] = [
    ("attrs", "21.4.0", "22.1.0"),
    ("boltons", "23.1.1", "24.0.0"),
    ("click", "7.1.2", "8.0.0"),
    ("flask", "1.1.4", "2.0.0"),
    ("httpx", "0.17.1", "0.18.0"),
    ("httpx", "0.18.2", "0.19.0"),
    ("jinja2", "2.11.3", "3.0.0"),
    ("requests", "2.27.1", "2.28.0"),
    ("werkzeug", "1.0.1", "2.0.0"),
]
DATASET_DATE = "2026-12-06"

# sha256 of every sdist used (checked after download; a missing entry is reported, not trusted silently).
SDIST_SHA256: dict[str, str] = {
    "Flask-1.1.4.tar.gz": "0fbeb6180d383a9186d0d6ed954e0042ad9f18e0e8de088b2b419d526927d196",
    "Flask-2.0.0.tar.gz": "168e8507792cb8a3aa06afbe5d4d431d3e07c6318bc3893ceecb81aff09f848d",
    "Jinja2-2.11.3.tar.gz": "a6d58433de0ae800347cab1fa3043cebbabe8baa9d29e668f1c768cb87a333c6",
    "Jinja2-3.0.0.tar.gz": "ea8d7dd814ce9df6de6a761ec7f1cac98afe305b8cdc4aaae4e114b8d8ce24c5",
    "Werkzeug-1.0.1.tar.gz": "6c80b1e5ad3665290ea39320b91e1be1e0d5f60652b964a3070216de83d2e47c",
    "Werkzeug-2.0.0.tar.gz": "3389bbfe6d40c6dd25e6d3f974155163c8b3de5bbda6a89342d4ab93fae80ba0",
    "attrs-21.4.0.tar.gz": "626ba8234211db98e869df76230a137c4c40a12d72445c45d5f5b716f076e2fd",
    "attrs-22.1.0.tar.gz": "29adc2665447e5191d0e7c568fde78b21f9672d344281d0c6e1ab085429b22b6",
    "boltons-23.1.1.tar.gz": "d2cb2fa83cf2ebe791be1e284183e8a43a1031355156a968f8e0a333ad2448fc",
    "boltons-24.0.0.tar.gz": "7153feccaea1ff2e1472f68d4b57fadb796a2ee49d29f638f1c9cd8fb5ebd916",
    "click-7.1.2.tar.gz": "d2b5255c7c6349bc1bd1e59e08cd12acbbd63ce649f2588755783aa94dfb6b1a",
    "click-8.0.0.tar.gz": "7d8c289ee437bcb0316820ccee14aefcb056e58d31830ecab8e47eda6540e136",
    "httpx-0.17.1.tar.gz": "cc2a55188e4b25272d2bcd46379d300f632045de4377682aa98a8a6069d55967",
    "httpx-0.18.0.tar.gz": "46cfb242ae6b85c3f21f7774cb42a465acdf73741e49f6746ab481f16d0e0590",
    "httpx-0.18.2.tar.gz": "9f99c15d33642d38bce8405df088c1c4cfd940284b4290cacbfb02e64f4877c6",
    "httpx-0.19.0.tar.gz": "92ecd2c00c688b529eda11cedb15161eaf02dee9116712f621c70d9a40b2cdd0",
    "requests-2.27.1.tar.gz": "68d7c56fd5a8999887728ef304a6d12edc7be74f1cfa47714fc8b414525c9a61",
    "requests-2.28.0.tar.gz": "d568723a7ebd25875d8d1eaf5dfa068cd2fc8194b2e483d7b1f7c81918dbec6b",
}

MAX_FILE_LINES = 3000
MAX_HUNK_LINES = 3
MAX_PER_GROUP = 3
MAX_PER_FILE = 6
MAX_PER_PROJECT = 30
MAX_PER_CHANGE = 4  # targets per project with one and the same substitution (e.g. ``(object)`` removed)
PROJECT_TEXT_BUDGET = 260_000  # characters of before-text per project (keeps targets.json near 3 MB)

HERE = Path(__file__).resolve().parent
TOKEN = re.compile(
    r"""(?x)
    [rRbBuUfF]{0,2}(?:\"\"\"|''')   # a triple-quote opener or closer (contents are matched word by word)
    | [rRbBuUfF]{0,2}"(?:\\.|[^"\\\n])*"
    | [rRbBuUfF]{0,2}'(?:\\.|[^'\\\n])*'
    | \#.*
    | \w+
    | \*\*=?|//=?|->|:=|[-+*/%&|^@<>=!]=|<<=?|>>=?
    | \S
    """
)
WORD = re.compile(r"\w")
IDENT = re.compile(r"[^\W\d]\w*")


def cache_dir() -> Path:
    return cache_root("QWEN_LSP_NEXT_EDIT_CACHE", "~/.cache/qwen-lsp/next-edit-sdists")


def sdist(project: str, version: str) -> Path:
    """The project's sdist for ``version``, downloaded once with pip into the cache."""
    folder = cache_dir() / f"{project}-{version}"
    found = sorted(p for p in folder.glob("*") if p.name.endswith((".tar.gz", ".zip", ".tar.bz2")))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        pip_download(folder, f"{project}=={version}", options=("--no-binary", ":all:", "--quiet"))
        found = sorted(p for p in folder.glob("*") if p.name.endswith((".tar.gz", ".zip", ".tar.bz2")))
    if len(found) != 1:
        raise SystemExit(f"{project} {version}: expected one sdist in {folder}, found {found}")
    return found[0]


def check_hash(archive: Path) -> str:
    actual = sha256_file(archive)
    expected = SDIST_SHA256.get(archive.name)
    if expected is None:
        sys.stderr.write(f"note: no pinned sha256 for {archive.name}: {actual}\n")
    elif expected != actual:
        raise SystemExit(f"{archive.name}: sha256 {actual} != pinned {expected}")
    return actual


def canonical(path: str) -> str:
    """The path below the archive's top folder, without a leading ``src/`` (it moved between releases)."""
    inner = path.split("/", 1)[1] if "/" in path else path
    return inner.removeprefix("src/")


def usable(text: str) -> bool:
    if "\r" in text or any(ord(ch) > 0xFFFF for ch in text):
        return False
    return text.count("\n") + 1 <= MAX_FILE_LINES


def read_sources(archive: Path) -> dict[str, tuple[str, str]]:
    """``{canonical path: (path below the top folder, text)}`` of the archive's usable ``.py`` files."""
    raw: dict[str, bytes] = {}
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for name in zipped.namelist():
                if name.endswith(".py"):
                    raw[name] = zipped.read(name)
    else:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith(".py"):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        raw[member.name] = handle.read()
    sources: dict[str, tuple[str, str]] = {}
    for name in sorted(raw):
        try:
            text = raw[name].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if usable(text):
            sources[canonical(name)] = (name.split("/", 1)[1] if "/" in name else name, text)
    return sources


# ----------------------------------------------------------------------------------------- tokens


def code_tokens(text: str) -> list[str]:
    """Code tokens of a few lines (comments dropped); strings stay whole tokens."""
    return [t for t in TOKEN.findall(text) if not t.startswith("#")]


def style_free(tokens: list[str]) -> list[str]:
    """Tokens with every plain string literal replaced by its value (quote style and ``u`` prefix gone)."""
    out = []
    for token in tokens:
        prefix = token[: len(token) - len(token.lstrip("rRbBuUfF"))]
        if token[-1:] in "\"'" and len(token) >= 2 and "f" not in prefix.lower():
            with contextlib.suppress(ValueError, SyntaxError):
                token = repr(ast.literal_eval(token))
        out.append(token)
    return out


def annotation_only(key: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]) -> bool:
    """Whether every run is a type annotation added (``-> T`` or ``: T``): what to add depends on the code."""
    return all(not old and new and new[0] in ("->", ":") for old, new in key)


def substitution(old: str, new: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """The sorted set of changed token runs ``(old tokens, new tokens)`` between two texts."""
    a, b = code_tokens(old), code_tokens(new)
    runs = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            runs.add((tuple(a[i1:i2]), tuple(b[j1:j2])))
    return tuple(sorted(runs))


def meaningful(key: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]) -> bool:
    return any(WORD.search(t) or t[-1:] in "\"'" for old, new in key for t in old + new)


def kind(key: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]) -> str:
    """rename / argument / call / other (see the module docstring)."""
    if all(len(o) == 1 and len(n) == 1 and IDENT.fullmatch(o[0]) and IDENT.fullmatch(n[0]) for o, n in key):
        return "rename"
    if any((not old or not new) and "," in (old or new) for old, new in key):
        return "argument"
    for old, new in key:
        for side in (old, new):
            pairs = itertools.pairwise(side)
            if any((IDENT.fullmatch(a) and b == "(") or (a == "." and IDENT.fullmatch(b)) for a, b in pairs):
                return "call"
    return "other"


def doc_lines(text: str) -> set[int]:
    """0-based lines strictly inside or on a multi-line string token (docstrings and the like)."""
    lines: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                lines.update(range(token.start[0] - 1, token.end[0]))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return lines


# ----------------------------------------------------------------------------------------- hunks


@dataclass
class Hunk:
    """One zero-context hunk, narrowed to the changed characters of the old file."""

    start: int  # offset in the old file
    end: int
    old_text: str
    new_text: str
    line: int  # first old line of the hunk (0-based)
    key: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]


def narrow(old: str, new: str) -> tuple[int, int, int]:
    """Common prefix and suffix lengths of two texts, shortened so the edit covers whole words.

    Returns (prefix, old suffix start, new suffix start) offsets into ``old`` / ``new``.
    """
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1

    def word(ch: str) -> bool:
        return ch.isalnum() or ch == "_"

    # Widen to whole words: back while the char before the edit and the first of it are in one word.
    while (
        prefix > 0
        and word(old[prefix - 1])
        and (
            (prefix < len(old) - suffix and word(old[prefix]))
            or (prefix < len(new) - suffix and word(new[prefix]))
        )
    ):
        prefix -= 1
    while (
        suffix > 0
        and word(old[len(old) - suffix])
        and (
            (len(old) - suffix > prefix and word(old[len(old) - suffix - 1]))
            or (len(new) - suffix > prefix and word(new[len(new) - suffix - 1]))
        )
    ):
        suffix -= 1
    return prefix, len(old) - suffix, len(new) - suffix


def hunks(old_text: str, new_text: str) -> list[Hunk]:
    """The usable hunks of a file's change, in file order."""
    old_lines = old_text.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    offsets = [0]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))
    old_docs, new_docs = doc_lines(old_text), doc_lines(new_text)
    found: list[Hunk] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or i2 - i1 > MAX_HUNK_LINES or j2 - j1 > MAX_HUNK_LINES:
            continue
        old, new = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if style_free(code_tokens(old)) == style_free(code_tokens(new)):
            continue  # whitespace, comments or string quoting only
        if set(range(i1, i2)) <= old_docs and set(range(j1, j2)) <= new_docs:
            continue  # inside docstrings
        key = substitution(old, new)
        if not key or not meaningful(key) or annotation_only(key):
            continue
        prefix, old_end, new_end = narrow(old, new)
        found.append(
            Hunk(
                start=offsets[i1] + prefix,
                end=offsets[i1] + old_end,
                old_text=old[prefix:old_end],
                new_text=new[prefix:new_end],
                line=i1,
                key=key,
            )
        )
    return found


# ----------------------------------------------------------------------------------------- positions


def position(text: str, offset: int) -> dict[str, int]:
    """0-based line and UTF-16 character of a code-point offset."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return {"line": line, "character": len(text[start:offset].encode("utf-16-le")) // 2}


def example(text: str, replayed: list[Hunk], target: Hunk) -> dict[str, Any]:
    """The replayed edits (each against the document after the previous ones) and the target."""
    edits: list[dict[str, Any]] = []
    delta = 0
    document = text
    cursor = 0
    for hunk in replayed:  # file order: every earlier edit is above the next one
        start, end = hunk.start + delta, hunk.end + delta
        assert document[start:end] == hunk.old_text
        edits.append(
            {
                "range": {"start": position(document, start), "end": position(document, end)},
                "text": hunk.new_text,
            }
        )
        document = document[:start] + hunk.new_text + document[end:]
        delta += len(hunk.new_text) - len(hunk.old_text)
        cursor = start + len(hunk.new_text)
    start, end = target.start + delta, target.end + delta
    assert document[start:end] == target.old_text and start >= cursor
    cursor_at = position(document, cursor)
    begin = position(document, start)
    return {
        "edits": edits,
        "cursor": cursor_at,
        "target": {
            "range": {"start": begin, "end": position(document, end)},
            "text": target.new_text,
            "old_text": target.old_text,
        },
        "distance": begin["line"] - cursor_at["line"],
    }


def file_examples(old_text: str, new_text: str) -> list[tuple[int, list[Hunk], Hunk]]:
    """``(k, replayed hunks, target hunk)`` of one file, capped (k = 1 of every group first, ...)."""
    groups: dict[Any, list[Hunk]] = defaultdict(list)
    for hunk in hunks(old_text, new_text):
        groups[hunk.key].append(hunk)
    repeated = sorted((g for g in groups.values() if len(g) >= 2), key=lambda g: (g[0].start, len(g)))
    picked: list[tuple[int, list[Hunk], Hunk]] = []
    for k in range(1, MAX_PER_GROUP + 1):
        for group in repeated:
            if k < len(group) and len(picked) < MAX_PER_FILE:
                picked.append((k, group[:k], group[k]))
    return picked


def spread(items: list[Any], by: Any) -> list[Any]:
    """``items`` reordered round-robin over the values of ``by`` (values in a fixed, hashed order)."""
    buckets: dict[Any, list[Any]] = defaultdict(list)
    for item in items:
        buckets[by(item)].append(item)
    names = sorted(buckets, key=lambda name: hashlib.sha1(str(name).encode()).hexdigest())
    depth = max((len(b) for b in buckets.values()), default=0)
    return [buckets[name][round_] for round_ in range(depth) for name in names if round_ < len(buckets[name])]


def choose(candidates: list[dict[str, Any]], sizes: dict[str, int]) -> list[dict[str, Any]]:
    """A project's targets: varied changes, spread over files, within the project's text budget."""
    by_change: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in candidates:
        by_change[json.dumps(record["substitution"])].append(record)
    rank = {id(r): index for index, r in enumerate(candidates)}
    varied = [r for rows in by_change.values() for r in spread(rows, lambda r: r["path"])[:MAX_PER_CHANGE]]
    varied.sort(key=lambda r: rank[id(r)])
    chosen: list[dict[str, Any]] = []
    files: set[str] = set()
    used = 0
    for record in spread(varied, lambda r: r["path"]):
        if len(chosen) == MAX_PER_PROJECT:
            break
        if record["file"] not in files:
            if used + sizes[record["file"]] > PROJECT_TEXT_BUDGET:
                continue
            files.add(record["file"])
            used += sizes[record["file"]]
        chosen.append(record)
    return sorted(chosen, key=lambda r: rank[id(r)])


def extract(pairs: list[tuple[str, str, str]], scan: bool = False) -> dict[str, Any]:
    files: dict[str, str] = {}
    targets: list[dict[str, Any]] = []
    packages: list[dict[str, Any]] = []
    for project, old_version, new_version in pairs:
        archives = [sdist(project, old_version), sdist(project, new_version)]
        hashes = [check_hash(a) for a in archives]
        old_sources, new_sources = read_sources(archives[0]), read_sources(archives[1])
        candidates: list[dict[str, Any]] = []
        modified = 0
        for name in sorted(set(old_sources) & set(new_sources)):
            path, old_text = old_sources[name]
            new_text = new_sources[name][1]
            if old_text == new_text:
                continue
            modified += 1
            for k, replayed, target in file_examples(old_text, new_text):
                record = example(old_text, replayed, target)
                record.update(
                    project=project,
                    versions=[old_version, new_version],
                    path=path,
                    file=f"{project}/{old_version}/{path}",
                    k=k,
                    kind=kind(target.key),
                    substitution=[[list(o), list(n)] for o, n in target.key],
                )
                candidates.append(record)
        sizes = {r["file"]: len(old_sources[canonical("x/" + r["path"])][1]) for r in candidates}
        chosen = choose(candidates, sizes)
        if scan:
            sys.stderr.write(
                f"{project} {old_version}->{new_version}: {modified} modified files, "
                f"{len(candidates)} candidate examples, {len(chosen)} kept\n"
            )
        for index, record in enumerate(chosen):
            record["id"] = f"{project}-{old_version}-{index:03d}"
            files[record["file"]] = old_sources[canonical("x/" + record["path"])][1]
            targets.append(record)
        packages.append(
            {
                "project": project,
                "versions": [old_version, new_version],
                "sdists": [{"file": a.name, "sha256": h} for a, h in zip(archives, hashes, strict=True)],
                "modifiedFiles": modified,
                "candidates": len(candidates),
                "targets": len(chosen),
            }
        )
    ordered = [
        {key: t[key] for key in ("id", "project", "versions", "path", "file", "kind", "k", "distance")}
        | {key: t[key] for key in ("substitution", "edits", "cursor", "target")}
        for t in targets
    ]
    meta = {
        "date": DATASET_DATE,
        "method": (
            "difflib zero-context line hunks (<= 3 lines a side) between two releases' sdists; each hunk "
            "keyed by its token-level substitution; hunks with the same key in one file form a group; "
            "replay the first k of a group (file order), the next one is the target. Ranges are 0-based "
            "lines and UTF-16 characters; each replayed edit's range is against the document after the "
            "previous edits, the target's against the document after all of them."
        ),
        "limits": {
            "maxFileLines": MAX_FILE_LINES,
            "maxHunkLines": MAX_HUNK_LINES,
            "maxPerGroup": MAX_PER_GROUP,
            "maxPerFile": MAX_PER_FILE,
            "maxPerProject": MAX_PER_PROJECT,
            "maxPerChange": MAX_PER_CHANGE,
            "projectTextBudget": PROJECT_TEXT_BUDGET,
        },
        "packages": packages,
        "counts": {
            "targets": len(ordered),
            "files": len(files),
            "replayedEdits": sum(len(t["edits"]) for t in ordered),
        },
    }
    return {"meta": meta, "files": dict(sorted(files.items())), "targets": ordered}


def summary(data: dict[str, Any]) -> str:
    """Counts per release pair and kind, as a Markdown table."""
    targets = data["targets"]
    kinds = ["rename", "argument", "call", "other"]
    lines = ["| project | versions | files | targets | " + " | ".join(kinds) + " |", "|---" * 8 + "|"]
    pairs = sorted({(t["project"], tuple(t["versions"])) for t in targets})
    for pair in [*pairs, None]:
        rows = [t for t in targets if pair in (None, (t["project"], tuple(t["versions"])))]
        name, versions = (pair[0], " -> ".join(pair[1])) if pair else ("all", "")
        counts = " | ".join(str(sum(t["kind"] == k for t in rows)) for k in kinds)
        lines.append(f"| {name} | {versions} | {len({t['file'] for t in rows})} | {len(rows)} | {counts} |")
    edits = sum(len(t["edits"]) for t in targets)
    near = sum(abs(t["distance"]) <= 30 for t in targets)
    projects = len({t["project"] for t in targets})
    lines.append("")
    lines.append(
        f"{len(targets)} targets from {projects} projects, {edits} replayed edits (k = 1: "
        f"{sum(t['k'] == 1 for t in targets)}, 2: {sum(t['k'] == 2 for t in targets)}, 3: "
        f"{sum(t['k'] == 3 for t in targets)}), {near} targets within 30 lines of the cursor"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE / "targets.json")
    parser.add_argument("--scan", action="store_true", help="only report counts per pair; write nothing")
    parser.add_argument(
        "--pairs",
        default="",
        help="explore other releases instead of PAIRS: project:old:new,project:old:new (with --scan)",
    )
    args = parser.parse_args()
    pairs = PAIRS
    if args.pairs:
        pairs = [(name, old, new) for name, old, new in (p.split(":") for p in args.pairs.split(",") if p)]
    data = extract(pairs, scan=True)
    sys.stdout.write(summary(data) + "\n")
    if not args.scan:
        text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
        args.out.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {args.out} ({len(text.encode()) / 1e6:.2f} MB)\n")


if __name__ == "__main__":
    main()
