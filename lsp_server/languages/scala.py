"""Scala 2/3: braces or Scala 3 indented bodies after `=`, `=>`, `:`, `then`; char literals; Scaladoc."""

from __future__ import annotations

import tree_sitter
import tree_sitter_scala

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_TYPES = ("class_definition", "object_definition", "trait_definition", "enum_definition")
_OPENERS = frozenset({"{", "=", "=>", ":", "then", "do", "else", "try", "finally", "yield", "match"})
"""Tokens that open a block at the end of a line: ``{``, or a Scala 3 indented body after them."""


def _opens_block(token: tree_sitter.Node, line: str) -> bool:
    """``{``; or a line ending in ``=``, ``=>``, ``:``, ``then``, ``do``... (an indented body follows)."""
    return token.type in _OPENERS


PROFILE = LanguageProfile(
    name="scala",
    grammar=tree_sitter_scala.language,
    wheel="tree-sitter-scala",
    language_ids=("scala",),
    extensions=(".scala", ".sc"),
    indent_unit="  ",
    block_opener=_opens_block,
    header_end=r"(?:[{(\[:]|(?<![=!<>])=|=>|\b(?:then|do|else|try|finally|yield|match))\s*$",
    lexing=Lexing(
        quotes={'"""': ('"""', False, True), '"': ('"', True, False)},
        extra=r"(?P<rch>')|",
    ),
    syntax=Syntax(
        containers={
            "compilation_unit",
            "template_body",
            "with_template_body",
            "enum_body",
            "block",
            "indented_block",
            "case_block",
            "indented_cases",
        },
        named_functions={"function_definition"},
        anonymous_functions={"lambda_expression"},
        class_types=_TYPES,
        imports={"package_clause", "import_declaration"},
        function_kinds={"function_definition", "function_declaration"},
        type_kinds={*_TYPES, "type_definition"},
        action_kinds={
            "function_definition": "function",
            "function_declaration": "method",
            **{kind: "class" for kind in _TYPES},
        },
    ),
    docs=Docs(style="a Scaladoc comment"),
    tests=Tests(framework="MUnit or ScalaTest", file_name="{Name}Test.scala"),
)
