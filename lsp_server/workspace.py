"""What the server knows about the open documents beyond their text: parse trees and snippets of other files.

What the user sees: typing in a large file stays cheap (its parse tree is updated, not rebuilt, on every
keystroke), and suggestions use the definitions and similar code of the other files the user opened or
edited recently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from lsp_server.completion import CompletionPlan, Skip, plan_completion
from lsp_server.context.languages import detect_language, path_of
from lsp_server.context.neighbours import Snippet, SnippetRing, referenced_identifiers, relative_path
from lsp_server.context.syntax_tree import SyntaxTrees
from lsp_server.document import DocumentSnapshot, lines_of
from lsp_server.memory import CacheSize
from lsp_server.next_edit.history import EditHistory
from lsp_server.prompt.region import Places
from lsp_server.settings import CompletionSettings

# Characters per token used to size snippet picks before the model's tokenizer is at hand (it runs on the
# engine's worker, which lays the prompt out exactly and drops what overflows).
_CHARS_PER_TOKEN = 3


class WorkspaceContext:
    """Parse trees of the open documents and the ring of other files' snippets; plans completions."""

    def __init__(self, root: str | None = None) -> None:
        self.trees = SyntaxTrees()
        self.ring = SnippetRing(root=root)
        self._root = root
        self._dirty: dict[str, DocumentSnapshot] = {}
        self._ring_generation = 0
        # The last pick per document: kept while the user types in the same place (the cursor layout: on the
        # same line) and the ring is unchanged, which also keeps the prompt's front (and the model's cache
        # of it) stable between keystrokes.
        self._picks: dict[str, tuple[tuple[object, ...], list[Snippet]]] = {}
        self.places = Places()
        self.histories: dict[str, EditHistory] = {}
        """Each open document's recent edits (next-edit suggestions)."""

    @property
    def root(self) -> str | None:
        """The workspace folder (URI or path) that file names in prompts are relative to."""
        return self._root

    @root.setter
    def root(self, value: str | None) -> None:
        self._root = value
        self.ring.root = value

    # --- documents -----------------------------------------------------------------------------

    def opened(self, snapshot: DocumentSnapshot) -> None:
        """A document was opened: parse it and put its chunks in the ring."""
        language = detect_language(snapshot.language_id, snapshot.uri)
        self.trees.update(snapshot.uri, language, snapshot.text, snapshot.version)
        self._add_to_ring(snapshot, language)
        self.histories.setdefault(snapshot.uri, EditHistory()).reset(snapshot.text, snapshot.version)

    def changed(self, snapshot: DocumentSnapshot) -> None:
        """A document was edited: update its tree now, its ring chunks when the user moves on."""
        language = detect_language(snapshot.language_id, snapshot.uri)
        self.trees.update(snapshot.uri, language, snapshot.text, snapshot.version)
        self._dirty[snapshot.uri] = snapshot
        history = self.histories.get(snapshot.uri)
        if history is None:
            self.histories[snapshot.uri] = history = EditHistory()
            history.reset(snapshot.text, snapshot.version)
        else:
            history.record(snapshot.text, snapshot.version)

    def closed(self, uri: str) -> None:
        """A document was closed: drop its tree, its snippets and definitions, its places and picks.

        Keeping closed files' snippets made the definitions index grow with every file ever opened.
        """
        self._dirty.pop(uri, None)
        self.trees.close(uri)
        self.ring.remove_document(uri)
        self._ring_generation += 1
        self._picks.pop(uri, None)
        self.places.forget(uri)
        self.histories.pop(uri, None)

    def sizes(self) -> dict[str, CacheSize]:
        """What the workspace holds per kind: parse trees, the snippet ring, typing places, edit history."""
        histories = list(self.histories.values())
        edits = CacheSize(sum(history.held_bytes() for history in histories), len(histories))
        return {
            "trees": self.trees.size(),
            "snippets": self.ring.size(),
            "places": self.places.size(),
            "editHistory": edits,
        }

    def _add_to_ring(self, snapshot: DocumentSnapshot, language: str | None) -> None:
        document = self.trees.get(snapshot.uri, snapshot.text) if language is not None else None
        tree = document.tree if document is not None else None
        self.ring.add_document(snapshot.uri, language, snapshot.text, tree=tree)
        self._ring_generation += 1

    def _refresh_ring(self, current: str) -> None:
        """Re-chunk edited documents other than the one being typed in.

        The current document's own chunks are never picked for it, so re-chunking it (tens of ms on a big
        file) waits until the user asks for a completion elsewhere or closes it.
        """
        for uri in [uri for uri in self._dirty if uri != current]:
            snapshot = self._dirty.pop(uri)
            self._add_to_ring(snapshot, detect_language(snapshot.language_id, snapshot.uri))

    # --- planning ------------------------------------------------------------------------------

    def relative_path(self, uri: str) -> str:
        """The document's path relative to the workspace root (as the model sees file names)."""
        path = relative_path(uri, self.root)
        return path if path != path_of(uri) else PurePosixPath(path).name

    def repo_name(self) -> str:
        """The workspace folder's name."""
        return PurePosixPath(path_of(self.root)).name if self.root else "workspace"

    def neighbours(self, plan: CompletionPlan, budget_tokens: int) -> list[Snippet]:
        """Snippets of other files for a plan: definitions it uses, then similar code."""
        if budget_tokens <= 0:
            return []
        self._refresh_ring(plan.snapshot.uri)
        where = ("line", plan.cursor.line) if plan.place is None else ("place", plan.place.lineage)
        key = (where, self._ring_generation, budget_tokens)
        cached = self._picks.get(plan.snapshot.uri)
        if cached is not None and cached[0] == key:
            return cached[1]
        identifiers: list[str] = []
        if plan.tree is not None and plan.language is not None:
            source = plan.source if plan.source is not None else plan.snapshot.text.encode("utf-8")
            ascii_text = len(source) == len(plan.snapshot.text)
            cursor_byte = len(plan.prefix) if ascii_text else len(plan.prefix.encode("utf-8"))
            lines = lines_of(plan.snapshot.text)
            identifiers = referenced_identifiers(
                plan.tree, source, plan.language, cursor_byte, lines=lines, cursor_row=plan.cursor.line
            )
        local = plan.prefix[-4000:] + plan.suffix[:2000]
        picked = self.ring.pick(
            plan.snapshot.uri,
            plan.language,
            local,
            identifiers,
            budget_tokens,
            lambda text: len(text) // _CHARS_PER_TOKEN + 1,
        )
        self._picks[plan.snapshot.uri] = (key, picked)
        return picked

    def plan(
        self,
        snapshot: DocumentSnapshot,
        line: int,
        column: int,
        settings: CompletionSettings,
        encoding: str = "utf-16",
    ) -> CompletionPlan | Skip:
        """Plan a completion with this document's tree (for its current text) and other files' snippets."""
        language = detect_language(snapshot.language_id, snapshot.uri)
        document = None
        if language is not None and snapshot.version is not None:
            document = self.trees.get(snapshot.uri, snapshot.text)
        return plan_completion(
            snapshot,
            line,
            column,
            settings,
            encoding,
            tree=document.tree if document is not None else None,
            tree_current=document is None or document.current,
            source=document.source if document is not None else None,
            neighbours=lambda plan: self.neighbours(plan, settings.neighbour_tokens),
            path=self.relative_path(snapshot.uri),
            repo=self.repo_name(),
            places=self.places,
            commit=snapshot.version is not None,  # speculation plans text the user has not typed
        )

    def planner(
        self, settings: Callable[[], CompletionSettings], encoding: Callable[[], str]
    ) -> Callable[[DocumentSnapshot, int, int], CompletionPlan | Skip]:
        """A planner for the scheduler (speculation, pre-warm) that plans exactly like real requests."""
        return lambda snapshot, line, column: self.plan(snapshot, line, column, settings(), encoding())
