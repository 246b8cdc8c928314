"""The remote engines' pure parts: the estimating tokenizer, healing grammar, slot choice, URLs, settings,
and what an unreachable server does to the worker (a real closed port; no llama-server needed)."""

from __future__ import annotations

import socket
import time

import pytest

from lsp_server.cli import build_parser, settings_from_args
from lsp_server.config.layers import Layer, describe, flatten_settings, resolve
from lsp_server.engine.choose import api_key, make_backend
from lsp_server.engine.engine import Engine
from lsp_server.engine.remote.backend import RemoteBackend, RemoteConfig, healing_grammar
from lsp_server.engine.remote.http import Endpoint, HttpClient, RemoteError
from lsp_server.engine.remote.tokenizers import TextTokenizer, fim_spellings
from lsp_server.model_api import EngineEvent, EngineState, GenerationRequest, PromptLayout
from lsp_server.settings import Settings
from tests.test_cli import run_cli

SAMPLES = [
    "def add(a, b):\n    return a + b\n",
    "    for (int i = 0; i < n; ++i) { total += values[i]; }\r\n",
    "naïve = 'café' + \"日本語\" + '🙂' # non-ASCII\n\t\tx",
    "a_very_long_identifier_name_that_goes_on_and_on = 12345678901234567890",
    "<|fim_prefix|> is plain text here\n",
    "",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_text_tokenizer_ids_spell_their_text(text: str) -> None:
    tok = TextTokenizer(("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"))
    ids = tok(text)
    assert tok.detokenize(ids) == text
    assert tok.count(text) == len(ids)
    assert all(0 < len(tok.token_bytes([token], special=False)) <= 16 for token in ids)
    assert all(token >= 3 for token in ids)  # plain text never becomes a special token


def test_text_tokenizer_specials_and_estimate() -> None:
    tok = TextTokenizer(("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"))
    ids = tok.with_special("<|fim_prefix|>x = 1<|fim_suffix|>\n<|fim_middle|>")
    assert ids[0] == 0 and 1 in ids and ids[-1] == 2
    assert tok.detokenize(ids) == "<|fim_prefix|>x = 1<|fim_suffix|>\n<|fim_middle|>"
    assert tok.token_bytes(ids, special=False) == b"x = 1\n"
    # About one token per word or punctuation run: close to what a code model's BPE gives.
    assert 8 <= tok.count("def add(a, b):\n    return a + b\n") <= 16


def test_fim_spellings_follow_the_model_name() -> None:
    assert fim_spellings("auto", "Qwen/Qwen2.5-Coder-7B-Instruct") == (
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
    )
    assert fim_spellings("auto", "bigcode/starcoder2-3b")[0] == "<fim_prefix>"  # type: ignore[index]
    assert fim_spellings("auto", "gpt-4o-mini") is None
    assert fim_spellings("codellama", "anything") == ("<PRE>", "<SUF>", "<MID>")
    assert fim_spellings("none", "qwen") is None


def test_healing_grammar_spells_the_characters_exactly() -> None:
    assert healing_grammar("ke") == 'root ::= "ke" .*'
    assert healing_grammar('a"b\\c\n') == 'root ::= "a\\"b\\\\c\\x0A" .*'


def test_endpoint_hides_credentials_and_rejects_bad_urls() -> None:
    endpoint = Endpoint("https://user:secret@example.com:8443/v1", api_key="k-123")
    assert endpoint.shown == "https://example.com:8443/v1"
    assert "k-123" not in repr(endpoint) and "secret" not in endpoint.shown
    with pytest.raises(RemoteError, match="http"):
        _ = Endpoint("ftp://example.com").base


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is


def test_unreachable_server_error_is_clear() -> None:
    client = HttpClient(Endpoint(f"http://127.0.0.1:{_closed_port()}", api_key="k-999", timeout=2))
    with pytest.raises(RemoteError) as raised:
        client.get("/props")
    assert raised.value.kind == "unreachable" and raised.value.temporary
    assert "cannot reach the model server at http://127.0.0.1:" in str(raised.value)
    assert "k-999" not in str(raised.value)


def test_worker_answers_unavailable_while_the_server_is_down_and_closes_promptly() -> None:
    events: list[EngineEvent] = []
    url = f"http://127.0.0.1:{_closed_port()}"
    engine = Engine(RemoteBackend(RemoteConfig(url=url, api="llama", timeout=2)), events.append)
    engine.start()
    deadline = time.monotonic() + 20
    while not engine.outage and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.state is EngineState.LOADING and "cannot reach" in engine.outage
    request = GenerationRequest(
        build_prompt=lambda _info, _tok: PromptLayout((1,), (), fim=False), max_tokens=4
    )
    result = engine.submit(request).result(timeout=1)  # at once: no wait for the next try
    assert result.stop_reason == "unavailable" and result.message == engine.outage
    assert [event.kind for event in events].count("unavailable") == 1
    started = time.monotonic()
    engine.close()
    assert time.monotonic() - started < 5
    assert engine.state is EngineState.CLOSED and engine.failure == ""


def test_remote_settings_nest_and_choose_the_backend() -> None:
    resolved = resolve(
        Settings(),
        [
            Layer(
                "editor",
                {"model": {"remote": {"url": "http://gpu:8080", "api": "openai", "apiKeyEnv": "TEAM_KEY"}}},
            )
        ],
    )
    settings = resolved.settings
    assert resolved.problems == ()
    assert settings.model.remote.url == "http://gpu:8080" and settings.model.remote.api == "openai"
    assert resolved.sources["model.remote.url"] == "editor"
    assert "model.remote.api_key_env" in flatten_settings(settings)
    assert "model.remote.url" in describe(resolved)
    assert api_key(settings, {"TEAM_KEY": "t-1", "QWEN_LSP_API_KEY": "other"}) == "t-1"
    backend = make_backend(settings, {"TEAM_KEY": "t-1"})
    assert isinstance(backend, RemoteBackend) and backend.api == "openai"
    assert backend.describe() == {"url": "http://gpu:8080", "api": "openai", "model": "", "slot": -1}
    bad = resolve(Settings(), [Layer("editor", {"model": {"remote": {"api": "grpc", "nope": 1}}})])
    assert len(bad.problems) == 2 and bad.settings.model.remote.api == "auto"


def test_cli_remote_flags() -> None:
    args = build_parser().parse_args(
        ["serve", "--remote", "http://gpu:8080", "--remote-api", "llama", "--remote-model", "coder"]
    )
    remote = settings_from_args(args).model.remote
    assert (remote.url, remote.api, remote.model) == ("http://gpu:8080", "llama", "coder")


def test_doctor_reports_an_unreachable_remote() -> None:
    done = run_cli("doctor", "--remote", f"http://127.0.0.1:{_closed_port()}", "--json")
    assert done.returncode == 1
    assert '"remote"' in done.stdout and "cannot reach the model server" in done.stdout
