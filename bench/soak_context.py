"""The context half of ``bench/soak.py`` in one process, no model, no LSP: is what grows in there?

Applies the soak's seeded edits to a ``WorkspaceContext`` (incremental parse trees, snippet ring, typing
places), with a pause every 50 edits, and prints the process's resident memory every 2,500 edits.

    .venv/bin/python bench/soak_context.py 10000
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.soak import Document, random_edit, rss_kib, seed_document  # noqa: E402
from lsp_server.document import DocumentSnapshot  # noqa: E402
from lsp_server.pause import collect_at_pause  # noqa: E402
from lsp_server.settings import CompletionSettings  # noqa: E402
from lsp_server.workspace import WorkspaceContext  # noqa: E402


def main() -> None:
    edits = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rng = random.Random(1)
    text = seed_document()
    context = WorkspaceContext()
    docs = [Document(f"file:///soak/module_{n}.py", text) for n in range(4)]
    for doc in docs:
        context.opened(DocumentSnapshot(doc.uri, "python", 1, doc.text()))
    settings = CompletionSettings()
    plan = context.planner(lambda: settings, lambda: "utf-16")
    import os

    pid = os.getpid()
    for edit in range(1, edits + 1):
        doc = docs[edit % len(docs)] if rng.random() < 0.2 else docs[0]
        start, end, inserted = random_edit(rng, doc, len(text))
        doc.replace(start, end, inserted)
        snapshot = DocumentSnapshot(doc.uri, "python", doc.version, doc.text())
        context.changed(snapshot)
        if edit % 250 == 0:
            plan(snapshot, min(start[0], len(doc.lines) - 1), 0)
        if edit % 50 == 0:
            context.trees.settle()
            collect_at_pause()
        if edit % 2500 == 0:
            print(f"edit {edit:>6}  rss {rss_kib(pid) / 1024:7.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
