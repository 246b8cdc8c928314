"""Settings: every knob the server has, with its default, in one typed tree.

What the user sees: the same names in ``initializationOptions`` (camelCase, as editors send them) and on the
command line; an invalid value is reported by key and the default is kept.
"""

from __future__ import annotations

from typing import Literal

import attrs

# The default model, fetched from the Hugging Face hub when no model path is set.
DEFAULT_HF_REPO = "unsloth/Qwen3.5-4B-GGUF"
DEFAULT_HF_FILE = "Qwen3.5-4B-Q4_K_M.gguf"


@attrs.define
class RemoteSettings:
    """A model served by another process instead of one loaded here.

    A team's llama-server, vLLM, SGLang, Ollama, LM Studio or a hosted API.
    """

    url: str | None = attrs.field(
        default=None,
        metadata={
            "description": "Base URL of the model server (e.g. http://gpu-box:8080). When set, no local "
            "model is loaded: completions and code actions go to that server."
        },
    )
    api: Literal["auto", "llama", "openai"] = attrs.field(
        default="auto",
        metadata={
            "description": "The server's API: 'llama' (llama-server's /completion with token ids, prompt "
            "cache and a slot per editor), 'openai' (/v1/completions and /v1/chat/completions: vLLM, "
            "SGLang, Ollama, LM Studio, hosted APIs), or 'auto' (asks the server)."
        },
    )
    model: str | None = attrs.field(
        default=None,
        metadata={
            "description": "Model name sent to an OpenAI-compatible server; empty: the first model the "
            "server lists."
        },
    )
    api_key_env: str = attrs.field(
        default="QWEN_LSP_API_KEY",
        metadata={
            "description": "Name of the environment variable holding the API key (the key itself is "
            "never read from a settings file)."
        },
    )
    timeout_s: float = attrs.field(
        default=30.0,
        validator=attrs.validators.gt(0),
        metadata={"description": "Seconds to wait for the server to connect or to send the next token."},
    )
    slot: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.ge(0)),
        metadata={
            "description": "llama-server slot this editor always uses (its own KV cache on a shared "
            "server); empty: the server gives each request the idle slot whose cache shares the most "
            "with its prompt (llama-server --slot-prompt-similarity)."
        },
    )
    fim: Literal["auto", "qwen", "starcoder", "codellama", "deepseek", "none"] = attrs.field(
        default="auto",
        metadata={
            "description": "Fill-in-the-middle markers an OpenAI-compatible model was trained with, when "
            "no local GGUF tells; 'auto' guesses from the model name, 'none' completes from the prefix."
        },
    )


@attrs.define
class ModelSettings:
    """Which GGUF model to keep resident and how to run it."""

    path: str | None = None
    hf_repo: str = DEFAULT_HF_REPO
    hf_file: str = DEFAULT_HF_FILE
    n_ctx: int = 4096
    n_threads: int | None = None
    prompt_batch: int = 64
    use_mmap: bool = False
    seed: int = 0
    gpu_layers: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.ge(-1)),
        metadata={
            "description": "Layers offloaded to the GPU (llama.cpp `n_gpu_layers`; -1: all). Empty: all "
            "layers when this llama.cpp build can offload (CUDA, Metal, Vulkan ...), else 0 (CPU only)."
        },
    )
    flash_attention: Literal["auto", "on", "off"] = attrs.field(
        default="auto",
        metadata={
            "description": "Flash attention. 'auto': on when layers are offloaded to a GPU or the KV cache "
            "is quantized, off on the CPU (the CPU's results stay what they were)."
        },
    )
    token_cache_mib: int = attrs.field(
        default=16,
        validator=attrs.validators.ge(1),
        metadata={
            "description": "Memory for the token cache (tokens of lines seen before, so prompts are not "
            "tokenized again), in MiB; a 5,000-line file takes about 3."
        },
    )
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] = attrs.field(
        default="f16",
        metadata={
            "description": "Data type of the KV cache; 'q8_0' halves its memory (needs flash attention, "
            "which 'auto' then turns on)."
        },
    )
    remote: RemoteSettings = attrs.Factory(RemoteSettings)


@attrs.define
class CompletionSettings:
    """How inline completions are built and bounded."""

    enabled: bool = True
    prefix_tokens: int = 1536
    suffix_tokens: int = 512
    outline_tokens: int = 384
    neighbour_tokens: int = 512
    token_healing: bool = True
    max_tokens_single_line: int = 64
    max_tokens_multi_line: int = 256
    max_lines_multi_line: int = 64
    temperature: float = 0.0
    max_document_bytes: int = 5 * 1024 * 1024
    prompt_layout: Literal["region", "cursor"] = "region"
    prompt_style: Literal["auto", "fim", "chat", "prefix"] = "auto"
    max_predict_ms: int = attrs.field(default=500, validator=attrs.validators.ge(0))
    region_lines: int = attrs.field(default=32, validator=attrs.validators.ge(0))
    region_chars: int = attrs.field(default=1536, validator=attrs.validators.ge(0))


@attrs.define
class ActionSettings:
    """Code actions (explain, docstring, fix, tests): how much the model may read and write."""

    enabled: bool = attrs.field(
        default=True, metadata={"description": "Offer the code actions (explain, docstring, fix, tests)."}
    )
    max_tokens: int = attrs.field(
        default=768,
        validator=attrs.validators.ge(1),
        metadata={"description": "Most tokens the model writes for one code action."},
    )
    temperature: float = attrs.field(
        default=0.0,
        validator=attrs.validators.ge(0.0),
        metadata={"description": "Sampling temperature for code actions; 0 picks the most likely token."},
    )
    max_context_chars: int = attrs.field(
        default=12000,
        validator=attrs.validators.ge(100),
        metadata={"description": "Most characters of a definition put in a code-action prompt."},
    )


@attrs.define
class NextEditSettings:
    """Next-edit suggestions: a replacement predicted from the user's recent edits."""

    enabled: bool = attrs.field(
        default=True,
        metadata={
            "description": "Suggest the next edit (the same rename on the next usage, ...) after an edit "
            "settles, as a replacement near the cursor (inline completion) and anywhere in the file "
            "(`textDocument/copilotInlineEdit`)."
        },
    )
    repeat: bool = attrs.field(
        default=True,
        metadata={
            "description": "Offer the last edit made again at the next place that still reads as it did "
            "before it (a rename's next usage) at once, without the model; off: the model predicts every "
            "next edit."
        },
    )
    prompt_style: Literal["instruct", "zeta"] = attrs.field(
        default="instruct",
        metadata={
            "description": "'instruct': the model's chat template with an instruction (any instruct model); "
            "'zeta': the prompt format of Zed's Zeta next-edit models, for users who load their GGUFs."
        },
    )
    max_tokens: int = attrs.field(
        default=256,
        validator=attrs.validators.ge(1),
        metadata={"description": "Most tokens the model writes for one next-edit prediction."},
    )
    debounce_ms: int = attrs.field(
        default=300,
        validator=attrs.validators.ge(0),
        metadata={"description": "How long the last edit must have settled before a prediction starts."},
    )


@attrs.define
class PromptSettings:
    """Where prompt templates come from."""

    dir: str | None = attrs.field(
        default=None,
        metadata={
            "description": "Folder of prompt templates (`explain.j2`, ...) that replace the shipped ones; "
            "the workspace's `.qwen-lsp/prompts/` wins over it."
        },
    )


@attrs.define
class Settings:
    """The whole settings tree."""

    model: ModelSettings = attrs.Factory(ModelSettings)
    completion: CompletionSettings = attrs.Factory(CompletionSettings)
    actions: ActionSettings = attrs.Factory(ActionSettings)
    next_edit: NextEditSettings = attrs.Factory(NextEditSettings)
    prompts: PromptSettings = attrs.Factory(PromptSettings)
    log_level: str = "info"
