"""Java: braces, annotations, switch labels, text blocks, Javadoc."""

from __future__ import annotations

import tree_sitter_java

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_TYPES = ("class_declaration", "interface_declaration", "enum_declaration", "record_declaration")

PROFILE = LanguageProfile(
    name="java",
    grammar=tree_sitter_java.language,
    wheel="tree-sitter-java",
    language_ids=("java",),
    extensions=(".java",),
    lexing=Lexing(quotes={'"""': ('"""', True, True), '"': ('"', True, False), "'": ("'", True, False)}),
    syntax=Syntax(
        containers={
            "program",
            "block",
            "class_body",
            "interface_body",
            "enum_body",
            "enum_body_declarations",
            "constructor_body",
            "switch_block",
            "switch_block_statement_group",
        },
        named_functions={"method_declaration", "constructor_declaration"},
        anonymous_functions={"lambda_expression"},
        class_types=_TYPES,
        imports={"package_declaration", "import_declaration"},
        function_kinds={"method_declaration", "constructor_declaration"},
        method_kinds={"method_declaration"},
        type_kinds=_TYPES,
        leading_siblings={"marker_annotation", "annotation"},
        labels={"switch_label"},
        calls={"method_invocation"},
        action_kinds={
            "method_declaration": "method",
            "constructor_declaration": "method",
            **{kind: "class" for kind in _TYPES},
        },
    ),
    docs=Docs(style="a Javadoc comment"),
    tests=Tests(framework="JUnit 5", file_name="{Name}Test.java"),
)
