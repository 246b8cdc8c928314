"""Python: indentation blocks, docstrings, decorators."""

from __future__ import annotations

import tree_sitter
import tree_sitter_python

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_BLOCK_KEYWORDS = frozenset(
    {
        "def",
        "class",
        "if",
        "elif",
        "else",
        "for",
        "while",
        "with",
        "try",
        "except",
        "finally",
        "async",
        "match",
        "case",
    }
)


def _opens_block(token: tree_sitter.Node, line: str) -> bool:
    """A ``:`` followed by a block (also an empty one), or ending a block keyword's line in broken code."""
    if token.type != ":":
        return False
    parent = token.parent
    # Siblings via the parent: next_sibling skips the zero-width `block` of an empty body.
    following = [
        node
        for node in (parent.children if parent is not None else [])
        if node.is_named and node.start_byte >= token.end_byte and "comment" not in node.type
    ]
    if following and following[0].type == "block":
        return True
    words = line.split(None, 1)
    first_word = words[0].rstrip(":") if words else ""
    in_error = parent is not None and (parent.type == "ERROR" or parent.has_error)
    return in_error and first_word in _BLOCK_KEYWORDS


_SINGLE = (True, False)  # backslash escapes, one line

PROFILE = LanguageProfile(
    name="python",
    grammar=tree_sitter_python.language,
    wheel="tree-sitter-python",
    language_ids=("python",),
    extensions=(".py", ".pyi"),
    comment="#",
    blocks="indent",
    block_opener=_opens_block,
    signature="docstring",
    lexing=Lexing(
        line_comments=("#",),
        block_comments={},
        quotes={
            '"""': ('"""', True, True),
            "'''": ("'''", True, True),
            '"': ('"', *_SINGLE),
            "'": ("'", *_SINGLE),
        },
    ),
    syntax=Syntax(
        containers={"module", "block"},
        named_functions={"function_definition"},
        anonymous_functions={"lambda"},
        class_types={"class_definition"},
        imports={"import_statement", "import_from_statement", "future_import_statement"},
        function_kinds={"function_definition"},
        type_kinds={"class_definition"},
        wrappers={"decorated_definition"},
        leading_siblings={"decorator"},
        calls={"call"},
        action_kinds={"function_definition": "function", "class_definition": "class"},
    ),
    docs=Docs(style="a PEP 257 docstring", placement="docstring"),
    tests=Tests(framework="pytest", file_name="test_{stem}_{name}.py"),
)
