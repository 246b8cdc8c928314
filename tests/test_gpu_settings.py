"""GPU offload settings: how they resolve on a build that can (not) offload, what doctor says, and a real
load with them on this build (a CPU-only build on these machines: the settings must change nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsp_server.config.layers import Layer, resolve
from lsp_server.engine.engine import Engine
from lsp_server.engine.llama.backend import LlamaBackend, LlamaConfig, resolve_acceleration
from lsp_server.engine.llama.probe import build_facts
from lsp_server.engine.model_source import ModelSpec
from lsp_server.model_api import GenerationRequest, ModelInfo, PromptLayout, PromptPiece, Tokenizer
from lsp_server.settings import Settings
from tests.test_cli import run_cli


@pytest.mark.parametrize(
    ("layers", "flash", "kv", "supported", "expected"),
    [
        (None, "auto", "f16", True, (-1, True)),  # a GPU build: everything on the GPU, flash attention on
        (None, "auto", "f16", False, (0, False)),  # CPU only: nothing changes
        (12, "auto", "f16", True, (12, True)),
        (12, "auto", "f16", False, (0, False)),  # asked for, but the build cannot: CPU
        (0, "auto", "f16", True, (0, False)),  # kept on the CPU by choice
        (None, "auto", "q8_0", False, (0, True)),  # a quantized KV cache needs flash attention
        (None, "off", "f16", True, (-1, False)),
        (0, "on", "f16", False, (0, True)),
    ],
)
def test_acceleration_resolves_from_settings_and_build(
    layers: int | None, flash: str, kv: str, supported: bool, expected: tuple[int, bool]
) -> None:
    use = resolve_acceleration(layers, flash, kv, gpu_offload_supported=supported)
    assert (use.gpu_layers, use.flash_attention) == expected
    assert use.kv_cache_type == kv and use.gpu_offload_supported is supported


def test_settings_accept_and_reject_gpu_values() -> None:
    resolved = resolve(
        Settings(),
        [Layer("test", {"model": {"gpuLayers": -1, "flashAttention": "on", "kvCacheType": "q8_0"}})],
    )
    settings, problems = resolved.settings, list(resolved.problems)
    assert problems == []
    assert (settings.model.gpu_layers, settings.model.flash_attention, settings.model.kv_cache_type) == (
        -1,
        "on",
        "q8_0",
    )
    resolved = resolve(Settings(), [Layer("test", {"model": {"gpuLayers": -3, "kvCacheType": "q2"}})])
    assert len(resolved.problems) == 2


def test_doctor_says_what_the_build_can_do_and_what_is_used(smollm2_path: Path, tmp_path: Path) -> None:
    offload = build_facts().gpu_offload
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"model": {"gpuLayers": 20, "kvCacheType": "q8_0"}}))
    result = run_cli("doctor", "--model", smollm2_path, "--settings", settings, "--json")
    check = {check["name"]: check for check in json.loads(result.stdout)["checks"]}["llama.cpp"]
    facts = check["facts"]
    assert facts["gpuOffload"] is offload
    assert facts["gpuLayers"] == (20 if offload else 0)
    assert facts["flashAttention"] is True and facts["kvCacheType"] == "q8_0"
    assert "flash attention on, KV cache q8_0" in check["summary"]
    if not offload:
        assert check["status"] == "warn" and "gpuLayers is 20" in check["fix"]


def _prompt(text: str) -> object:
    def build(info: ModelInfo, tokenize: Tokenizer) -> PromptLayout:
        tokens = (*info.bos, *tokenize(text))
        return PromptLayout(tokens, (PromptPiece("text", len(tokens)),), fim=False)

    return build


def test_a_model_loads_and_answers_with_gpu_settings_on_this_build(smollm2_path: Path) -> None:
    """All layers asked for the GPU, a q8_0 KV cache (so flash attention): the load uses what it can."""
    config = LlamaConfig(model=ModelSpec(path=smollm2_path), n_ctx=512, gpu_layers=-1, kv_cache_type="q8_0")
    backend = LlamaBackend(config)
    engine = Engine(backend)
    engine.start()
    try:
        assert engine.wait_ready(300), engine.failure
        use = backend.acceleration
        assert use is not None
        assert use.gpu_layers == (-1 if build_facts().gpu_offload else 0)
        assert use.flash_attention is True and use.kv_cache_type == "q8_0"
        request = GenerationRequest(build_prompt=_prompt("def add(a, b):\n    return"), max_tokens=8)  # type: ignore[arg-type]
        result = engine.submit(request).result(300)
        assert result.stop_reason in {"max_tokens", "eos"} and result.generated_tokens > 0
    finally:
        engine.close()
