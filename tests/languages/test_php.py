"""PHP on real code: Guzzle's ``functions.php`` and the PHP League container's ``Inflector`` class."""

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
from lsp_server.postprocess.syntax import block_close_stop, postprocess
from tests.helpers import count_words
from tests.languages.common import check_end_to_end, parse_guard_agrees, position_after, real_source
from tests.postprocess_cases import Lang, code, context

FUNCTIONS = real_source("php", "functions.php")
INFLECTOR = real_source("php", "Inflector.php")


def _text(node_text: bytes | None) -> str:
    return (node_text or b"").decode()


# -- detection ---------------------------------------------------------------------------------------


def test_detected_by_language_id_and_extension() -> None:
    assert detect_language("php", "file:///src/functions.php") == "php"
    assert detect_language(None, "file:///src/Inflector.php") == "php"
    assert detect_language("plaintext", "file:///web/index.php") == "php"


def test_real_files_parse_without_errors() -> None:
    assert not parse("php", FUNCTIONS).root_node.has_error
    assert not parse("php", INFLECTOR).root_node.has_error


def test_code_without_the_php_tag_parses_as_php() -> None:
    # The parse guard parses a window around the cursor (one function, no `<?php` line): it must be code,
    # not HTML text, for a broken completion to show as an error.
    window = "function normalize_header_keys(array $headers)\n{\n    $result = [];\n}\n"
    root = parse("php", window).root_node
    assert [child.type for child in root.named_children] == ["function_definition"]
    assert parse("php", window.replace("[];", "[;")).root_node.has_error


# -- context pieces -----------------------------------------------------------------------------------


def test_use_declarations_are_the_imports() -> None:
    source = INFLECTOR.encode()
    tree = parse("php", INFLECTOR)
    imports = [_text(node.text) for node in import_nodes(tree.root_node, "php", source)]
    assert imports == [
        "use League\\Container\\Argument\\ArgumentResolverInterface;",
        "use League\\Container\\Argument\\ArgumentResolverTrait;",
        "use League\\Container\\ContainerAwareTrait;",
    ]


def test_top_level_functions_and_their_signatures() -> None:
    source = FUNCTIONS.encode()
    lines = FUNCTIONS.split("\n")
    sites = top_level_definitions(parse("php", FUNCTIONS).root_node, "php", source)
    assert [(site.name, site.kind) for site in sites] == [
        ("uri_template", "function"),
        ("describe_type", "function"),
        ("headers_from_lines", "function"),
        ("debug_resource", "function"),
        ("choose_handler", "function"),
        ("default_user_agent", "function"),
        ("default_ca_bundle", "function"),
        ("normalize_header_keys", "function"),
    ]
    by_name = {site.name: site for site in sites}
    # The brace on its own line (PSR-12) is part of the elided body.
    assert render_signature(by_name["describe_type"], source, lines, "php") == (
        "function describe_type($input) { ... }"
    )
    assert render_signature(by_name["normalize_header_keys"], source, lines, "php") == (
        "function normalize_header_keys(array $headers) { ... }"
    )


def test_class_is_a_type_and_its_methods_are_members() -> None:
    source = INFLECTOR.encode()
    lines = INFLECTOR.split("\n")
    (site,) = top_level_definitions(parse("php", INFLECTOR).root_node, "php", source)
    assert (site.name, site.kind) == ("Inflector", "type")
    assert render_signature(site, source, lines, "php") == (
        "class Inflector implements ArgumentResolverInterface, InflectorInterface { ... }"
    )


def test_enclosing_method_and_headers_inside_a_foreach() -> None:
    lines = INFLECTOR.split("\n")
    row = lines.index("            $callable = [$object, $method];")
    tree = parse("php", INFLECTOR)
    chain = enclosing_nodes(tree, lines, "php", row, 12)
    types = [node.type for node in chain]
    blocks = [t for t in types if t.endswith(("statement", "declaration", "list")) or t == "program"]
    assert blocks == [
        "expression_statement",
        "compound_statement",
        "foreach_statement",
        "compound_statement",
        "method_declaration",
        "declaration_list",
        "class_declaration",
        "program",
    ]
    function = enclosing_function(chain, "php")
    assert function is not None and function.type == "method_declaration"
    assert _text(function.child_by_field_name("name").text) == "inflect"  # type: ignore[union-attr]
    headers = [lines[start : end + 1] for start, end in header_rows(chain, row, "php", lines)]
    assert headers == [
        ["class Inflector implements ArgumentResolverInterface, InflectorInterface", "{"],
        ["    public function inflect(object $object): void", "    {"],
        ["        foreach ($this->methods as $method => $args) {"],
    ]


def test_enclosing_block_on_a_blank_line_after_a_closed_if() -> None:
    lines = FUNCTIONS.split("\n")
    row = lines.index("    static $uriTemplate;") - 1  # blank, after the `if (extension_loaded(...)) { }`
    assert lines[row] == ""
    chain = enclosing_nodes(parse("php", FUNCTIONS), lines, "php", row, 4)
    assert chain[0].type == "compound_statement"
    assert chain[1].type == "function_definition"


def test_assembled_context_outline_has_uses_headers_and_signatures() -> None:
    # In setProperties, typing the arguments of `$this->setProperty(`: its signature is in the outline.
    marker = "            $this->setProperty("
    cursor = INFLECTOR.index(marker) + len(marker)
    budget = ContextBudget(prefix_tokens=40, suffix_tokens=30, outline_tokens=400)
    context = assemble_file_context(INFLECTOR, parse("php", INFLECTOR), "php", cursor, count_words, budget)
    assert [p.name for p in context.pieces] == ["imports", "enclosing", "signatures", "prefix", "suffix"]
    pieces = {p.name: p.text for p in context.pieces}
    assert pieces["imports"].split("\n") == [
        "use League\\Container\\Argument\\ArgumentResolverInterface;",
        "use League\\Container\\Argument\\ArgumentResolverTrait;",
        "use League\\Container\\ContainerAwareTrait;",
        "",
    ]
    assert pieces["enclosing"].split("\n") == [
        "",
        "class Inflector implements ArgumentResolverInterface, InflectorInterface",
        "{",
        "",
        "    public function setProperties(array $properties): InflectorInterface",
        "    {",
        "",
    ]
    assert pieces["signatures"] == (
        "    // ...\n    public function setProperty(string $property, $value): InflectorInterface { ... }\n"
    )
    assert pieces["prefix"] == "        foreach ($properties as $property => $value) {\n" + marker
    assert context.prefix.endswith(marker)
    assert context.prefix.index("class Inflector") < context.prefix.index("function setProperty(")
    assert context.suffix.startswith("$property, $value);\n")


# -- completion kind -------------------------------------------------------------------------------


def _decide(text: str, marker: str, cut: str = "") -> CompletionKind:
    """Decide right after ``marker``; ``cut`` is removed from the text after it (the user is typing)."""
    index = text.index(marker) + len(marker)
    text = text[:index] + text[index + len(cut) :]
    line = text.count("\n", 0, index)
    character = index - (text.rfind("\n", 0, index) + 1)
    return decide_completion_kind(text, line, character, "php").kind


def test_block_start_of_a_function_body_is_multi_line() -> None:
    body = FUNCTIONS.index("    $result = [];\n    foreach (array_keys($headers)")
    end = FUNCTIONS.index("    return $result;\n}", body) + len("    return $result;\n")
    text = FUNCTIONS[:body] + "    \n" + FUNCTIONS[end:]
    assert (
        _decide(text, "function normalize_header_keys(array $headers)\n{\n    ") is CompletionKind.MULTI_LINE
    )


def test_block_start_after_an_if_brace_is_multi_line() -> None:
    text = INFLECTOR.replace(
        "        if ($this->callback !== null) {\n            call_user_func($this->callback, $object);\n",
        "        if ($this->callback !== null) {\n            \n",
    )
    assert _decide(text, "if ($this->callback !== null) {\n            ") is CompletionKind.MULTI_LINE


def test_mid_line_is_single_line() -> None:
    assert (
        _decide(FUNCTIONS, "        $headers[trim($parts[0])][] = ", "isset($parts[1])")
        is CompletionKind.SINGLE_LINE
    )
    assert _decide(INFLECTOR, "$this->setProperty(", "$property, $value);") is CompletionKind.SINGLE_LINE


def test_indent_unit_is_four_spaces() -> None:
    assert detect_indent_unit(FUNCTIONS, "php") == "    "


# -- post-processing ---------------------------------------------------------------------------------

PHP_KEPT = code(
    "$result = [];",
    "    foreach (array_keys($headers) as $key) {",
    "        $result[strtolower($key)] = $key;",
    "    }",
    "    return $result;",
)

POSTPROCESS = Lang(
    name="php",
    block=code(
        "<?php",
        "namespace GuzzleHttp;",
        "",
        "function normalize_header_keys(array $headers)",
        "{",
        "    █",
        "}",
        "",
        "function is_host_in_noproxy($host, array $noProxyArray)",
        "{",
        "    return in_array($host, $noProxyArray, true);",
        "}",
        "",
    ),
    runs_past=code(PHP_KEPT, "}", "", "function is_host_in_noproxy($host, array $noProxyArray)"),
    runs_past_kept=PHP_KEPT,
    wrong_indent=code(
        "$result = [];",
        "    foreach (array_keys($headers) as $key) {",
        "      $result[strtolower($key)] = $key;",
        "    }",
        "    return $result;",
    ),
    wrong_indent_fixed=PHP_KEPT,
    broken=code(
        "$result = [];",
        "    foreach (array_keys($headers) as $key {",
        "        $result[strtolower($key)] = $key;",
        "    }",
        "    return $result;",
    ),
    broken_kept="$result = [];",
    body=code(
        "<?php",
        "function normalize_header_keys(array $headers)",
        "{",
        "    █",
        "    return $result;",
        "}",
        "",
    ),
    repeats=code(
        "$result = [];",
        "    foreach (array_keys($headers) as $key) $result[strtolower($key)] = $key;",
        "    return $result;",
    ),
    repeats_kept=code(
        "$result = [];",
        "    foreach (array_keys($headers) as $key) $result[strtolower($key)] = $key;",
    ),
    repeats_only="return $result;",
    call=code("<?php", "function describe_type($input)", "{", "    return strtolower(█);", "}", ""),
    call_closes_twice="gettype($input));",
    call_closes_twice_kept="gettype($input)",
    call_unbalanced="gettype($input",
    call_unbalanced_kept="gettype($input)",
)


def test_hash_comment_closes_nothing_but_an_attribute_is_code() -> None:
    ctx = context("php", "<?php\nfunction f($x)\n{\n    return g(█);\n}\n")
    rule = block_close_stop(ctx)
    assert rule.check("$x # )") is None  # `#` starts a comment: its `)` closes nothing
    assert rule.check("$x // )") is None
    assert rule.check("$x)") == len("$x")


def test_multi_line_string_does_not_end_the_block() -> None:
    ctx = context("php", POSTPROCESS.block)
    text = "$sql = 'SELECT *\nFROM headers\n}';\n    return $sql;"
    assert block_close_stop(ctx).check(text) is None
    assert postprocess(text, ctx).text == "$sql = 'SELECT *\nFROM headers\n}';\n    return $sql;"


# -- actions -------------------------------------------------------------------------------------------


def test_find_definition_and_its_existing_phpdoc() -> None:
    lines = FUNCTIONS.split("\n")
    row = lines.index("    $headers = [];")
    definition = find_definition(FUNCTIONS, "php", row, 4)
    assert definition is not None
    assert (definition.name, definition.kind) == ("headers_from_lines", "function")
    assert definition.signature == "function headers_from_lines($lines)"
    assert definition.existing_doc is not None
    start, end = definition.existing_doc
    assert lines[start] == "/**" and lines[end - 1] == " */"
    assert lines[end] == "function headers_from_lines($lines)"


def test_method_in_a_class_with_its_context() -> None:
    lines = INFLECTOR.split("\n")
    row = lines.index("            call_user_func_array($callable, $args);")
    definition = find_definition(INFLECTOR, "php", row, 12)
    assert definition is not None
    assert (definition.name, definition.kind) == ("inflect", "method")
    assert definition.existing_doc is None
    context = code_context(INFLECTOR, "php", definition)
    assert context.enclosing_class is not None
    assert context.enclosing_class.name == "Inflector"
    assert context.imports == (
        "use League\\Container\\Argument\\ArgumentResolverInterface;",
        "use League\\Container\\Argument\\ArgumentResolverTrait;",
        "use League\\Container\\ContainerAwareTrait;",
    )
    # `$this->setProperty(...)` is called from setProperties: its signature comes along.
    setter = find_definition(
        INFLECTOR, "php", lines.index("            $this->setProperty($property, $value);"), 12
    )
    assert setter is not None and setter.name == "setProperties"
    callees = code_context(INFLECTOR, "php", setter).callee_signatures
    assert "public function setProperty(string $property, $value): InflectorInterface" in callees
    names = [(d.name, d.kind) for d in all_definitions(INFLECTOR, "php")]
    assert names[0] == ("Inflector", "class")
    assert ("getType", "method") in names


def test_phpdoc_written_above_a_method() -> None:
    lines = INFLECTOR.split("\n")
    row = lines.index("        return $this->type;")
    definition = find_definition(INFLECTOR, "php", row, 8)
    assert definition is not None and definition.name == "getType"
    assert format_doc(["Returns the type.", "", "The class or interface name."], definition, "    ") == (
        "    /**\n     * Returns the type.\n     *\n     * The class or interface name.\n     */\n"
    )
    edit = place_doc(INFLECTOR, definition, "Returns the type.")
    assert not isinstance(edit, str)
    after = apply_line_edit(INFLECTOR, edit).split("\n")
    at = after.index("    public function getType(): string")
    assert after[at - 3 : at] == ["    /**", "     * Returns the type.", "     */"]


def test_phpdoc_replaces_the_existing_one() -> None:
    lines = FUNCTIONS.split("\n")
    definition = find_definition(FUNCTIONS, "php", lines.index("function describe_type($input)") + 2, 4)
    assert definition is not None and definition.name == "describe_type"
    edit = place_doc(FUNCTIONS, definition, "Describes a value's type.")
    assert not isinstance(edit, str)
    after = apply_line_edit(FUNCTIONS, edit)
    assert "/**\n * Describes a value's type.\n */\nfunction describe_type($input)\n" in after
    assert "Debug function used to describe" not in after


def test_unit_test_names_follow_phpunit() -> None:
    assert unit_test_framework("php") == "PHPUnit"
    assert unit_test_file_name(PurePosixPath("src/Inflector/Inflector.php"), "php", "inflect") == (
        "InflectTest.php"
    )
    assert unit_test_file_name(PurePosixPath("src/functions.php"), "php", "describe_type") == (
        "Describe_typeTest.php"
    )


# -- end to end ----------------------------------------------------------------------------------------


async def test_end_to_end_on_the_real_file(smollm2_path: Path, tmp_path: Path) -> None:
    # The user starts writing debug_resource's body (the header and an indented empty line are left).
    header = "function debug_resource($value = null)\n{\n"
    start = FUNCTIONS.index(header) + len(header)
    end = FUNCTIONS.index("\n}\n", start) + 1
    text = FUNCTIONS[:start] + "    \n" + FUNCTIONS[end:]
    block_start = position_after(text, header + "    ")
    # Mid-line: the user is typing `$handler = new CurlHandler();` in choose_handler.
    typed = "        $handler = new "
    index = text.index(typed + "CurlHandler();\n    } elseif (function_exists('curl_multi_exec'))")
    text = text[: index + len(typed)] + text[index + len(typed + "CurlHandler();") :]
    mid_line = position_after(text, typed)
    lines = text.split("\n")
    explain_at = (lines.index("function describe_type($input)") + 2, 4)
    completions = await check_end_to_end(
        smollm2_path,
        tmp_path,
        file_name="functions.php",
        language_id="php",
        text=text,
        positions={"block start": block_start, "mid-line": mid_line},
        function_at=explain_at,
        symbol="describe_type",
    )
    assert set(completions) == {"block start", "mid-line"}
    assert parse_guard_agrees("php", text, *mid_line, completions["mid-line"])
