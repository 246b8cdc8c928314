"""Finding the function, method or class around the cursor with tree-sitter, and what it depends on.

What the user sees: the code actions are offered only inside a definition, and the model is shown the
definition itself, its enclosing class, the file's imports and the signatures of what it calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import attrs
import tree_sitter

from lsp_server.context.languages import parse, profile_of
from lsp_server.context.syntax_tree import (
    LEADING_SIBLINGS,
    WRAPPERS,
    defined_name,
    field_body,
    import_nodes,
    last_row,
    syntax_of,
)


def _definition_types(language: str) -> Mapping[str, str]:
    """Node type -> kind ("function", "method", "class") for one language."""
    return syntax_of(language).action_kinds


@attrs.frozen
class Definition:
    """One function, method or class: where it is and what it says."""

    name: str
    kind: str
    language: str
    start_line: int
    """First line of the definition itself (the ``def``/``fn``/``func`` line; after decorators)."""
    end_line: int
    """Last line of the definition (inclusive)."""
    anchor_line: int
    """First line of the whole construct (decorators, ``export``, attributes): a doc comment goes above."""
    text: str
    """Source of the whole construct, decorators included."""
    signature: str
    """The header up to the body (``def f(x: int) -> str``)."""
    body_line: int | None = None
    """Line where the body's first statement starts (None when the body shares the header's line)."""
    existing_doc: tuple[int, int] | None = None
    """Lines [start, end) of a doc comment or docstring the definition already has."""


@attrs.frozen
class CodeContext:
    """What the model is shown about a definition."""

    definition: Definition
    enclosing_class: Definition | None
    imports: tuple[str, ...]
    callee_signatures: tuple[str, ...]


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _name_of(node: tree_sitter.Node, language: str, source: bytes) -> str | None:
    """The definition's name (the context's rule, ``defined_name``), or None when ``node`` is no target.

    Two rules are the actions' own: a Go ``type`` is a target only as a struct or interface, and a Rust
    ``impl`` is named by its type (``Trait for Type``).
    """
    kind = node.type
    if kind == "type_spec":
        type_node = node.child_by_field_name("type")
        if type_node is None or type_node.type not in ("struct_type", "interface_type"):
            return None
    if kind == "impl_item":
        impl_type = node.child_by_field_name("type")
        trait = node.child_by_field_name("trait")
        if impl_type is None:
            return None
        return f"{_text(trait)} for {_text(impl_type)}" if trait is not None else _text(impl_type)
    syntax = syntax_of(language)
    if (
        kind in syntax.function_kinds | syntax.type_kinds | syntax.declarations
        or kind == "variable_declarator"
    ):
        return defined_name(node, language, source)
    name = node.child_by_field_name("name")  # another target the profile names by its `name` field
    return _text(name) if name is not None else None


def _body_of(node: tree_sitter.Node) -> tree_sitter.Node | None:
    body = field_body(node)
    if body is None and node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        body = value.child_by_field_name("body") if value is not None else None
    if body is None and node.type == "variable_declaration":
        found = [n for n in _walk(node) if n.type == "function_definition"]
        body = found[0].child_by_field_name("body") if found else None
    return body


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Every named node under ``node``, in source order (iterative: deep trees do not recurse)."""
    cursor = node.walk()
    visited_children = False
    while True:
        if not visited_children:
            if cursor.node is not None and cursor.node.is_named:
                yield cursor.node
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
            continue
        if not cursor.goto_parent():
            return
        visited_children = True


def _anchor_of(node: tree_sitter.Node) -> tree_sitter.Node:
    """The outermost wrapper of a definition (decorated/exported/templated form)."""
    anchor = node
    if node.type == "variable_declarator" and node.parent is not None:
        anchor = node.parent  # `const f = () => ...` is documented above `const`
    elif node.type == "type_spec" and node.parent is not None:
        anchor = node.parent
    elif node.type == "variable_declaration" and node.parent is not None and node.parent.type == "chunk":
        anchor = node
    while anchor.parent is not None and anchor.parent.type in WRAPPERS:
        anchor = anchor.parent
    return anchor


def _first_line_with_leading(anchor: tree_sitter.Node) -> int:
    """First line including decorators/attributes that are siblings right above the definition."""
    line = anchor.start_point.row
    sibling = anchor.prev_named_sibling
    while sibling is not None and sibling.type in LEADING_SIBLINGS and sibling.end_point.row >= line - 1:
        line = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    return line


def _is_doc_comment(text: str, language: str) -> bool:
    profile = profile_of(language)
    return text.lstrip().startswith(profile.docs.recognized if profile is not None else ("/**",))


def _doc_comment_above(node: tree_sitter.Node, first_line: int, language: str) -> tuple[int, int] | None:
    """Lines [start, end) of the doc comment block directly above ``first_line``."""
    profile = profile_of(language)
    doc_nodes = profile.docs.comment_nodes if profile is not None else frozenset()
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in LEADING_SIBLINGS:
        sibling = sibling.prev_named_sibling
    start: int | None = None
    expected_end = first_line - 1
    while (
        sibling is not None
        and ("comment" in sibling.type or sibling.type in doc_nodes)
        and last_row(sibling) == expected_end
        and _is_doc_comment(_text(sibling), language)
    ):
        start = sibling.start_point.row
        expected_end = start - 1
        sibling = sibling.prev_named_sibling
    return None if start is None else (start, first_line)


def _python_docstring(body: tree_sitter.Node) -> tuple[int, int] | None:
    first = body.named_children[0] if body.named_children else None
    if first is None or first.type != "expression_statement" or not first.named_children:
        return None
    if first.named_children[0].type not in ("string", "concatenated_string"):
        return None
    return (first.start_point.row, first.end_point.row + 1)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _signature(node: tree_sitter.Node, source: bytes) -> str:
    body = _body_of(node)
    if body is None or body.start_byte <= node.start_byte:
        first = source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")
        return first.split("\n", 1)[0].strip()
    header = source[node.start_byte : body.start_byte].decode("utf-8", errors="replace")
    return " ".join(header.split()).rstrip(" {:=>").rstrip() if "\n" in header else header.rstrip(" {")


def _make_definition(
    node: tree_sitter.Node, name: str, kind: str, language: str, source: bytes
) -> Definition:
    anchor = _anchor_of(node)
    anchor_line = _first_line_with_leading(anchor)
    body = _body_of(node)
    profile = profile_of(language)
    docstrings = profile is not None and profile.docs.placement == "docstring"
    body_line: int | None = None
    existing: tuple[int, int] | None = None
    if body is not None:
        first_statement = body.named_children[0] if body.named_children else None
        if docstrings:
            if first_statement is not None and first_statement.start_point.row > node.start_point.row:
                body_line = first_statement.start_point.row
            existing = _python_docstring(body)
        elif body.start_point.row > node.start_point.row or body.end_point.row > node.start_point.row:
            body_line = body.start_point.row + 1
    if not docstrings:
        existing = _doc_comment_above(anchor, anchor_line, language)
    if kind == "function" and _enclosing_kind(node, language, source) == "class":
        kind = "method"
    return Definition(
        name=name,
        kind=kind,
        language=language,
        start_line=node.start_point.row,
        end_line=max(node.end_point.row, anchor.end_point.row),
        anchor_line=anchor_line,
        text="\n".join(
            _lines(source.decode("utf-8", errors="replace"))[anchor_line : anchor.end_point.row + 1]
        ),
        signature=_signature(node, source),
        body_line=body_line,
        existing_doc=existing,
    )


def _enclosing_kind(node: tree_sitter.Node, language: str, source: bytes) -> str | None:
    """The kind of the nearest definition around ``node`` (a function in a class is a method)."""
    for ancestor in _ancestors(node):
        named = _kind_and_name(ancestor, language, source)
        if named is not None:
            return named[0]
    return None


def _kind_and_name(node: tree_sitter.Node, language: str, source: bytes) -> tuple[str, str] | None:
    """(action kind, name) when ``node`` is a definition the actions can target."""
    kind = _definition_types(language).get(node.type)
    if kind is None:
        return None
    hook = syntax_of(language).call_definition
    if hook is not None:
        found = hook(node, source)
        return (found[1], found[0]) if found is not None else None
    name = _name_of(node, language, source)
    return (kind, name) if name else None


def _ancestors(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    current = node.parent
    while current is not None:
        yield current
        current = current.parent


def _as_definition(node: tree_sitter.Node, language: str, source: bytes) -> Definition | None:
    named = _kind_and_name(node, language, source)
    if named is None:
        return None
    return _make_definition(node, named[1], named[0], language, source)


def all_definitions(text: str, language: str) -> list[Definition]:
    """Every definition in the file, outermost first."""
    source = text.encode("utf-8")
    tree = parse(language, text)
    found = []
    for node in _walk(tree.root_node):
        definition = _as_definition(node, language, source)
        if definition is not None:
            found.append(definition)
    return found


def _byte_column(line_text: str, character: int) -> int:
    return len(line_text[:character].encode("utf-8"))


def find_definition(
    text: str,
    language: str,
    line: int,
    character: int,
    end_line: int | None = None,
    end_character: int | None = None,
) -> Definition | None:
    """The innermost definition containing the cursor (or the whole selection); None outside any.

    ``character`` and ``end_character`` are string indexes within their lines (not LSP UTF-16 columns).
    """
    lines = _lines(text)
    if not 0 <= line < len(lines):
        return None
    if end_line is None or end_character is None or not 0 <= end_line < len(lines):
        end_line, end_character = line, character
    if (end_line, end_character) < (line, character):
        line, character, end_line, end_character = end_line, end_character, line, character
    source = text.encode("utf-8")
    start = (line, _byte_column(lines[line], character))
    end = (end_line, _byte_column(lines[end_line], end_character))
    tree = parse(language, text)
    node = tree.root_node.named_descendant_for_point_range(start, end)
    candidates = [node, *_ancestors(node)] if node is not None else []
    for candidate in candidates:
        definition = _as_definition(candidate, language, source)
        if definition is None:
            continue
        if definition.anchor_line <= line and end_line <= definition.end_line:
            return definition
    return None


def _callee_name(call: tree_sitter.Node) -> str | None:
    target = call.child_by_field_name("function") or call.child_by_field_name("name")
    if target is None and call.named_child_count:  # no field (Swift, Kotlin): the callee comes first
        target = call.named_children[0]
        while target.type == call.type and target.named_children:  # `f(x) { ... }`: the inner call
            target = target.named_children[0]
    if target is None:
        return None
    names = re.findall(r"[A-Za-z_]\w*", _text(target))
    return names[-1] if names else None


def code_context(text: str, language: str, definition: Definition, max_callees: int = 20) -> CodeContext:
    """The definition plus its enclosing class, the file's imports and the signatures it calls."""
    tree = parse(language, text)
    everything = all_definitions(text, language)
    enclosing = None
    for candidate in everything:
        if (
            candidate.kind == "class"
            and candidate.start_line <= definition.start_line
            and definition.end_line <= candidate.end_line
            and candidate != definition
        ):
            enclosing = candidate  # later candidates are nested deeper: keep the innermost
    by_name: dict[str, str] = {}
    for candidate in everything:
        short = re.split(r"[.:]+", candidate.name)[-1]
        by_name.setdefault(short, candidate.signature)
    calls: list[str] = []
    call_types = syntax_of(language).calls
    for node in _walk(tree.root_node):
        if (
            node.type not in call_types
            or not definition.start_line <= node.start_point.row <= definition.end_line
        ):
            continue
        name = _callee_name(node)
        own = re.split(r"[.:]+", definition.name)[-1]
        if name and name != own and name in by_name and by_name[name] not in calls:
            calls.append(by_name[name])
    return CodeContext(
        definition=definition,
        enclosing_class=enclosing,
        imports=tuple(
            _text(node).strip() for node in import_nodes(tree.root_node, language, text.encode("utf-8"))
        ),
        callee_signatures=tuple(calls[:max_callees]),
    )
