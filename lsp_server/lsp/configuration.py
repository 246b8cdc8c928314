"""Settings and prompt templates kept current while the server runs.

What the user sees: the editor's ``qwenLsp`` configuration is read at start and whenever it changes;
editing ``qwen-lsp.toml`` (user config dir or workspace) or a prompt template applies at once; a bad
value or template is reported in a message and the previous one stays in use; ``qwenLsp/config`` returns
the effective settings and where each value came from.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from lsp_server.config.layers import flatten_settings
from lsp_server.config.watch import FileWatcher
from lsp_server.prompt.templates import user_override_dir

if TYPE_CHECKING:
    from lsp_server.lsp.server import QwenLanguageServer

logger = logging.getLogger(__name__)

SECTION = "qwenLsp"
CONFIG_METHOD = "qwenLsp/config"
WORKSPACE_PROMPTS = Path(".qwen-lsp") / "prompts"


def _root(ls: QwenLanguageServer) -> str | None:
    try:
        root = ls.workspace.root_path
    except RuntimeError:
        return None
    return str(root) if root else None


def _supports_configuration(ls: QwenLanguageServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace is not None and workspace.configuration)


def configure_prompts(ls: QwenLanguageServer) -> None:
    """Point the prompt library at the override folders the settings and workspace name."""
    root = _root(ls)
    ls.prompts.on_problem = ls.warn
    ls.prompts.set_override_dirs(
        user_override_dir(ls.settings.prompts.dir, root),
        Path(root) / WORKSPACE_PROMPTS if root else None,
    )


def apply(ls: QwenLanguageServer) -> None:
    """Resolve the layers, then follow the result: prompt folders and the watched directories."""
    ls.apply_settings()
    level = logging.getLevelName(ls.settings.log_level.upper())
    if isinstance(level, int):
        logging.getLogger("lsp_server").setLevel(level)
    else:
        ls.warn(f"qwen-lsp: setting 'log_level' = {ls.settings.log_level!r} is not a log level.")
    configure_prompts(ls)
    watch(ls)


def watch(ls: QwenLanguageServer) -> None:
    """(Re)start the file watcher on the config files' folders and the prompt folders."""
    loop = asyncio.get_running_loop()
    if ls.watcher is None:

        def changed(paths: set[Path]) -> None:
            loop.call_soon_threadsafe(on_files_changed, ls, paths)

        ls.watcher = FileWatcher(changed)
    root = _root(ls)
    dirs = [path.parent for path in ls.config.config_files(root)]
    dirs += ls.prompts.watch_dirs()
    if root:
        dirs.append(Path(root) / ".qwen-lsp")  # so that a prompts/ folder created later is noticed
    ls.watcher.watch(dirs)


def on_files_changed(ls: QwenLanguageServer, paths: set[Path]) -> None:
    """A watched file changed: re-read config files, re-check prompt templates."""
    root = _root(ls)
    config_files = {path.resolve() for path in ls.config.config_files(root)}
    if any(path.resolve() in config_files for path in paths):
        logger.info("settings file changed: %s", ", ".join(map(str, paths)))
        ls.config.read_files(root)
        apply(ls)
    templates = {path for path in paths if path.suffix == ".j2"}
    if templates:
        logger.info("prompt templates changed: %s", ", ".join(map(str, templates)))
        ls.prompts.check({path.resolve() for path in templates} | templates)
    watch(ls)  # a new override folder may have appeared


async def pull(ls: QwenLanguageServer) -> None:
    """Ask the client for the ``qwenLsp`` section (``workspace/configuration``) and apply it."""
    if not _supports_configuration(ls):
        return
    params = types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
    try:
        result = await asyncio.wait_for(ls.workspace_configuration_async(params), timeout=10)
    except TimeoutError as exc:
        logger.warning("workspace/configuration timed out: %s", exc)
        return
    except Exception as exc:  # the client answered with an error; keep the other layers
        logger.warning("workspace/configuration failed: %s", exc)
        return
    values = result[0] if result else None
    ls.config.set_layer("workspace/configuration", values if isinstance(values, dict) else None)
    apply(ls)


async def initialized(ls: QwenLanguageServer) -> None:
    """After the handshake: read the client's configuration and start watching files."""
    configure_prompts(ls)
    watch(ls)
    await pull(ls)


async def did_change_configuration(
    ls: QwenLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    """Configuration changed: pull it again, or take the pushed ``qwenLsp`` section."""
    if _supports_configuration(ls):
        await pull(ls)
        return
    settings = params.settings
    section = settings.get(SECTION, settings) if isinstance(settings, dict) else None
    ls.config.set_layer("workspace/configuration", section if isinstance(section, dict) else None)
    apply(ls)


def effective(ls: QwenLanguageServer) -> dict[str, Any]:
    """The effective settings, each value's origin, and the prompt templates in use."""
    resolved = ls.config.resolved
    templates = {}
    for name in ("system", "explain", "docstring", "fix", "tests", "completion_fim"):
        path, source = ls.prompts.resolve(name)
        templates[name] = {"path": str(path), "source": source}
    return {
        "settings": _nest(flatten_settings(ls.settings)),
        "sources": _nest(resolved.sources),
        "prompts": templates,
    }


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}`` (JSON clients get sections, not dotted keys)."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *sections, name = key.split(".")
        node = nested
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    return nested
