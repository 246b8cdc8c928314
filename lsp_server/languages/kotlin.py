"""Kotlin: braces, trailing lambdas, ``= expr`` bodies, annotations inside modifiers, raw strings, KDoc."""

from __future__ import annotations

import tree_sitter_kotlin

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_TYPES = ("class_declaration", "object_declaration")

PROFILE = LanguageProfile(
    name="kotlin",
    grammar=tree_sitter_kotlin.language,
    wheel="tree-sitter-kotlin",
    language_ids=("kotlin",),
    extensions=(".kt", ".kts"),
    lexing=Lexing(quotes={'"""': ('"""', False, True), '"': ('"', True, False), "'": ("'", True, False)}),
    syntax=Syntax(
        bodies={"class_body", "enum_class_body", "function_body"},
        containers={
            "source_file",
            "block",
            "class_body",
            "enum_class_body",
            "lambda_literal",
        },
        named_functions={"function_declaration", "secondary_constructor", "getter", "setter"},
        anonymous_functions={"lambda_literal", "anonymous_function"},
        class_types={*_TYPES, "companion_object"},
        imports={"package_header", "import"},
        function_kinds={"function_declaration"},
        type_kinds=_TYPES,
        leading_siblings={"annotation"},
        action_kinds={"function_declaration": "function", **{kind: "class" for kind in _TYPES}},
    ),
    docs=Docs(style="a KDoc comment"),
    tests=Tests(framework="JUnit 5 with kotlin.test", file_name="{Name}Test.kt"),
)
