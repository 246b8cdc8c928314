"""``qwen-lsp doctor``: checks the model, llama.cpp, the grammars and the settings, and says what to fix.

What the user sees: one line per check (``ok``, ``warn`` or ``FAIL``) with the facts behind it (model
architecture, size, quantization, fill-in-the-middle tokens; llama.cpp version, CPU features, GPU offload;
which tree-sitter grammars load; settings problems) and, for each problem, what to do. The exit code is 0
when nothing needs fixing and 1 otherwise. Nothing is downloaded: the default model is only looked up in
the Hugging Face cache.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from lsp_server.engine.gguf_check import GgufInfo, ModelFileError, inspect_gguf
from lsp_server.engine.model_source import DEFAULT_HF_FILE, DEFAULT_HF_REPO
from lsp_server.prompt.chat import is_thinking_model
from lsp_server.prompt.styles import choose_prompt_style, style_for
from lsp_server.settings import ModelSettings, Settings

if TYPE_CHECKING:
    from lsp_server.engine.llama.probe import Vocabulary

logger = logging.getLogger(__name__)

Status = Literal["ok", "warn", "fail"]

_CPU_FEATURES_SHOWN = (
    "AVX",
    "AVX2",
    "AVX512",
    "AVX_VNNI",
    "AVX512_VNNI",
    "AVX512_BF16",
    "AMX_INT8",
    "F16C",
    "FMA",
)


@attrs.define
class Check:
    """One doctor check: what was looked at, how it went, the facts found, and what to do about it."""

    name: str
    status: Status
    summary: str
    facts: dict[str, Any] = attrs.Factory(dict)
    fix: str | None = None
    notes: list[str] = attrs.Factory(list)


@attrs.frozen
class ModelChoice:
    """Which model the server would use: a ``--model`` path, or a file of a Hugging Face repository."""

    path: Path | None = None
    hf_repo: str = DEFAULT_HF_REPO
    hf_file: str = DEFAULT_HF_FILE


def _human_size(count: int) -> str:
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _human_count(count: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= size:
            return f"{count / size:.1f}{unit}".replace(".0", "")
    return str(count)


def quantization_name(file_type: object) -> str | None:
    """The quantization a GGUF's ``general.file_type`` stands for, in llama.cpp's names (``Q4_K_M``)."""
    if not isinstance(file_type, int) or isinstance(file_type, bool):
        return None
    try:
        from lsp_server.engine.llama.probe import file_type_name
    except (ImportError, OSError):
        return None
    return file_type_name(file_type)


def _available_memory() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="ascii")
    except OSError:
        return None
    found = re.search(r"^MemAvailable:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else None


def locate_model(choice: ModelChoice) -> tuple[Path | None, str]:
    """The model file to check and where it came from; None when the default model is not cached."""
    if choice.path is not None:
        return choice.path.expanduser(), "--model"
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(choice.hf_repo, choice.hf_file)
    except (ValueError, OSError) as exc:
        logger.debug("cache lookup failed: %s", exc)
        cached = None
    if isinstance(cached, str):
        return Path(cached), f"Hugging Face cache ({choice.hf_repo})"
    return None, f"Hugging Face cache ({choice.hf_repo})"


def check_model(choice: ModelChoice) -> tuple[Check, GgufInfo | None]:
    """Read the model's GGUF header: architecture, size, parameters, quantization."""
    path, source = locate_model(choice)
    if path is None:
        from huggingface_hub import constants

        command = f"hf download {choice.hf_repo} {choice.hf_file}"
        missing = {"source": source, "file": choice.hf_file, "cache": str(constants.HF_HUB_CACHE)}
        if constants.is_offline_mode():
            return Check(
                "model",
                "fail",
                f"{choice.hf_file} is not in the Hugging Face cache and HF_HUB_OFFLINE is set",
                missing,
                fix=f"Download it while online (`{command}`) or pass --model PATH to a local GGUF file.",
            ), None
        return Check(
            "model",
            "warn",
            f"{choice.hf_file} is not downloaded yet; `qwen-lsp serve` fetches it on first start",
            missing,
            fix=f"Download it beforehand with `{command}`, or pass --model PATH to a local GGUF file.",
        ), None
    try:
        info = inspect_gguf(path)
    except ModelFileError as exc:
        return Check("model", "fail", f"{path} cannot be used", {"path": str(path)}, fix=exc.message), None
    quant = quantization_name(info.metadata.get("general.file_type"))
    facts: dict[str, Any] = {
        "path": str(path),
        "source": source,
        "name": info.name,
        "architecture": info.architecture,
        "fileSize": info.file_size,
        "parameters": info.parameter_count,
        "quantization": quant,
        "contextLength": info.context_length,
        "vocabSize": info.vocab_size,
    }
    summary = (
        f"{path.name}: {info.architecture or 'unknown architecture'}"
        f"{f' ({info.name})' if info.name else ''}, {_human_count(info.parameter_count)} parameters, "
        f"{quant or 'unknown quantization'}, {_human_size(info.file_size)}"
    )
    check = Check("model", "ok", summary, facts)
    available = _available_memory()
    if available is not None and info.file_size > available:
        check.status = "warn"
        check.fix = (
            f"The model needs about {_human_size(info.file_size)} of memory but only "
            f"{_human_size(available)} is available; close programs or use a smaller quantization."
        )
    return check, info


def check_tokenizer(path: Path) -> tuple[Check, Vocabulary | None]:
    """Load the model's vocabulary with llama.cpp: is the architecture known, and are there FIM tokens."""
    try:
        from lsp_server.engine.llama.probe import read_vocabulary
    except (ImportError, OSError) as exc:
        failed = Check("tokenizer", "fail", f"llama.cpp cannot be imported: {exc}", fix="Reinstall qwen-lsp.")
        return failed, None
    try:
        vocabulary = read_vocabulary(path)
    except ModelFileError as exc:
        return Check(
            "tokenizer",
            "fail",
            f"llama.cpp cannot read this model: {exc}",
            fix="Use a GGUF model of an architecture this llama.cpp build supports (see `llama.cpp` below).",
        ), None
    fim, n_vocab = vocabulary.fim, vocabulary.n_vocab
    facts: dict[str, Any] = {"vocabSize": n_vocab, "fim": fim is not None}
    if fim is None:
        return Check(
            "tokenizer",
            "warn",
            f"{n_vocab} tokens, no fill-in-the-middle tokens: completions do not see the code after the "
            "cursor (unless the chat prompt style shows it)",
            facts,
            fix="Use a code model with FIM tokens (Qwen3.5, Qwen2.5-Coder, ...) for better completions.",
        ), vocabulary
    facts.update(fimSpelling=fim.spelling, fimTokens=[fim.prefix, fim.suffix, fim.middle])
    summary = f"{n_vocab} tokens, fill-in-the-middle tokens ({fim.spelling})"
    return Check("tokenizer", "ok", summary, facts), vocabulary


def check_prompt_style(setting: str, *, fim: bool, chat_template: str | None, architecture: str) -> Check:
    """Which prompt style completions use with this model (``completion.promptStyle``), and why."""
    choice = choose_prompt_style(
        setting,
        fim=fim,
        chat_template=chat_template is not None,
        thinking=is_thinking_model(architecture, chat_template),
    )
    facts = {"setting": setting, "style": choice.style, "reason": choice.reason}
    return Check(
        "prompt style",
        "ok",
        f"{choice.style} ({choice.reason}); compare styles on your code with `qwen-lsp eval`",
        facts,
    )


def parse_system_info(text: str) -> dict[str, dict[str, str]]:
    """Split ``llama_print_system_info()`` (``CPU : AVX = 1 | ...``) into backend -> feature -> value."""
    backends: dict[str, dict[str, str]] = {}
    current = "CPU"
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        head, sep, rest = part.partition(" : ")
        if sep:
            current = head.strip()
            part = rest.strip()
        name, eq, value = part.partition("=")
        if eq:
            backends.setdefault(current, {})[name.strip()] = value.strip()
    return backends


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return set()
    found = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    return set(found.group(1).split()) if found else set()


def check_llama_cpp(model: ModelSettings | None = None) -> Check:
    """The llama.cpp build: version, CPU features it was built with, GPU offload and what the settings use."""
    try:
        from lsp_server.engine.llama.backend import resolve_acceleration
        from lsp_server.engine.llama.probe import build_facts
    except (ImportError, OSError) as exc:
        return Check(
            "llama.cpp",
            "fail",
            f"llama-cpp-python cannot be imported: {exc}",
            fix="Reinstall it: pip install --force-reinstall --no-cache-dir llama-cpp-python",
        )
    build = build_facts()
    system_info = build.system_info
    backends = parse_system_info(system_info)
    cpu = backends.get("CPU", {})
    enabled = [name for name in _CPU_FEATURES_SHOWN if cpu.get(name) == "1"]
    gpu = build.gpu_offload
    facts: dict[str, Any] = {
        "version": build.version,
        "systemInfo": system_info.strip(),
        "cpuFeatures": enabled,
        "gpuOffload": gpu,
        "threads": os.cpu_count(),
    }
    model = model or ModelSettings()
    use = resolve_acceleration(
        model.gpu_layers, model.flash_attention, model.kv_cache_type, gpu_offload_supported=gpu
    )
    facts.update(gpuLayers=use.gpu_layers, flashAttention=use.flash_attention, kvCacheType=use.kv_cache_type)
    layers = "all layers" if use.gpu_layers == -1 else f"{use.gpu_layers} layers"
    check = Check(
        "llama.cpp",
        "ok",
        f"llama-cpp-python {build.version}, CPU: {' '.join(enabled) or 'baseline'}, "
        f"GPU offload: {'yes' if gpu else 'no (CPU only)'}; in use: {layers} on the GPU, flash attention "
        f"{'on' if use.flash_attention else 'off'}, KV cache {use.kv_cache_type}",
        facts,
    )
    if model.gpu_layers not in (None, 0) and not gpu:
        check.status = "warn"
        check.fix = (
            f"model.gpuLayers is {model.gpu_layers} but this build cannot offload to a GPU: rebuild "
            'llama-cpp-python with GPU support (README, "GPU offload").'
        )
    if cpu.get("AMX_INT8") == "1" or "amx_tile" in _cpu_flags():
        check.notes.append(
            "This CPU has AMX. llama.cpp's AMX path crashes on it (SIGSEGV on the first decode), so the "
            "engine loads models with the CPU extra buffer types (AMX, weight repacking) turned off. "
            "Nothing to do."
        )
    if not any(cpu.get(name) == "1" for name in ("AVX2", "AVX512")):
        check.status = "warn"
        check.fix = (
            "This build has neither AVX2 nor AVX-512, so completions will be slow; rebuild "
            "llama-cpp-python on this machine."
        )
    return check


def check_grammars() -> Check:
    """Every tree-sitter grammar loads and parses a line of code."""
    from lsp_server.context.languages import SUPPORTED_LANGUAGES, parse, profile_of

    broken: dict[str, str] = {}
    for language in SUPPORTED_LANGUAGES:
        try:
            tree = parse(language, "x = 1\n")
            if tree.root_node is None:
                broken[language] = "no syntax tree"
        except Exception as exc:  # a grammar wheel built for another ABI raises various errors
            broken[language] = f"{type(exc).__name__}: {exc}"
    loaded = [language for language in SUPPORTED_LANGUAGES if language not in broken]
    facts: dict[str, Any] = {"loaded": loaded, "broken": broken}
    if broken:
        names = ", ".join(sorted(broken))
        wheels = sorted({profile.wheel for name in broken if (profile := profile_of(name)) is not None})
        return Check(
            "grammars",
            "fail",
            f"{len(loaded)} of {len(SUPPORTED_LANGUAGES)} grammars load; broken: {names}",
            facts,
            fix="Reinstall the grammar wheels: pip install --force-reinstall " + " ".join(wheels),
        )
    return Check("grammars", "ok", f"{len(loaded)} grammars load ({', '.join(loaded)})", facts)


def check_settings(
    settings: Settings, workspace: Path, overrides: Mapping[str, Any] | None, overrides_origin: str | None
) -> tuple[Check, Settings]:
    """The settings the server would start with: defaults, ``qwen-lsp.toml`` files, initializationOptions."""
    from lsp_server.config.layers import SettingsStore

    store = SettingsStore(settings)
    store.read_files(str(workspace))
    if overrides is not None:
        store.set_layer("initializationOptions", overrides, overrides_origin or "")
    resolved, problems = store.refresh()
    files = [str(path) for path in store.config_files(str(workspace)) if path.exists()]
    if overrides_origin:
        files.append(overrides_origin)
    facts: dict[str, Any] = {
        "files": files,
        "nCtx": resolved.settings.model.n_ctx,
        "temperature": resolved.settings.completion.temperature,
        "problems": problems,
    }
    sources = ", ".join(files) if files else "defaults only, no qwen-lsp.toml"
    if problems:
        failed = Check(
            "settings",
            "fail",
            f"{len(problems)} problem(s): " + "; ".join(problems),
            facts,
            fix="Fix or remove these keys; the server ignores them and keeps the previous values "
            "(`qwen-lsp config --print` shows where each value comes from).",
        )
        return failed, resolved.settings
    return Check("settings", "ok", f"settings parse ({sources})", facts), resolved.settings


def read_settings_file(path: Path) -> tuple[Mapping[str, Any] | None, Check | None]:
    """Load a JSON file of initializationOptions; a Check describing the failure if it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, Check("settings", "fail", f"cannot read {path}: {exc}", fix="Pass a JSON object file.")
    if not isinstance(data, dict):
        return None, Check("settings", "fail", f"{path} is not a JSON object", fix="Pass a JSON object file.")
    return data, None


def prompt_style_note(settings: Settings) -> str:
    """What ``completion.promptStyle`` resolves to for the configured local model (``config --print``)."""
    setting = settings.completion.prompt_style
    path = Path(settings.model.path).expanduser() if settings.model.path else None
    if settings.model.remote.url or path is None or not path.is_file():
        where = "the model server" if settings.model.remote.url else "the model"
        return f"completion.prompt_style {setting!r} is settled when {where} is known: see `qwen-lsp doctor`"
    tokenizer, vocabulary = check_tokenizer(path)
    if vocabulary is None:
        return f"completion.prompt_style {setting!r}: {tokenizer.summary}"
    check = check_prompt_style(
        setting,
        fim=vocabulary.fim is not None,
        chat_template=vocabulary.chat_template,
        architecture=vocabulary.architecture,
    )
    return f"completion.prompt_style {setting!r} for {path.name}: {check.summary}"


def check_remote(settings: Settings) -> Check:
    """Reach the configured model server: its API, model, context size and FIM tokens (never the key)."""
    from lsp_server.engine.choose import api_key, make_backend
    from lsp_server.engine.gguf_check import ModelFileError
    from lsp_server.engine.jobs import BackendUnavailable
    from lsp_server.engine.remote.backend import RemoteBackend

    remote = settings.model.remote
    backend = make_backend(settings)
    assert isinstance(backend, RemoteBackend)
    facts: dict[str, Any] = {"url": backend.client.endpoint.shown, "apiKey": bool(api_key(settings))}
    try:
        info = backend.load(lambda _done, _total, _message: None)
    except (BackendUnavailable, ModelFileError) as exc:
        fix = "Start the server, check the URL, or set the key in $" + (
            remote.api_key_env or "QWEN_LSP_API_KEY"
        )
        return Check("remote", "fail", str(exc), facts, fix=fix)
    finally:
        backend.close()
    facts.update(backend.describe(), nCtx=info.n_ctx, fim=info.fim is not None)
    style = style_for(info, settings.completion.prompt_style)
    facts.update(promptStyle=style.style, promptStyleReason=style.reason)
    fim = f"fill-in-the-middle ({info.fim.spelling})" if info.fim else "no fill-in-the-middle (prefix only)"
    summary = f"{backend.api} API at {facts['url']}: model {info.name}, context {info.n_ctx}, {fim}"
    if backend.api == "llama":
        summary += f", slot {backend.slot}" if backend.slot >= 0 else ", slot chosen by the server"
    summary += f"; prompt style {style.style} ({style.reason})"
    return Check("remote", "ok", summary, facts)


def run_checks(
    choice: ModelChoice, settings: Settings, workspace: Path, settings_file: Path | None = None
) -> list[Check]:
    """Run every check, in the order they are reported."""
    checks: list[Check] = []
    vocabulary: Vocabulary | None = None
    if settings.model.remote.url:
        checks.append(check_remote(settings))
    if choice.path is not None or not settings.model.remote.url:
        model, info = check_model(choice)
        checks.append(model)
        if info is not None:
            tokenizer, vocabulary = check_tokenizer(info.path)
            checks.append(tokenizer)
    overrides: Mapping[str, Any] | None = None
    if settings_file is not None:
        overrides, problem = read_settings_file(settings_file)
        if problem is not None:
            return [*checks, check_llama_cpp(settings.model), check_grammars(), problem]
    settings_check, resolved = check_settings(
        settings, workspace, overrides, str(settings_file) if settings_file else None
    )
    if vocabulary is not None and not settings.model.remote.url:
        style = check_prompt_style(
            resolved.completion.prompt_style,
            fim=vocabulary.fim is not None,
            chat_template=vocabulary.chat_template,
            architecture=vocabulary.architecture,
        )
        checks.append(style)
    return [*checks, check_llama_cpp(resolved.model), check_grammars(), settings_check]


def exit_code(checks: list[Check]) -> int:
    """0 when nothing needs fixing, 1 otherwise (warnings do not count)."""
    return 1 if any(check.status == "fail" for check in checks) else 0


def format_report(checks: list[Check]) -> str:
    """The human-readable report."""
    labels = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    width = max(len(check.name) for check in checks)
    lines = []
    for check in checks:
        lines.append(f"[{labels[check.status]}] {check.name:<{width}}  {check.summary}")
        indent = " " * (width + 9)
        lines += [f"{indent}note: {note}" for note in check.notes]
        if check.fix and check.status != "ok":
            lines.append(f"{indent}fix:  {check.fix}")
    failures = sum(check.status == "fail" for check in checks)
    warnings = sum(check.status == "warn" for check in checks)
    if failures:
        lines.append(f"{failures} problem(s) to fix" + (f", {warnings} warning(s)." if warnings else "."))
    else:
        lines.append("Everything needed is in place" + (f" ({warnings} warning(s))." if warnings else "."))
    return "\n".join(lines) + "\n"


def report_data(checks: list[Check]) -> dict[str, Any]:
    """The ``--json`` report."""
    return {"ok": exit_code(checks) == 0, "checks": [attrs.asdict(check) for check in checks]}
