"""Rust: braces, raw strings and lifetimes, attributes, impl blocks, rustdoc."""

from __future__ import annotations

import tree_sitter_rust

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

PROFILE = LanguageProfile(
    name="rust",
    grammar=tree_sitter_rust.language,
    wheel="tree-sitter-rust",
    language_ids=("rust",),
    extensions=(".rs",),
    lexing=Lexing(quotes={'"': ('"', True, True)}, extra=r"(?P<raw>\bb?r\#*\")|(?P<rch>')|"),
    syntax=Syntax(
        containers={
            "source_file",
            "block",
            "declaration_list",
            "field_declaration_list",
            "enum_variant_list",
            "match_block",
        },
        named_functions={"function_item"},
        anonymous_functions={"closure_expression"},
        class_types={"impl_item", "trait_item"},
        imports={"use_declaration", "extern_crate_declaration"},
        function_kinds={"function_item", "function_signature_item"},
        type_kinds={"struct_item", "enum_item", "trait_item", "type_item", "union_item"},
        leading_siblings={"attribute_item"},
        action_kinds={
            "function_item": "function",
            "impl_item": "class",
            "struct_item": "class",
            "enum_item": "class",
            "trait_item": "class",
        },
    ),
    docs=Docs(style="a rustdoc comment", line_prefix="///", recognized=("///", "//!")),
    tests=Tests(framework="Rust's built-in #[test] functions"),
)
