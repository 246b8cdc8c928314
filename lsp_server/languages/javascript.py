"""JavaScript (and JSX): braces, ``require`` imports, JSDoc."""

from __future__ import annotations

import tree_sitter_javascript

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

CONTAINERS = ("program", "statement_block", "class_body", "switch_body", "switch_case", "switch_default")
FUNCTIONS = ("function_declaration", "generator_function_declaration", "method_definition")
ANONYMOUS = ("arrow_function", "function_expression", "function")
ACTION_KINDS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "method_definition": "method",
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "variable_declarator": "function",
}
LEXING = Lexing(quotes={'"': ('"', True, False), "'": ("'", True, False), "`": ("`", True, True)})

PROFILE = LanguageProfile(
    name="javascript",
    grammar=tree_sitter_javascript.language,
    wheel="tree-sitter-javascript",
    language_ids=("javascript", "javascriptreact", "jsx"),
    editor_ids=("javascript", "javascriptreact"),
    extensions=(".js", ".mjs", ".cjs", ".jsx"),
    indent_unit="  ",
    word_chars="$",
    lexing=LEXING,
    syntax=Syntax(
        containers=CONTAINERS,
        named_functions=FUNCTIONS,
        anonymous_functions=ANONYMOUS,
        class_types={"class_declaration", "class"},
        imports={"import_statement"},
        require_imports=True,
        function_kinds=FUNCTIONS,
        method_kinds={"method_definition"},
        type_kinds={"class_declaration"},
        wrappers={"export_statement"},
        leading_siblings={"decorator"},
        declarations={"lexical_declaration", "variable_declaration"},
        action_kinds=ACTION_KINDS,
    ),
    docs=Docs(style="a JSDoc comment"),
    tests=Tests(framework="Jest", file_name="{stem}.{name}.test{suffix}"),
)
