"""PHP: the PHP-only grammar (code without ``<?php`` parses as PHP), ``$`` names, ``#[`` attributes."""

from __future__ import annotations

import tree_sitter_php

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

CONTAINERS = (
    "program",
    "compound_statement",
    "declaration_list",
    "enum_declaration_list",
    "switch_block",
    "case_statement",
    "default_statement",
    "colon_block",
)
FUNCTIONS = ("function_definition", "method_declaration")
TYPES = ("class_declaration", "interface_declaration", "trait_declaration", "enum_declaration")
_MULTI = (True, True)  # backslash escapes, may span lines

PROFILE = LanguageProfile(
    name="php",
    # Not `language_php`: it reads code before a `<?php` tag as HTML text, so the parse guard's window (a
    # function without the file's `<?php` line) would never have errors. `language_php_only` also reads the
    # `<?php` tag; only HTML templates with inline PHP parse with errors.
    grammar=tree_sitter_php.language_php_only,
    wheel="tree-sitter-php",
    language_ids=("php",),
    extensions=(".php",),
    word_chars="$",
    lexing=Lexing(
        # `#` starts a comment, but `#[` starts an attribute (PHP 8), which may span lines.
        line_comments=(),
        extra=r"(?P<line>//|#(?!\[))|",
        quotes={'"': ('"', *_MULTI), "'": ("'", *_MULTI), "`": ("`", *_MULTI)},
    ),
    syntax=Syntax(
        containers=CONTAINERS,
        named_functions=FUNCTIONS,
        anonymous_functions={"anonymous_function", "arrow_function"},
        class_types=TYPES,
        imports={"namespace_use_declaration"},
        function_kinds=FUNCTIONS,
        method_kinds={"method_declaration"},
        type_kinds=TYPES,
        calls={
            "function_call_expression",
            "member_call_expression",
            "nullsafe_member_call_expression",
            "scoped_call_expression",
        },
        action_kinds={
            "function_definition": "function",
            "method_declaration": "method",
            **dict.fromkeys(TYPES, "class"),
        },
        identifiers=("name", "variable_name"),
    ),
    docs=Docs(style="a PHPDoc comment", recognized=("/**",)),
    tests=Tests(framework="PHPUnit", file_name="{Name}Test.php"),
)
