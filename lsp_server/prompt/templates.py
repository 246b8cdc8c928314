"""Prompt templates: Jinja files in ``prompts/`` that users can override and edit while the server runs.

What the user sees: every prompt (the completion FIM layout, explain, docstring, fix, tests, the system
message) is a file. A file of the same name in the directory set in settings (``prompts.dir``) or in the
workspace's ``.qwen-lsp/prompts/`` replaces the shipped one (workspace first). An edited file is used by
the very next request, with no restart. A template that fails to compile or render keeps the previous
version active and the editor is told why.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import jinja2
import jinja2.sandbox

from lsp_server.model_api import FimTokens, PromptLayout, PromptPiece
from lsp_server.prompt.fim import build_fim_prompt, clip_prefix, clip_suffix

logger = logging.getLogger(__name__)

TEMPLATE_SUFFIX = ".j2"
TEMPLATE_NAMES: tuple[str, ...] = (
    "system",
    "explain",
    "docstring",
    "fix",
    "tests",
    "completion_fim",
    "completion_chat",
    "next_edit",
    "next_edit_zeta",
)
"""Every template the server uses; each ships in ``prompts/<name>.j2``."""


def package_prompts_dir() -> Path:
    """The ``prompts/`` directory shipped inside the package (a link to the top-level one in a checkout)."""
    return Path(__file__).resolve().parent.parent / "prompts"


@attrs.frozen
class RenderedPrompt:
    """A rendered template and where it came from (provenance for logs and command results)."""

    name: str
    text: str
    path: str
    source: str
    """``workspace``, ``settings`` or ``package``."""
    sha256: str

    def provenance(self) -> dict[str, str]:
        """JSON-ready provenance: template file, its origin and the hash and text of what was rendered."""
        return {"template": self.path, "source": self.source, "sha256": self.sha256, "text": self.text}


class PromptTemplateError(RuntimeError):
    """No version of a template could be rendered (not even the shipped one)."""


@attrs.define
class _Loaded:
    path: Path
    stamp: tuple[int, int]
    template: jinja2.Template | None
    error: str = ""


def _environment() -> jinja2.Environment:
    return jinja2.sandbox.ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


class PromptLibrary:
    """Templates by name, re-read from disk when their file changes; the last good version stays active."""

    def __init__(
        self,
        package_dir: Path | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.package_dir = package_dir or package_prompts_dir()
        self.settings_dir: Path | None = None
        self.workspace_dir: Path | None = None
        self._env = _environment()
        self._loaded: dict[Path, _Loaded] = {}
        self._last_good: dict[str, tuple[Path, str, jinja2.Template]] = {}
        self._reported: set[tuple[str, str]] = set()
        self.on_problem = on_problem

    def set_override_dirs(self, settings_dir: Path | None, workspace_dir: Path | None) -> None:
        """Overrides: ``prompts.dir`` from settings and the workspace's ``.qwen-lsp/prompts``."""
        self.settings_dir = settings_dir
        self.workspace_dir = workspace_dir

    def search_path(self) -> list[tuple[str, Path]]:
        """Directories searched for a template, highest priority first."""
        dirs = [
            ("workspace", self.workspace_dir),
            ("settings", self.settings_dir),
            ("package", self.package_dir),
        ]
        return [(label, path) for label, path in dirs if path is not None]

    def watch_dirs(self) -> list[Path]:
        """Existing directories whose changes matter (for the file watcher)."""
        return [path for _, path in self.search_path() if path.is_dir()]

    def resolve(self, name: str) -> tuple[Path, str]:
        """The file that provides template ``name`` now, and its origin."""
        for label, folder in self.search_path():
            candidate = folder / f"{name}{TEMPLATE_SUFFIX}"
            if candidate.is_file():
                return candidate, label
        raise PromptTemplateError(f"no prompt template named '{name}' in {self.package_dir}")

    def _report(self, path: Path, message: str) -> None:
        key = (str(path), message)
        if key in self._reported:
            return
        self._reported.add(key)
        logger.warning("%s", message)
        if self.on_problem is not None:
            self.on_problem(message)

    def _load(self, path: Path) -> _Loaded:
        stamp = _stamp(path) or (0, 0)
        loaded = self._loaded.get(path)
        if loaded is not None and loaded.stamp == stamp:
            return loaded
        try:
            source = path.read_text(encoding="utf-8")
            loaded = _Loaded(path, stamp, self._env.from_string(source))
            logger.info("prompt template loaded: %s", path)
        except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError) as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
            loaded = _Loaded(path, stamp, None, f"{exc}{where}")
        self._loaded[path] = loaded
        return loaded

    def check(self, paths: Iterable[Path] | None = None) -> list[str]:
        """Compile the given (or all active) templates now; report and return the problems."""
        problems = []
        targets = set(paths) if paths is not None else None
        for name in TEMPLATE_NAMES:
            try:
                path, _ = self.resolve(name)
            except PromptTemplateError as exc:
                problems.append(str(exc))
                continue
            if targets is not None and path not in targets:
                continue
            loaded = self._load(path)
            if loaded.template is None:
                message = self._keeping_message(name, path, loaded.error)
                self._report(path, message)
                problems.append(message)
        return problems

    def _keeping_message(self, name: str, path: Path, error: str) -> str:
        previous = self._last_good.get(name)
        keeping = f"keeping {previous[0]}" if previous else "using the shipped template"
        return f"qwen-lsp: prompt template {path} is invalid: {error}; {keeping}."

    def _candidates(self, name: str) -> list[tuple[Path, str, jinja2.Template | None, str]]:
        path, source = self.resolve(name)
        loaded = self._load(path)
        out: list[tuple[Path, str, jinja2.Template | None, str]] = [
            (path, source, loaded.template, loaded.error)
        ]
        if name in self._last_good:
            good_path, good_source, good_template = self._last_good[name]
            out.append((good_path, good_source, good_template, ""))
        shipped = self.package_dir / f"{name}{TEMPLATE_SUFFIX}"
        if shipped != path and shipped.is_file():
            fallback = self._load(shipped)
            out.append((shipped, "package", fallback.template, fallback.error))
        return out

    def render(self, name: str, **variables: Any) -> RenderedPrompt:
        """Render template ``name``; a broken file falls back to the last good version (and says so)."""
        first_error = ""
        for path, source, template, error in self._candidates(name):
            if template is None:
                if not first_error:
                    first_error = error
                    self._report(path, self._keeping_message(name, path, error))
                continue
            try:
                text = template.render(**variables)
            except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
                if not first_error:
                    first_error = f"{type(exc).__name__}: {exc}"
                    self._report(
                        path,
                        f"qwen-lsp: prompt template {path} failed to render ({first_error}); "
                        "keeping the previous version.",
                    )
                continue
            self._last_good[name] = (path, source, template)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            return RenderedPrompt(name, text, str(path), source, digest)
        raise PromptTemplateError(f"prompt template '{name}' cannot be rendered: {first_error}")


# --- the completion FIM layout as a template ---------------------------------------------------------

_SLOT = "\x00slot:{}\x00"
FIM_SLOTS: tuple[str, ...] = ("bos", "fim_prefix", "fim_suffix", "fim_middle", "prefix", "suffix")


def fim_segments(library: PromptLibrary) -> list[tuple[str, str]]:
    """The ``completion_fim`` template as an ordered list of ("slot", name) and ("text", literal) parts."""
    rendered = library.render("completion_fim", **{slot: _SLOT.format(slot) for slot in FIM_SLOTS})
    parts: list[tuple[str, str]] = []
    for index, piece in enumerate(rendered.text.split("\x00")):
        if index % 2 == 1 and piece.startswith("slot:"):
            parts.append(("slot", piece.removeprefix("slot:")))
        elif piece:
            parts.append(("text", piece))
    return parts


def layout_fim_prompt(
    segments: Sequence[tuple[str, str]],
    *,
    prefix_tokens: Sequence[int],
    suffix_tokens: Sequence[int],
    fim: FimTokens,
    bos: Sequence[int],
    tokenize_special: Callable[[str], list[int]],
) -> PromptLayout:
    """Token list for a FIM prompt laid out by the template; literal template text may hold special tokens.

    The caller clips prefix and suffix to their budgets first (``prompt.fim.clip_prefix/clip_suffix``), so
    user code is tokenized as plain text and never parsed for special tokens.
    """
    values: dict[str, Sequence[int]] = {
        "bos": bos,
        "fim_prefix": (fim.prefix,),
        "fim_suffix": (fim.suffix,),
        "fim_middle": (fim.middle,),
        "prefix": prefix_tokens,
        "suffix": suffix_tokens,
    }
    tokens: list[int] = []
    markers = 0
    for kind, value in segments:
        if kind == "slot":
            tokens.extend(values[value])
            if value not in ("prefix", "suffix"):
                markers += len(values[value])
        else:
            literal = tokenize_special(value)
            tokens.extend(literal)
            markers += len(literal)
    pieces = (
        PromptPiece("prefix", len(prefix_tokens)),
        PromptPiece("suffix", len(suffix_tokens)),
        PromptPiece("markers", markers),
    )
    return PromptLayout(tuple(tokens), pieces, fim=True)


def build_fim_prompt_from_template(
    library: PromptLibrary,
    prefix: str,
    suffix: str,
    *,
    fim: FimTokens | None,
    tokenize: Callable[[str], list[int]],
    tokenize_special: Callable[[str], list[int]],
    prefix_budget: int,
    suffix_budget: int,
    bos: Sequence[int] = (),
) -> PromptLayout:
    """``prompt.fim.build_fim_prompt`` with the layout taken from ``prompts/completion_fim.j2``.

    A drop-in for the completion pipeline: the same budgets and clipping, and the same prefix-only
    prompt for models without FIM tokens; with the shipped template the tokens are identical.
    """
    if fim is None:
        return build_fim_prompt(
            prefix, suffix, fim=None, tokenize=tokenize, prefix_budget=prefix_budget, suffix_budget=0, bos=bos
        )
    return layout_fim_prompt(
        fim_segments(library),
        prefix_tokens=clip_prefix(prefix, prefix_budget, tokenize),
        suffix_tokens=clip_suffix(suffix, suffix_budget, tokenize),
        fim=fim,
        bos=bos,
        tokenize_special=tokenize_special,
    )


def user_override_dir(value: str | None, workspace_root: str | None) -> Path | None:
    """``prompts.dir`` from settings as a path (relative paths are taken from the workspace root)."""
    if not value:
        return None
    path = Path(os.path.expanduser(value))
    if not path.is_absolute() and workspace_root:
        path = Path(workspace_root) / path
    return path
