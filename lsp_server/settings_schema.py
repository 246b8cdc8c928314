"""The VS Code settings schema, generated from the server's settings tree (one source of truth).

What the user sees: every server setting appears in VS Code's settings editor as ``qwenLsp.<section>.<key>``
(camelCase, as ``initializationOptions`` takes it) with the server's own default and a description, one
category per settings section. The extension's own settings (how to start the server) are written by hand
in ``package.json``; the categories generated here carry ids that start with ``server.``.

``python -m lsp_server.settings_schema --write`` refreshes ``editor_clients/vscode/package.json``;
``--check`` exits 1 when it is out of date.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from lsp_server.settings import Settings

PREFIX = "qwenLsp"
GENERATED_ID_PREFIX = "server."
PACKAGE_JSON = Path(__file__).resolve().parent.parent / "editor_clients" / "vscode" / "package.json"

# Descriptions by dotted snake_case path. A field may instead carry ``metadata={"description": ...}``.
DESCRIPTIONS: dict[str, str] = {
    "model.path": "Local GGUF model file. When empty, the server uses `hfRepo`/`hfFile` from the "
    "Hugging Face cache (downloading once).",
    "model.hf_repo": "Hugging Face repository of the default model.",
    "model.hf_file": "GGUF file name inside `hfRepo`.",
    "model.n_ctx": "Context size of the model in tokens.",
    "model.n_threads": "CPU threads for the model; empty lets llama.cpp choose.",
    "model.prompt_batch": "Tokens evaluated per batch while reading the prompt.",
    "model.use_mmap": "Memory-map the model file instead of reading it into memory.",
    "model.seed": "Random seed for sampling (only matters with a temperature above 0).",
    "completion.enabled": "Show inline completions (ghost text). The command 'Qwen LSP: Toggle Inline "
    "Completions' flips this.",
    "completion.prefix_tokens": "Most tokens of text before the cursor put in the prompt.",
    "completion.suffix_tokens": "Most tokens of text after the cursor put in the prompt.",
    "completion.outline_tokens": "Most tokens of the file's outline (imports, enclosing headers, "
    "signatures of the definitions the code near the cursor uses) put in the prompt when they are "
    "outside the window.",
    "completion.neighbour_tokens": "Most tokens of code from other recently opened or edited files put in "
    "the prompt (definitions the code near the cursor uses, then similar code).",
    "completion.token_healing": "When the cursor is inside a word, let the model re-write the word's "
    "start (the prompt stops at the last whole token), so 'yi' can become 'yield'.",
    "completion.max_tokens_single_line": "Most tokens generated for a single-line completion.",
    "completion.max_tokens_multi_line": "Most tokens generated for a multi-line completion.",
    "completion.max_lines_multi_line": "Most lines in a multi-line completion.",
    "completion.temperature": "Sampling temperature; 0 always picks the most likely token.",
    "completion.max_document_bytes": "Documents larger than this many bytes get no completions.",
    "completion.prompt_style": "How completions are asked of the model. 'fim': fill-in-the-middle with the "
    "model's FIM markers (code before and after the cursor); 'chat': the model's chat template, asked to "
    "fill a hole marked in the code, thinking off; 'prefix': plain continuation of the code before the "
    "cursor; 'auto' picks from what the model file says (FIM markers, else a thinking chat template, else "
    "plain continuation) and shows the "
    "choice in `qwen-lsp doctor` and each suggestion's provenance. `qwen-lsp eval` measures them on your "
    "code.",
    "completion.prompt_layout": "'region': everything but the text typed since arriving at a place "
    "stays fixed at the front of the prompt and the typed text follows the middle marker, so a "
    "keystroke costs only its own tokens. 'cursor': the prefix ends at the cursor (each keystroke "
    "re-reads the suffix).",
    "completion.max_predict_ms": "Once a multi-line suggestion has been generating this many milliseconds, "
    "it ends after its last whole line (0: no limit), so its first lines show in time; accepting them "
    "shows the rest, prepared meanwhile.",
    "completion.region_lines": "Most lines typed in one place before the front of the prompt is rebuilt "
    "at the cursor (region layout).",
    "completion.region_chars": "Most characters typed in one place before the front of the prompt is "
    "rebuilt at the cursor (region layout).",
    "log_level": "Server log level (the log is in the 'Qwen LSP' output channel).",
}


def camel(name: str) -> str:
    """``max_tokens_single_line`` -> ``maxTokensSingleLine``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _json_type(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [_json_type(arg) for arg in args if arg is not type(None)]
        if len(members) != 1:
            raise TypeError(f"cannot describe {annotation!r} as a VS Code setting")
        schema = dict(members[0])
        if type(None) in args:
            schema["type"] = [schema["type"], "null"]
        return schema
    if origin is typing.Literal:
        return {"type": _json_type(type(args[0]))["type"], "enum": list(args)}
    if origin in (list, tuple, Sequence):
        return {"type": "array", "items": _json_type(args[0])}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"type": "string", "enum": [member.value for member in annotation]}
    scalars: dict[Any, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if annotation in scalars:
        return {"type": scalars[annotation]}
    raise TypeError(f"cannot describe {annotation!r} as a VS Code setting")


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


@attrs.frozen
class _Leaf:
    """One setting: its path in the tree, its type, its attrs field and its default."""

    path: tuple[str, ...]
    annotation: Any
    field: Any
    default: Any


def _leaves(cls: type[Any], instance: Any, path: tuple[str, ...] = ()) -> Iterator[_Leaf]:
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        value = getattr(instance, field.name)
        annotation = hints[field.name]
        if attrs.has(annotation):
            yield from _leaves(annotation, value, (*path, field.name))
        else:
            yield _Leaf((*path, field.name), annotation, field, value)


_BOUNDS = {">=": "minimum", ">": "exclusiveMinimum", "<=": "maximum", "<": "exclusiveMaximum"}


def _bounds(validator: Any) -> dict[str, Any]:
    """JSON-schema bounds from ``attrs.validators.ge/gt/le/lt`` (also inside ``and_``)."""
    if validator is None:
        return {}
    found: dict[str, Any] = {}
    for inner in getattr(validator, "_validators", ()):
        found.update(_bounds(inner))
    keyword = _BOUNDS.get(str(getattr(validator, "compare_op", "")))
    if keyword is not None:
        found[keyword] = validator.bound
    return found


def _description(path: tuple[str, ...], field: Any) -> str:
    dotted = ".".join(path)
    described = field.metadata.get("description") or DESCRIPTIONS.get(dotted)
    if not described:
        raise KeyError(
            f"setting '{dotted}' has no description: add one to DESCRIPTIONS in lsp_server/settings_schema.py"
            " or as metadata={'description': ...} on the field"
        )
    return str(described)


def configuration() -> list[dict[str, Any]]:
    """The generated ``contributes.configuration`` categories: one per settings section, then the rest."""
    hints = typing.get_type_hints(Settings)
    categories: dict[str, dict[str, Any]] = {}
    for leaf in _leaves(Settings, Settings()):
        # Top-level values (not in a section) go in a "Server" category.
        section = leaf.path[0] if len(leaf.path) > 1 else "general"
        if section not in categories:
            doc = (hints[section].__doc__ or "") if section in hints else ""
            title = "Server" if section == "general" else section.replace("_", " ").title()
            categories[section] = {
                "id": GENERATED_ID_PREFIX + section,
                "title": f"Qwen LSP: {title}",
                **({"description": doc.strip().splitlines()[0]} if doc.strip() else {}),
                "properties": {},
            }
        name = ".".join([PREFIX, *(camel(part) for part in leaf.path)])
        categories[section]["properties"][name] = {
            **_json_type(leaf.annotation),
            **_bounds(leaf.field.validator),
            "default": _json_default(leaf.default),
            "markdownDescription": _description(leaf.path, leaf.field),
        }
    return list(categories.values())


def updated_package(package: dict[str, Any]) -> dict[str, Any]:
    """``package`` with its generated categories replaced and the hand-written ones kept first."""
    contributes = dict(package.get("contributes", {}))
    existing = contributes.get("configuration", [])
    if isinstance(existing, dict):
        existing = [existing]
    kept = [entry for entry in existing if not str(entry.get("id", "")).startswith(GENERATED_ID_PREFIX)]
    contributes["configuration"] = [*kept, *configuration()]
    return {**package, "contributes": contributes}


def render(package: dict[str, Any]) -> str:
    """``package.json`` text as the repository keeps it (2-space indent, final newline)."""
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Check or rewrite the generated part of the VS Code extension's ``package.json``."""
    parser = argparse.ArgumentParser(prog="python -m lsp_server.settings_schema", description=__doc__)
    parser.add_argument("--package-json", type=Path, default=PACKAGE_JSON)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite package.json in place")
    mode.add_argument("--check", action="store_true", help="exit 1 if package.json is out of date")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        sys.stdout.write(json.dumps(configuration(), indent=2) + "\n")
        return 0
    current = args.package_json.read_text(encoding="utf-8")
    wanted = render(updated_package(json.loads(current)))
    if current == wanted:
        return 0
    if args.check:
        sys.stderr.write(
            f"{args.package_json} is out of date: run python -m lsp_server.settings_schema --write\n"
        )
        return 1
    args.package_json.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
