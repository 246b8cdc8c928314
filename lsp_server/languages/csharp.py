"""C#: braces, attributes inside declarations, block namespaces, verbatim/raw strings, XML ``///`` docs."""

from __future__ import annotations

import tree_sitter_c_sharp

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_TYPES = (
    "class_declaration",
    "struct_declaration",
    "interface_declaration",
    "record_declaration",
    "enum_declaration",
)
_METHODS = (
    "method_declaration",
    "constructor_declaration",
    "destructor_declaration",
    "local_function_statement",
)

PROFILE = LanguageProfile(
    name="csharp",
    grammar=tree_sitter_c_sharp.language,
    wheel="tree-sitter-c-sharp",
    language_ids=("csharp", "cs"),
    editor_ids=("csharp", "cs"),
    extensions=(".cs",),
    lexing=Lexing(
        quotes={
            # Raw strings (C# 11) span lines and have no escapes; interpolated raw strings too.
            '"""': ('"""', False, True),
            '$"""': ('"""', False, True),
            '$$"""': ('"""', False, True),
            # Verbatim strings span lines, `""` is a quote: read as a string closed and reopened.
            '@"': ('"', False, True),
            '$@"': ('"', False, True),
            '@$"': ('"', False, True),
            '$"': ('"', True, False),
            '"': ('"', True, False),
            "'": ("'", True, False),
        }
    ),
    syntax=Syntax(
        containers={
            "compilation_unit",
            "declaration_list",
            "block",
            "switch_body",
            "switch_section",
            "accessor_list",
            "enum_member_declaration_list",
        },
        named_functions={
            *_METHODS,
            "operator_declaration",
            "conversion_operator_declaration",
            "property_declaration",
            "indexer_declaration",
        },
        anonymous_functions={"lambda_expression", "anonymous_method_expression"},
        class_types=_TYPES,
        imports={"using_directive"},
        function_kinds=_METHODS,
        method_kinds={"method_declaration"},
        type_kinds={*_TYPES, "delegate_declaration"},
        leading_siblings={"attribute_list"},
        transparent={"namespace_declaration"},
        calls={"invocation_expression"},
        action_kinds={
            "method_declaration": "method",
            "constructor_declaration": "method",
            "local_function_statement": "function",
            **{kind: "class" for kind in _TYPES},
        },
    ),
    docs=Docs(style="an XML documentation comment (/// <summary>)", line_prefix="///", recognized=("///",)),
    tests=Tests(framework="xUnit", file_name="{Name}Tests.cs"),
)
