"""Bash: keyword blocks (``if``/``fi``, ``case``/``esac``, ``do``/``done``), ``#`` only at a word start."""

from __future__ import annotations

import tree_sitter
import tree_sitter_bash

from lsp_server.languages.profile import Docs, LanguageProfile, Lexing, Syntax, Tests

_BLOCK_TOKENS = frozenset({"then", "do", "else", "{"})


def _opens_block(token: tree_sitter.Node, line: str) -> bool:
    """``then``, ``do``, ``else``, ``{``, ``case x in``, a case pattern's ``)``, a subshell's ``(``."""
    if token.type in _BLOCK_TOKENS:
        return True
    parent = token.parent
    parent_type = parent.type if parent is not None else ""
    if token.type == "in":
        return parent_type == "case_statement" or line.lstrip().startswith("case ")
    if token.type == ")":
        return parent_type == "case_item"
    if token.type == "(":
        return parent_type == "subshell"
    return False


PROFILE = LanguageProfile(
    name="bash",
    grammar=tree_sitter_bash.language,
    wheel="tree-sitter-bash",
    language_ids=("bash", "shellscript", "sh"),
    editor_ids=("shellscript", "sh", "bash"),
    extensions=(".sh", ".bash"),
    file_names=(".bashrc", ".bash_profile", ".bash_aliases"),
    comment="#",
    indent_unit="  ",
    blocks="keywords",
    block_opener=_opens_block,
    # `then`, `do`, `else` (as words of their own: `echo do` opens nothing), `{`, `(`, `case x in`, or a case
    # pattern alone on its line (`--all)`, `*)`).
    header_end=r"(?:(?:^|[;&|])\s*(?:then|do|else)|^\s*case\s.*\bin|^\s*\(?[^\s()]+\)|[{(\[])\s*$",
    continuation_words={"then", "do", "done", "fi", "esac"},
    lexing=Lexing(
        # `#` starts a comment only at the start of a word (`$#`, `${#a[@]}` and `a#b` are no comments).
        line_comments=(),
        block_comments={},
        extra=r"(?P<line>(?<![^\s;&|()])#)|",
        quotes={'"': ('"', True, True), "'": ("'", False, True), "`": ("`", True, True)},
        keyword_blocks={"if": "fi", "case": "esac", "do": "done"},
        # Whole words only: `--if-exists`, `./do` and `$do` are arguments, not keywords.
        keyword_opener_pattern=r"(?<![\w$./-])(?:if|case|do)(?![\w./=-])",
    ),
    syntax=Syntax(
        import_commands={"source", "."},
        containers={
            "program",
            "compound_statement",
            "subshell",
            "do_group",
            "if_statement",
            "elif_clause",
            "else_clause",
            "case_statement",
        },
        named_functions={"function_definition"},
        function_kinds={"function_definition"},
        calls={"command"},
        action_kinds={"function_definition": "function"},
        identifiers=("variable_name", "command_name"),
    ),
    docs=Docs(style="a comment block of `#` lines", line_prefix="#", recognized=("#",)),
    tests=Tests(framework="bats", file_name="{stem}_{name}.bats"),
)
