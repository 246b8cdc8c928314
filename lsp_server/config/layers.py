"""Settings resolved from layers, each value remembering which layer it came from.

What the user sees: defaults < ``qwen-lsp.toml`` in the user config dir < ``qwen-lsp.toml`` in the
workspace < the editor's ``initializationOptions`` < the editor's ``workspace/configuration`` (section
``qwenLsp``). An invalid value is reported with its key, its layer and the reason, and that key keeps the
value it had before. ``qwen-lsp config --print`` and the ``qwenLsp/config`` request show every value with
its origin.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs
import platformdirs

from lsp_server.settings import Settings

CONFIG_FILE_NAME = "qwen-lsp.toml"
LAYER_ORDER: tuple[str, ...] = (
    "user config",
    "workspace config",
    "initializationOptions",
    "workspace/configuration",
)
"""Layer names, lowest priority first (defaults sit under all of them)."""


@attrs.frozen
class Layer:
    """One source of settings: its name, where it lives, and the values it sets (camelCase or snake)."""

    name: str
    values: Mapping[str, Any]
    origin: str = ""


@attrs.frozen
class Resolved:
    """Effective settings, the origin of every value, and what was wrong on the way."""

    settings: Settings
    sources: dict[str, str]
    problems: tuple[str, ...]


def _snake(name: str) -> str:
    return "".join("_" + char.lower() if char.isupper() else char for char in name)


def flatten_overrides(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"completion": {"maxTokensSingleLine": 9}}`` -> ``[("completion.max_tokens_single_line", 9)]``.

    Nested tables (``{"model": {"remote": {"url": ...}}}``) give dotted keys of any depth; a table whose
    key is not a settings section comes back whole, so that ``_set`` reports it.
    """
    out: list[tuple[str, Any]] = []
    for key, value in values.items():
        name = prefix + _snake(str(key))
        if isinstance(value, Mapping) and value:
            out.extend(flatten_overrides(value, name + "."))
        else:
            out.append((name, value))
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _converter() -> cattrs.Converter:
    return cattrs.Converter(forbid_extra_keys=True)


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def flatten_settings(settings: Settings) -> dict[str, Any]:
    """Every setting by dotted snake_case key (``model.remote.url``)."""
    return _flatten(_converter().unstructure(settings))


def _leaves(exc: BaseException) -> list[str]:
    if isinstance(exc, cattrs.BaseValidationError):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [str(exc) or type(exc).__name__]


def _with(node: dict[str, Any], path: list[str], value: Any) -> dict[str, Any] | str:
    """A copy of ``node`` with the value at ``path`` replaced; a reason string when there is no such key."""
    head, rest = path[0], path[1:]
    if head not in node:
        close = difflib.get_close_matches(head, list(node), n=1, cutoff=0.75)
        return f"unknown setting (did you mean '{_camel(close[0])}'?)" if close else "unknown setting"
    if not rest:
        if isinstance(node[head], dict):
            return "is a section: give it a table of settings"
        return {**node, head: value}
    if not isinstance(node[head], dict):
        return "unknown setting"
    child = _with(node[head], rest, value)
    return child if isinstance(child, str) else {**node, head: child}


def _set(current: dict[str, Any], key: str, value: Any) -> dict[str, Any] | str:
    """``current`` (unstructured settings) with ``key`` set; a reason string when that is invalid."""
    candidate = _with(current, key.split("."), value)
    if isinstance(candidate, str):
        return candidate
    try:
        _converter().structure(candidate, Settings)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        return "; ".join(_leaves(exc))
    return candidate


def resolve(base: Settings, layers: Sequence[Layer], previous: Resolved | None = None) -> Resolved:
    """Apply ``layers`` (lowest first) on ``base``; an invalid key keeps its ``previous`` value."""
    converter = _converter()
    current: dict[str, Any] = converter.unstructure(base)
    defaults = flatten_settings(Settings())
    sources = {
        key: "default" if value == defaults.get(key) else "command line"
        for key, value in flatten_settings(base).items()
    }
    problems: list[str] = []
    rejected: set[str] = set()
    for layer in layers:
        for key, value in flatten_overrides(layer.values):
            outcome = _set(current, key, value)
            where = f"{layer.name} ({layer.origin})" if layer.origin else layer.name
            if isinstance(outcome, str):
                problems.append(f"setting '{key}' = {value!r} from {where}: {outcome}")
                rejected.add(key)
                continue
            current = outcome
            sources[key] = where
    if previous is not None:
        old = flatten_settings(previous.settings)
        for key in rejected:
            if key in old and key in sources:
                outcome = _set(current, key, old[key])
                if not isinstance(outcome, str):
                    current = outcome
                    sources[key] = previous.sources.get(key, sources[key])
    return Resolved(converter.structure(current, Settings), sources, tuple(problems))


def user_config_path() -> Path:
    """``qwen-lsp.toml`` in the user's config directory (``~/.config/qwen-lsp/`` on Linux)."""
    return Path(platformdirs.user_config_dir("qwen-lsp")) / CONFIG_FILE_NAME


def workspace_config_path(root: str | Path) -> Path:
    """``qwen-lsp.toml`` at the workspace root."""
    return Path(root) / CONFIG_FILE_NAME


def read_toml_layer(name: str, path: Path) -> tuple[Layer | None, str | None]:
    """The layer a TOML file defines (None when it does not exist) and a parse problem, if any."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read {path}: {exc}"
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, f"{path} is not valid TOML: {exc}"
    return Layer(name, values, str(path)), None


def describe(resolved: Resolved) -> str:
    """The effective settings as ``key = value  # origin`` lines (for ``qwen-lsp config --print``)."""
    values = flatten_settings(resolved.settings)
    width = max(len(key) for key in values)
    lines = []
    for key, value in values.items():
        shown = "null" if value is None else repr(value)
        lines.append(f"{key.ljust(width)} = {shown}  # {resolved.sources.get(key, 'default')}")
    return "\n".join(lines)


class SettingsStore:
    """The settings layers as last read, and what they resolve to; a broken file keeps its last good layer."""

    def __init__(self, base: Settings) -> None:
        self.base = base
        self.layers: dict[str, Layer] = {}
        self.resolved = Resolved(base, resolve(base, []).sources, ())
        self._file_problems: dict[str, str] = {}
        self._last_problems: set[str] = set()

    def set_layer(self, name: str, values: Mapping[str, Any] | None, origin: str = "") -> None:
        """Replace one layer (None or empty removes it)."""
        if values:
            self.layers[name] = Layer(name, dict(values), origin)
        else:
            self.layers.pop(name, None)

    def read_files(self, workspace_root: str | None) -> None:
        """Re-read both ``qwen-lsp.toml`` files; a file that fails to parse keeps its old layer."""
        files = [("user config", user_config_path())]
        if workspace_root:
            files.append(("workspace config", workspace_config_path(workspace_root)))
        for name, path in files:
            layer, problem = read_toml_layer(name, path)
            if problem is not None:
                self._file_problems[name] = f"{problem}; keeping its previous values"
                continue
            self._file_problems.pop(name, None)
            self.set_layer(name, layer.values if layer else None, str(path))

    def config_files(self, workspace_root: str | None) -> list[Path]:
        """The TOML files that feed the layers (existing or not)."""
        files = [user_config_path()]
        if workspace_root:
            files.append(workspace_config_path(workspace_root))
        return files

    def refresh(self) -> tuple[Resolved, list[str]]:
        """Resolve the layers again; return the result and the problems not reported before."""
        ordered = [self.layers[name] for name in LAYER_ORDER if name in self.layers]
        self.resolved = resolve(self.base, ordered, self.resolved)
        problems = [*self._file_problems.values(), *self.resolved.problems]
        fresh = [problem for problem in problems if problem not in self._last_problems]
        self._last_problems = set(problems)
        return self.resolved, fresh
