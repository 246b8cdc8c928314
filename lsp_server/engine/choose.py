"""Which backend serves the model: the in-process llama.cpp one, or a remote server when one is configured.

What the user sees: with ``model.remote.url`` set (or ``--remote URL``) no model loads here; the key for
that server comes from the environment (``QWEN_LSP_API_KEY`` or the variable ``model.remote.apiKeyEnv``
names), never from a settings file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from lsp_server.engine.jobs import Backend
from lsp_server.engine.model_source import ModelSpec
from lsp_server.settings import Settings


def model_spec(settings: Settings) -> ModelSpec:
    """Where the local GGUF comes from: a path, or the Hugging Face repo and file."""
    model = settings.model
    return ModelSpec(
        path=Path(model.path).expanduser() if model.path else None,
        hf_repo=model.hf_repo,
        hf_file=model.hf_file,
    )


def api_key(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """The remote server's key, read from the environment variable the settings name."""
    environ = os.environ if environ is None else environ
    return environ.get(settings.model.remote.api_key_env or "QWEN_LSP_API_KEY", "")


def make_backend(settings: Settings, environ: Mapping[str, str] | None = None) -> Backend:
    """The backend the settings ask for (nothing is loaded or contacted yet)."""
    model = settings.model
    token_cache_bytes = model.token_cache_mib * 1024 * 1024
    url = model.remote.url
    if url:
        from lsp_server.engine.remote.backend import RemoteBackend, RemoteConfig

        remote = model.remote
        return RemoteBackend(
            RemoteConfig(
                url=url,
                api=remote.api,
                model=remote.model,
                api_key=api_key(settings, environ),
                timeout=remote.timeout_s,
                slot=remote.slot,
                fim=remote.fim,
                n_ctx=model.n_ctx,
                vocabulary=Path(model.path).expanduser() if model.path else None,
                token_cache_bytes=token_cache_bytes,
            )
        )
    from lsp_server.engine.llama.backend import LlamaBackend, LlamaConfig

    return LlamaBackend(
        LlamaConfig(
            model=model_spec(settings),
            n_ctx=model.n_ctx,
            n_threads=model.n_threads,
            prompt_batch=model.prompt_batch,
            use_mmap=model.use_mmap,
            seed=model.seed,
            gpu_layers=model.gpu_layers,
            flash_attention=model.flash_attention,
            kv_cache_type=model.kv_cache_type,
            token_cache_bytes=token_cache_bytes,
        )
    )
