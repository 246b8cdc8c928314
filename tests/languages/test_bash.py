"""Bash on real code: the first part of asdf's ``lib/utils.bash`` (functions, ``if``/``case``/``for``)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from lsp_server.actions.definitions import all_definitions, code_context, find_definition
from lsp_server.actions.docstring import apply_line_edit, format_doc, place_doc
from lsp_server.actions.tasks import unit_test_file_name, unit_test_framework
from lsp_server.context.assemble import ContextBudget, assemble_file_context
from lsp_server.context.completion_kind import CompletionKind, decide_completion_kind, detect_indent_unit
from lsp_server.context.languages import detect_language, parse
from lsp_server.context.syntax_tree import (
    enclosing_function,
    enclosing_nodes,
    header_rows,
    import_nodes,
    render_signature,
    top_level_definitions,
)
from lsp_server.languages.bash import PROFILE
from lsp_server.postprocess.syntax import Postprocessed, block_close_stop, postprocess
from tests.helpers import count_words
from tests.languages.common import check_end_to_end, position_after, real_source
from tests.postprocess_cases import Lang, code, context

UTILS = real_source("bash", "utils.bash")
LINES = UTILS.split("\n")


def _row(line: str) -> int:
    return LINES.index(line)


# -- detection ---------------------------------------------------------------------------------------


def test_detected_by_language_id_extension_and_file_name() -> None:
    assert detect_language("shellscript", "file:///asdf/lib/utils.bash") == "bash"
    assert detect_language("sh", "file:///install.sh") == "bash"
    assert detect_language("bash", "file:///x") == "bash"
    assert detect_language(None, "file:///asdf/lib/utils.bash") == "bash"
    assert detect_language(None, "file:///scripts/test.sh") == "bash"
    assert detect_language(None, "file:///home/me/.bashrc") == "bash"
    assert detect_language(None, "file:///home/me/.bash_profile") == "bash"


def test_real_file_parses_without_errors() -> None:
    assert not parse("bash", UTILS).root_node.has_error


# -- context pieces -----------------------------------------------------------------------------------


def test_functions_and_their_signatures() -> None:
    source = UTILS.encode()
    sites = top_level_definitions(parse("bash", UTILS).root_node, "bash", source)
    names = [site.name for site in sites]
    assert names[:4] == ["fast_basename", "fast_tr", "asdf_version", "asdf_dir"]
    assert names[-2:] == ["get_version_in_dir", "version_file_name"]
    assert len(names) == 16 and {site.kind for site in sites} == {"function"}
    by_name = {site.name: site for site in sites}
    assert render_signature(by_name["asdf_data_dir"], source, LINES, "bash") == "asdf_data_dir() { ... }"
    # A one-line comment right above comes along with the header.
    assert render_signature(by_name["fast_tr"], source, LINES, "bash") == (
        "# it requires inputting a tr-like string, e.g. tr '[:lower:]' '[:upper:]'\nfast_tr() { ... }"
    )


def test_source_commands_at_the_top_are_imports() -> None:
    # `source`/`.` are plain commands in the grammar: the profile names them (Syntax.import_commands).
    text = 'source "$(dirname "$0")/utils.bash"\n. ./env.sh\n\nmain() {\n  source inner.sh\n  asdf_dir\n}\n'
    found = import_nodes(parse("bash", text).root_node, "bash", text.encode())
    assert [node.text.decode() if node.text else "" for node in found] == [
        'source "$(dirname "$0")/utils.bash"',
        ". ./env.sh",
    ]


def test_enclosing_function_and_headers_inside_a_case_branch() -> None:
    row = _row('        REPLY="${inputStr^^}"')
    tree = parse("bash", UTILS)
    chain = enclosing_nodes(tree, LINES, "bash", row, 8)
    types = [node.type for node in chain]
    assert types.index("case_item") < types.index("case_statement") < types.index("if_statement")
    assert (
        types.index("if_statement") < types.index("compound_statement") < types.index("function_definition")
    )
    function = enclosing_function(chain, "bash")
    assert function is not None and function.type == "function_definition"
    assert (function.child_by_field_name("name").text or b"") == b"fast_tr"  # type: ignore[union-attr]
    headers = [LINES[start : end + 1] for start, end in header_rows(chain, row, "bash", LINES)]
    assert headers == [
        ["fast_tr() {"],
        ["  if [ ${BASH_VERSINFO[0]} -gt 3 ]; then"],
        ["    case ${inputArr[1]} in"],
        ['      "[:lower:]")'],
    ]


def test_enclosing_block_on_a_blank_line_in_a_loop_body() -> None:
    text = UTILS.replace('      [[ -e "$install" ]] || break\n', '      [[ -e "$install" ]] || break\n\n')
    lines = text.split("\n")
    row = lines.index('      [[ -e "$install" ]] || break') + 1
    chain = enclosing_nodes(parse("bash", text), lines, "bash", row, 6)
    assert [node.type for node in chain[:3]] == ["do_group", "for_statement", "if_statement"]


def test_assembled_context_outline_has_headers_and_signatures() -> None:
    # In find_versions-like code: typing an argument of `check_if_plugin_exists` inside
    # check_if_version_exists; the called function's signature is in the outline.
    marker = '  check_if_plugin_exists "'
    cursor = UTILS.index(marker) + len(marker)
    budget = ContextBudget(prefix_tokens=15, suffix_tokens=30, outline_tokens=400)
    context = assemble_file_context(UTILS, parse("bash", UTILS), "bash", cursor, count_words, budget)
    pieces = {piece.name: piece.text for piece in context.pieces}
    assert list(pieces) == ["signatures", "enclosing", "prefix", "suffix"]
    assert pieces["signatures"] == "check_if_plugin_exists() { ... }\n"
    # The header of the enclosing function, then `# ...` for the lines left out up to the window.
    assert pieces["enclosing"] == "\ncheck_if_version_exists() {\n  # ...\n"
    assert pieces["prefix"] == "  local version=$2\n\n" + marker
    assert context.prefix.endswith(marker)
    assert context.suffix.startswith('$plugin_name"\n')


# -- completion kind -------------------------------------------------------------------------------


def _decide(text: str, marker: str, cut: str = "") -> CompletionKind:
    """Decide right after ``marker``; ``cut`` is removed from the text after it (the user is typing)."""
    index = text.index(marker) + len(marker)
    text = text[:index] + text[index + len(cut) :]
    line = text.count("\n", 0, index)
    character = index - (text.rfind("\n", 0, index) + 1)
    return decide_completion_kind(text, line, character, "bash").kind


def _cut_lines(first: str, last: str, keep: str = "  ") -> str:
    """UTILS with the lines from ``first`` to ``last`` replaced by one line of indentation."""
    start = UTILS.index(first + "\n")
    end = UTILS.index(last + "\n", start) + len(last) + 1
    return UTILS[:start] + keep + "\n" + UTILS[end:]


def test_function_body_start_is_multi_line() -> None:
    text = _cut_lines("  local data_dir", '  printf "%s\\n" "$data_dir"')
    assert _decide(text, "asdf_data_dir() {\n  ") is CompletionKind.MULTI_LINE


def test_then_do_else_in_and_case_patterns_open_blocks() -> None:
    header = 'mkdir -p "${download_dir}/${plugin}"\n\n  if [ "$install_type" = "version" ]; then\n    '
    then = UTILS.replace(
        header + 'printf "%s/%s/%s\\n" "$download_dir" "$plugin" "$version"\n', header + "\n"
    )
    assert then != UTILS
    assert _decide(then, header) is CompletionKind.MULTI_LINE
    do = _cut_lines(
        '      [[ -e "$install" ]] || break',
        '      fast_basename "$install" && printf "%s\\n" "$REPLY"',
        "      ",
    )
    assert _decide(do, '"${plugin_installs_path}"/*/; do\n      ') is CompletionKind.MULTI_LINE
    other = UTILS.replace("  else\n    # else use tr with", "  else\n    \n    # else use tr with")
    assert _decide(other, "  else\n    ") is CompletionKind.MULTI_LINE
    pattern = UTILS.replace(
        '      "[:lower:]")\n        REPLY="${inputStr^^}"\n', '      "[:lower:]")\n        \n'
    )
    assert _decide(pattern, '      "[:lower:]")\n        ') is CompletionKind.MULTI_LINE
    case = UTILS.replace(
        '    case ${inputArr[1]} in\n      "[:lower:]")\n',
        '    case ${inputArr[1]} in\n      \n      "[:lower:]")\n',
    )
    assert _decide(case, "    case ${inputArr[1]} in\n      ") is CompletionKind.MULTI_LINE


def test_text_rule_finds_block_headers_of_the_real_file() -> None:
    # Read while the tree lags behind the text, and by post-processing to indent a body.
    pattern = PROFILE.header_pattern
    headers = [line for line in LINES if pattern.search(line)]
    assert all(line.endswith(("{", "(", "; then", "; do", "else", " in", ")")) for line in headers), headers
    assert "fast_basename() {" in headers
    assert "    case ${inputArr[1]} in" in headers
    assert '      "[:lower:]")' in headers
    assert '    for install in "${plugin_installs_path}"/*/; do' in headers
    assert '  if [ -n "$asdf_version" ]; then' in headers
    assert not any(line.endswith(("fi", "done", "esac")) for line in headers)
    assert not pattern.search('  inputArr=("$@")')
    assert not pattern.search("  echo do")


def test_mid_line_is_single_line() -> None:
    assert _decide(UTILS, '  version="v$(cat ', '"$(asdf_dir)/version.txt")"') is CompletionKind.SINGLE_LINE
    assert _decide(UTILS, '  mkdir -p "${install_dir}/', '${plugin}"') is CompletionKind.SINGLE_LINE


def test_indent_unit_is_two_spaces() -> None:
    assert detect_indent_unit(UTILS, "bash") == "  "


# -- post-processing ---------------------------------------------------------------------------------

BASH_KEPT = code(
    "local plugin_name=$1",
    '  for install in "$(get_plugin_path "$plugin_name")"/*/; do',
    '    printf "%s\\n" "$install"',
    "  done",
    "  return 0",
)

POSTPROCESS = Lang(
    name="bash",
    block=code(
        "get_plugin_path() {",
        '  printf "%s\\n" "$(asdf_data_dir)/plugins/$1"',
        "}",
        "",
        "list_installed_versions() {",
        "  █",
        "}",
        "",
        "display_error() {",
        '  printf "%s\\n" "$1" >&2',
        "}",
        "",
    ),
    runs_past=code(BASH_KEPT, "}", "", "display_error() {"),
    runs_past_kept=BASH_KEPT,
    wrong_indent=code(
        "local plugin_name=$1",
        '  for install in "$(get_plugin_path "$plugin_name")"/*/; do',
        '      printf "%s\\n" "$install"',
        "  done",
        "  return 0",
    ),
    wrong_indent_fixed=BASH_KEPT,
    broken=code(
        "local plugin_name=$1",
        '  for install in "$(get_plugin_path "$plugin_name")"/*/; do',
        '    printf "%s\\n" "$install"',
        "  fi",
        "  return 0",
    ),
    broken_kept="local plugin_name=$1",
    body=code("list_installed_versions() {", "  █", "  return 0", "}", ""),
    repeats=code("local plugin_name=$1", '  printf "%s\\n" "$plugin_name"', "  return 0"),
    repeats_kept=code("local plugin_name=$1", '  printf "%s\\n" "$plugin_name"'),
    repeats_only="return 0",
    call=code("check_if_plugin_exists() {", "  plugin_path=$(█)", "}", ""),
    call_closes_twice='get_plugin_path "$1"))',
    call_closes_twice_kept='get_plugin_path "$1"',
    call_unbalanced='basename $(dirname "$1"',
    call_unbalanced_kept='basename $(dirname "$1")',
)


def test_keyword_blocks_inside_the_body_are_not_a_stop() -> None:
    ctx = context("bash", POSTPROCESS.block)
    text = (
        'if [ -d "$1" ]; then\n    printf "%s\\n" "$1"\n  fi\n'
        '  case "$1" in\n    --all) shift ;;\n  esac\n  return 0'
    )
    assert block_close_stop(ctx).check(text) is None
    assert postprocess(text, ctx).text == text


def test_a_copy_of_the_hash_elision_line_is_dropped() -> None:
    # The outline marks elided code with `# ...` in Bash (the shared case writes `// ...`).
    ctx = context("bash", POSTPROCESS.block)
    assert postprocess("# ...", ctx) == Postprocessed(None, ("elision",))
    assert postprocess("# ...\n", ctx).text is None


def test_hash_in_expansions_is_not_a_comment() -> None:
    ctx = context("bash", 'count() {\n  printf "%s\\n" $(█)\n}\n')
    rule = block_close_stop(ctx)
    assert rule.check("echo ${#items[@]} $#)") == len("echo ${#items[@]} $#")
    assert rule.check("echo a # )") is None  # a real comment: its `)` closes nothing


def test_single_quotes_have_no_escapes() -> None:
    ctx = context("bash", 'quote() {\n  printf "%s\\n" $(█)\n}\n')
    assert block_close_stop(ctx).check("printf '%s\\' x)") == len("printf '%s\\' x")


# -- actions -------------------------------------------------------------------------------------------


def test_find_definition_with_its_comment_block() -> None:
    definition = find_definition(UTILS, "bash", _row('  inputArr=("$@")'), 4)
    assert definition is not None
    assert (definition.name, definition.kind) == ("fast_tr", "function")
    assert definition.signature == "fast_tr()"
    assert definition.existing_doc == (_row("fast_tr() {") - 2, _row("fast_tr() {"))
    assert find_definition(UTILS, "bash", _row("ASDF_DIR=${ASDF_DIR:-''}"), 0) is None


def test_code_context_has_the_called_functions() -> None:
    definition = find_definition(UTILS, "bash", _row('  check_if_plugin_exists "$plugin_name"'), 4)
    assert definition is not None and definition.name == "check_if_version_exists"
    context = code_context(UTILS, "bash", definition)
    assert context.enclosing_class is None
    assert "check_if_plugin_exists()" in context.callee_signatures
    assert [d.name for d in all_definitions(UTILS, "bash")][:2] == ["fast_basename", "fast_tr"]


def test_comment_block_written_above_a_function() -> None:
    definition = find_definition(UTILS, "bash", _row('  printf "%s\\n" "$1" >&2'), 4)
    assert definition is not None and definition.name == "display_error"
    assert format_doc(["Prints a message to stderr.", "", "Used for every error."], definition, "") == (
        "# Prints a message to stderr.\n#\n# Used for every error.\n"
    )
    edit = place_doc(UTILS, definition, "Prints a message to stderr.")
    assert not isinstance(edit, str)
    after = apply_line_edit(UTILS, edit).split("\n")
    at = after.index("display_error() {")
    assert after[at - 2 : at] == ["", "# Prints a message to stderr."]


def test_comment_block_replaces_the_existing_one() -> None:
    definition = find_definition(UTILS, "bash", _row('  inputArr=("$@")'), 4)
    assert definition is not None
    edit = place_doc(UTILS, definition, "Translates characters like tr.")
    assert not isinstance(edit, str)
    after = apply_line_edit(UTILS, edit)
    assert "\n\n# Translates characters like tr.\nfast_tr() {\n" in after
    assert "# in order to make this able" not in after


def test_unit_test_names_follow_bats() -> None:
    assert unit_test_framework("bash") == "bats"
    assert unit_test_file_name(PurePosixPath("lib/utils.bash"), "bash", "fast_tr") == "utils_fast_tr.bats"


# -- end to end ----------------------------------------------------------------------------------------


async def test_end_to_end_on_the_real_file(smollm2_path: Path, tmp_path: Path) -> None:
    # The user starts writing get_download_path's body (the header and an indented empty line are left).
    start = UTILS.index("get_download_path() {\n") + len("get_download_path() {\n")
    end = UTILS.index("\n}\n", start) + 1
    text = UTILS[:start] + "  \n" + UTILS[end:]
    block_start = position_after(text, "get_download_path() {\n  ")
    # Mid-line: the user is typing `plugin_path=$(get_plugin_path "$plugin_name")` in list_installed_versions.
    typed = "  plugin_path=$(get_plugin_path "
    index = text.index(typed + '"$plugin_name")\n\n  local plugin_installs_path')
    text = text[: index + len(typed)] + text[index + len(typed + '"$plugin_name")') :]
    lines = text.split("\n")
    explain_at = (lines.index("asdf_version() {") + 2, 4)
    await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="utils.bash",
        language_id="shellscript",
        text=text,
        positions={"block start": block_start, "mid-line": position_after(text, typed)},
        function_at=explain_at,
        symbol="asdf_version",
    )
