"""What the server knows about one language, in one place: the ``LanguageProfile``.

Every language-dependent decision reads a profile: which grammar parses the file, which syntax nodes are
blocks, functions, classes and imports (context, outline, definition finder), how strings, comments and
blocks look to the post-processing lexer, where a doc comment goes and how it is written, and how test
files are named. A new language is one module in this package with one ``PROFILE`` (see "Adding a
language" in docs/LANGUAGES.md); nothing else in the server names a language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal

import attrs
import tree_sitter

BlockStyle = Literal["braces", "indent", "keywords"]
"""How blocks are delimited: ``{ }``; indentation (Python, Haskell); keywords (``do ... end``)."""

DocPlacement = Literal["above", "docstring"]
"""A doc comment sits above the definition, or as the first statement of its body (a docstring)."""

SignatureStyle = Literal["braces", "docstring", "end", "prototype"]
"""How a definition's body is elided in the outline: ``{ ... }``, Python's ``...`` after the docstring,
``-- ...`` then ``end``, or a C prototype ending in ``;``."""


def _frozen(values: tuple[str, ...] | frozenset[str] | set[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen(kw_only=True)
class Lexing:
    """Where brackets, strings and comments start in the language's code (the post-processing lexer)."""

    line_comments: tuple[str, ...] = ("//",)
    """Markers that start a comment running to the end of the line."""
    block_comments: Mapping[str, str] = attrs.field(factory=lambda: {"/*": "*/"})
    """Block comment opener -> closer."""
    quotes: Mapping[str, tuple[str, bool, bool]] = attrs.field(
        factory=lambda: {'"': ('"', True, False), "'": ("'", True, False)}
    )
    """String opener -> (closer, backslash escapes, may span lines)."""
    extra: str = ""
    """More regular-expression alternatives tried first, with the lexer's named groups: ``raw`` (Rust raw
    strings), ``rch`` (a Rust ``'``), ``long`` and ``block`` (Lua long brackets)."""
    keyword_blocks: Mapping[str, str] = attrs.field(factory=dict)
    """Keyword that opens a block -> the keyword that closes it (Lua ``function`` -> ``end``)."""
    keyword_opener_pattern: str | None = None
    """A regular expression for the openers when a plain word match is wrong (Ruby's ``x if y`` modifier
    opens nothing): it must match the opener word itself (lookarounds for the rest)."""


@attrs.frozen(kw_only=True)
class Syntax:
    """Node types of the grammar that the context, the outline and the definition finders read."""

    containers: frozenset[str] = attrs.field(converter=_frozen)
    """Nodes whose named children are statements or declarations: a context window may start at any."""
    named_functions: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Function and method definitions with a name (the enclosing function of the cursor)."""
    anonymous_functions: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Lambdas and closures (the outermost one is the enclosing function when no named one is)."""
    class_types: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Definitions whose members (methods) are looked up by name from code inside them."""
    imports: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Top-level import statements (package clauses, includes, ``use``)."""
    import_commands: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Commands that import when they stand at the top of a file, by their ``name`` (Bash ``source``)."""
    require_imports: bool = False
    """Single-line declarations whose value is ``require(...)`` count as imports (JavaScript, Lua)."""
    function_kinds: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Nodes that define a function or method by a ``name`` field (or a C declarator)."""
    type_kinds: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Nodes that define a type by a ``name`` field."""
    method_kinds: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Function kinds that are methods wherever they stand (Go's and Java's ``method_declaration``)."""
    wrappers: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Nodes wrapping a definition: decorators, ``export``, ``template <...>``, Go's ``type (...)``."""
    leading_siblings: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Siblings that belong to the statement right below them (decorators, attributes, annotations)."""
    labels: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Children that begin a line without starting a statement (``case 1:`` labels)."""
    transparent: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Top-level nodes whose children are top-level too (include guards, namespaces)."""
    calls: frozenset[str] = attrs.field(converter=_frozen, factory=lambda: frozenset({"call_expression"}))
    """Call expressions (what a function calls, for the actions' context)."""
    action_kinds: Mapping[str, str] = attrs.field(factory=dict)
    """Node type -> ``function``, ``method`` or ``class``: what the code actions can target."""
    identifiers: tuple[str, ...] = (
        "identifier",
        "type_identifier",
        "field_identifier",
        "property_identifier",
        "shorthand_property_identifier",
        "namespace_identifier",
    )
    """Identifier node kinds (those the grammar lacks are ignored): names used near the cursor."""
    declarations: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Declarations that define a function when their value is one (``const f = () => 1``,
    ``local f = function() end``) or their declarator is a function's (C prototypes)."""
    declarators: bool = False
    """Names are read from C declarator chains (``*add(int a)`` -> ``add``) and a ``struct`` without a body
    is a use, not a definition."""
    bodies: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Body nodes found by their type where the grammar has no ``body`` field (Kotlin's ``class_body``,
    ``function_body``: its block)."""
    call_definition: Callable[[tree_sitter.Node, bytes], tuple[str, str] | None] | None = attrs.field(
        default=None, eq=False
    )
    """Where definitions are calls (Elixir's ``def add(a, b) do``): given a node of ``function_kinds`` or
    ``type_kinds`` and the document's bytes, (name, ``function`` or ``class``), or None for a plain call."""


@attrs.frozen(kw_only=True)
class Docs:
    """Doc comments, for the docstring action and the outline."""

    style: str = "a doc comment"
    """The convention's name, for prompts (``a PEP 257 docstring``)."""
    placement: DocPlacement = "above"
    line_prefix: str | None = None
    """Each doc line starts with this (``///``); None: a ``block``."""
    first_line_prefix: str | None = None
    """The first doc line's own prefix where it differs (Haddock's ``-- |``, then ``--``)."""
    block: tuple[str, str, str] = ("/**", " * ", " */")
    """Opener line, each line's prefix, closer line of a block doc (``@doc \"\"\"`` for Elixir)."""
    names_subject: bool = False
    """The first sentence starts with the definition's name (Go)."""
    recognized: tuple[str, ...] = ("/**",)
    """Comment starts that make an existing comment above a definition its doc."""
    comment_nodes: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """Doc comment node types whose name lacks "comment" (Haskell's ``haddock``)."""


@attrs.frozen(kw_only=True)
class Tests:
    """How the "Write tests" action names and describes the tests it writes."""

    framework: str = "the project's usual test framework"
    file_name: str = "test_{stem}_{name}{suffix}"
    """Format with ``stem`` (the source file's), ``name`` (the symbol's), ``Name`` (capitalized),
    ``suffix`` (the source's extension, dot included)."""


@attrs.frozen(kw_only=True)
class LanguageProfile:
    """Everything the server knows about one language."""

    name: str
    """Canonical name (``python``, ``cpp``, ``tsx``)."""
    grammar: Callable[[], object] = attrs.field(eq=False)
    """Returns the grammar wheel's language pointer (``tree_sitter_python.language``)."""
    wheel: str
    """The grammar's distribution on PyPI (``tree-sitter-python``)."""
    language_ids: tuple[str, ...]
    """LSP languageIds (lower case) that mean this language; the canonical name is one of them."""
    extensions: tuple[str, ...]
    """File extensions (lower case, dot included)."""
    editor_ids: tuple[str, ...] = ()
    """The VS Code languageIds and Neovim filetypes the editor clients attach the server to; empty: the
    canonical name (the clients' lists are generated from these: ``python -m devtools.editor_languages``)."""
    file_names: tuple[str, ...] = ()
    """Whole file names that mean this language (``Gemfile``, ``.bashrc``)."""
    family: str | None = None
    """Languages of one family share neighbour snippets (``cpp`` -> ``c``, ``tsx`` -> ``javascript``)."""
    comment: str = "//"
    """The line-comment marker (the outline writes ``// ...`` for code it leaves out)."""
    indent_unit: str = "    "
    """The indentation unit when the file itself says nothing."""
    word_chars: str = ""
    """Characters besides letters, digits and ``_`` that belong to identifiers (``$``)."""
    blocks: BlockStyle = "braces"
    block_opener: Callable[[tree_sitter.Node, str], bool] | None = attrs.field(default=None, eq=False)
    """Whether a line whose last code token is ``token`` opens a block (with the line's text); None:
    the token is ``{``."""
    header_end: str | None = None
    """A regular expression that finds, at a line's end, that the line opens a block (the text rule of
    post-processing); None: by block style (``{ ( [`` for braces, also ``:`` for indentation)."""
    continuation_words: frozenset[str] = attrs.field(converter=_frozen, factory=frozenset)
    """First words of lines that continue a statement (``else``) besides the usual ones."""
    signature: SignatureStyle = "braces"
    lexing: Lexing = attrs.field(factory=Lexing)
    syntax: Syntax
    docs: Docs = attrs.field(factory=Docs)
    tests: Tests = attrs.field(factory=Tests)

    @property
    def client_ids(self) -> tuple[str, ...]:
        """What the editor clients attach to for this language."""
        return self.editor_ids or (self.name,)

    @property
    def family_name(self) -> str:
        """The family whose snippets this language shares."""
        return self.family or self.name

    def opens_block(self, token: tree_sitter.Node, line: str) -> bool:
        """Whether a line ending in ``token`` opens a block (tree rule of the completion-kind decision)."""
        if self.block_opener is not None:
            return self.block_opener(token, line)
        return token.type == "{"

    @property
    def closer_words(self) -> frozenset[str]:
        """Keywords that close a block (``end``, ``until``, ``fi``)."""
        return frozenset(self.lexing.keyword_blocks.values())

    @property
    def header_pattern(self) -> re.Pattern[str]:
        """``header_end`` compiled, or the block style's rule."""
        if self.header_end is not None:
            return re.compile(self.header_end)
        return re.compile(r"[:(\[{]\s*$" if self.blocks == "indent" else r"[{(\[]\s*$")
