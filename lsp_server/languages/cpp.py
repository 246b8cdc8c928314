"""C++: C's rules plus classes, namespaces, templates and lambdas."""

from __future__ import annotations

import tree_sitter_cpp

from lsp_server.languages import c
from lsp_server.languages.profile import Docs, LanguageProfile, Syntax, Tests

PROFILE = LanguageProfile(
    name="cpp",
    grammar=tree_sitter_cpp.language,
    wheel="tree-sitter-cpp",
    language_ids=("cpp",),
    extensions=(".cc", ".cpp", ".cxx", ".hpp", ".hh"),
    family="c",
    signature="prototype",
    syntax=Syntax(
        containers=c.CONTAINERS,
        named_functions={"function_definition"},
        anonymous_functions={"lambda_expression"},
        class_types={"class_specifier", "struct_specifier"},
        imports={"preproc_include", "using_declaration"},
        function_kinds={"function_definition"},
        type_kinds=(*c.TYPE_KINDS, "class_specifier"),
        wrappers={"template_declaration"},
        leading_siblings={"attribute_declaration"},
        transparent=(*c.TRANSPARENT, "linkage_specification", "namespace_definition"),
        declarations={"declaration", "field_declaration"},
        declarators=True,
        action_kinds={
            "function_definition": "function",
            "class_specifier": "class",
            "struct_specifier": "class",
        },
    ),
    docs=Docs(style="a Doxygen comment", recognized=("/**", "///")),
    tests=Tests(framework="GoogleTest"),
)
