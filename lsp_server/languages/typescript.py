"""TypeScript: JavaScript's rules plus interfaces, enums, type aliases and signatures."""

from __future__ import annotations

import tree_sitter_typescript

from lsp_server.languages import javascript
from lsp_server.languages.profile import Docs, LanguageProfile, Syntax, Tests

SYNTAX = Syntax(
    containers=(*javascript.CONTAINERS, "interface_body", "enum_body"),
    named_functions=javascript.FUNCTIONS,
    anonymous_functions=javascript.ANONYMOUS,
    class_types={"class_declaration", "class", "abstract_class_declaration", "interface_declaration"},
    imports={"import_statement"},
    require_imports=True,
    function_kinds=(
        *javascript.FUNCTIONS,
        "function_signature",
        "method_signature",
        "abstract_method_signature",
    ),
    method_kinds={"method_definition"},
    type_kinds={
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
    },
    wrappers={"export_statement"},
    leading_siblings={"decorator"},
    declarations={"lexical_declaration", "variable_declaration"},
    action_kinds=javascript.ACTION_KINDS,
)

PROFILE = LanguageProfile(
    name="typescript",
    grammar=tree_sitter_typescript.language_typescript,
    wheel="tree-sitter-typescript",
    language_ids=("typescript",),
    extensions=(".ts", ".mts", ".cts"),
    family="javascript",
    indent_unit="  ",
    word_chars="$",
    lexing=javascript.LEXING,
    syntax=SYNTAX,
    docs=Docs(style="a TSDoc comment"),
    tests=Tests(framework="Jest (TypeScript)", file_name="{stem}.{name}.test{suffix}"),
)
