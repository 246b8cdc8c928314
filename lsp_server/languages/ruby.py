"""Ruby: ``end``-closed keyword blocks whose openers double as modifiers (``return x if y`` opens none)."""

from __future__ import annotations

import re

import tree_sitter
import tree_sitter_ruby

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

# Statements that open a block when they begin a line (elsewhere ``if``/``unless``/``while``/``until``
# are modifiers); ``x = if ...`` and ``x = case ...`` open one too.
_HEADER_WORDS = ("def", "class", "module", "if", "unless", "while", "until", "for", "case", "begin")
_CONTINUE_WORDS = ("else", "elsif", "when", "in", "rescue", "ensure")
_ACCESS = r"(?:(?:private|protected|public|module_function)\s+)?"
_HEADER = re.compile(
    rf"^\s*(?:{_ACCESS}(?:{'|'.join(_HEADER_WORDS)})|{'|'.join(_CONTINUE_WORDS)})\b"
    r"|=\s*(?:if|unless|case|begin|while|until)\b"
)
_DO_OR_THEN = re.compile(r"\b(?:do|then)\s*(?:\|[^|]*\|)?\s*$")
_ONE_LINER = re.compile(r"\bthen\s+\S|;\s*end\s*$|\bend\s*$")
_METHODS = frozenset({"method", "singleton_method"})


def _opens_block(token: tree_sitter.Node, line: str) -> bool:
    """``do``, ``then``, ``do |x|``, or the end of a ``def``/``class``/``if``/``when``... header line.

    A modifier (``return if x``), an endless ``def f = x`` and a one-line ``if x then y end`` open nothing.
    """
    if token.type in ("do", "then", "begin", "else", "ensure"):
        return True
    if token.type == "end" or _ONE_LINER.search(line) is not None:
        return False
    if _DO_OR_THEN.search(line) is not None:
        return True
    wrapped = token.type == ")" and token.parent is not None and token.parent.type == "method_parameters"
    node: tree_sitter.Node | None = token
    while node is not None:
        if node.type in _METHODS:
            body = node.child_by_field_name("body")
            row = token.start_point.row
            if body is not None and body.start_point.row == row == node.start_point.row:
                return False  # def f = value
            break
        node = node.parent
    return wrapped or _HEADER.search(line) is not None


# The lexer's block openers: a header word that begins a line (lookbehinds of fixed width, one per
# indentation depth), after ``=``, or ``do`` anywhere; ``.class``, ``:if`` and ``if:`` are no openers.
_INDENTS = (
    "|".join(f"(?<=^{' ' * n})" for n in range(0, 41))
    + "|"
    + "|".join(f"(?<=^{chr(9) * n})" for n in range(1, 11))
)
_NOT_NAME = r"(?![\w?!:])"
# Only the word itself may be matched: the access modifier is checked by a lookbehind instead.
_OPENER = (
    rf"(?:(?:{_INDENTS})(?:{'|'.join(_HEADER_WORDS)}){_NOT_NAME}"
    rf"|(?<=private\s)def{_NOT_NAME}|(?<=protected\s)def{_NOT_NAME}|(?<=public\s)def{_NOT_NAME}"
    rf"|(?<==\s)(?:if|unless|case|begin|while|until){_NOT_NAME}"
    rf"|(?<![.:\w])do{_NOT_NAME})"
)

PROFILE = LanguageProfile(
    name="ruby",
    grammar=tree_sitter_ruby.language,
    wheel="tree-sitter-ruby",
    language_ids=("ruby",),
    extensions=(".rb", ".rake", ".gemspec", ".ru"),
    file_names=("Gemfile", "Rakefile"),
    comment="#",
    indent_unit="  ",
    word_chars="?!",
    blocks="keywords",
    block_opener=_opens_block,
    header_end=(
        r"(?:\b(?:do|then|else|begin|ensure)(?:\s*\|[^|]*\|)?"
        r"|^\s*(?:(?:private|protected|public)\s+)?(?:def|class|module|if|unless|while|until|for|case"
        r"|elsif|when|rescue)\b(?!.*\bend\b).*|[{(\[])\s*$"
    ),
    continuation_words={"elsif", "when", "in", "rescue", "ensure"},
    signature="end",
    lexing=Lexing(
        line_comments=("#",),
        block_comments={"=begin": "=end"},
        quotes={'"': ('"', True, True), "'": ("'", True, True), "`": ("`", True, True)},
        keyword_blocks={word: "end" for word in (*_HEADER_WORDS, "do")},
        keyword_opener_pattern=_OPENER,
    ),
    syntax=Syntax(
        containers={
            "program",
            "body_statement",
            "block_body",
            "then",
            "else",
            "ensure",
            "begin",
            "do",
        },
        named_functions={"method", "singleton_method"},
        anonymous_functions={"do_block", "block", "lambda"},
        class_types={"class", "module", "singleton_class"},
        require_imports=True,
        function_kinds={"method", "singleton_method"},
        type_kinds={"class", "module"},
        declarations={"call"},
        calls={"call"},
        action_kinds={
            "method": "function",
            "singleton_method": "function",
            "class": "class",
            "module": "class",
        },
        identifiers=("identifier", "constant", "instance_variable", "class_variable", "global_variable"),
    ),
    docs=Docs(style="a YARD comment", line_prefix="#", recognized=("#",)),
    tests=Tests(framework="RSpec", file_name="{stem}_{name}_spec.rb"),
)
