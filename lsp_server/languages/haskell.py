"""Haskell: layout blocks (``where``/``do``/``of``/``let``/``=``), primes in names, Haddock docs."""

from __future__ import annotations

import tree_sitter
import tree_sitter_haskell

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_LAYOUT_KEYWORDS = frozenset({"where", "do", "mdo", "of", "let", "rec", "\\case", "\\cases", "then", "else"})
"""Tokens that, ending a line, leave the next (indented) lines to a layout block or a body."""

_BODY_PARENTS = frozenset({"match", "alternative", "lambda", "ERROR"})
"""Where a line-ending ``->`` starts a body (a case alternative, a lambda), not a function type."""


def _opens_block(token: tree_sitter.Node, line: str) -> bool:
    """A layout keyword, the ``=`` of an equation or guard, or a case alternative's ``->`` ends the line."""
    del line
    if token.type in _LAYOUT_KEYWORDS or token.type == "=":
        return True
    parent = token.parent
    return token.type == "->" and parent is not None and parent.type in _BODY_PARENTS


PROFILE = LanguageProfile(
    name="haskell",
    grammar=tree_sitter_haskell.language,
    wheel="tree-sitter-haskell",
    language_ids=("haskell",),
    extensions=(".hs",),
    comment="--",
    indent_unit="  ",
    word_chars="'",
    blocks="indent",
    block_opener=_opens_block,
    # The text rule: a layout keyword, an `=` that is no operator's part, or `->`, at the end of the line.
    header_end=r"(?:\b(?:where|do|mdo|of|let|rec|then|else)|(?<![=<>/!:|&+*\\.^$-])=|(?<![-=])->)\s*$",
    continuation_words={"where", "then", "else", "of", "in", "deriving"},
    signature="braces",
    lexing=Lexing(
        line_comments=("--",),
        block_comments={"{-": "-}"},  # pragmas `{-# ... #-}` too
        quotes={'"""': ('"""', True, True), '"': ('"', True, False)},
        # `'` is a character literal ('x', '\n') only where no name precedes it (`foldl'`, `x'`); a
        # promoted constructor or a Template Haskell name quote (`'Just`, `'foo`) is no string.
        extra=r"(?P<rch>(?<![\w'])')|",
    ),
    syntax=Syntax(
        containers={
            "haskell",
            "imports",
            "declarations",
            "local_binds",
            "do",
            "alternatives",
            "class_declarations",
            "instance_declarations",
        },
        named_functions={"function", "bind"},
        anonymous_functions={"lambda", "lambda_case"},
        imports={"import"},
        # The outline shows a function by its type signature (the equations are its body).
        function_kinds={"signature"},
        type_kinds={"data_type", "newtype", "type_synonym", "class", "type_family", "data_family"},
        leading_siblings={"signature"},
        transparent={"imports", "declarations"},
        calls={"apply"},
        action_kinds={
            "function": "function",
            "bind": "function",
            "data_type": "class",
            "newtype": "class",
            "class": "class",
            "instance": "class",
        },
        identifiers=("variable", "name", "constructor", "field_name"),
    ),
    docs=Docs(
        comment_nodes={"haddock"},
        style="a Haddock comment",
        line_prefix="--",
        first_line_prefix="-- |",
        recognized=("-- |", "-- ^", "{-|"),
    ),
    tests=Tests(framework="Hspec", file_name="{Name}Spec.hs"),
)
