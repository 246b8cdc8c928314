"""Layered settings: order, origins, invalid values keep their old value, TOML files, config --print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.config.layers import (
    Layer,
    SettingsStore,
    describe,
    flatten_settings,
    read_toml_layer,
    resolve,
)
from lsp_server.settings import Settings


def test_later_layers_win_and_each_value_knows_its_origin() -> None:
    resolved = resolve(
        Settings(),
        [
            Layer("user config", {"completion": {"max_tokens_single_line": 10}, "actions": {"maxTokens": 5}}),
            Layer("workspace config", {"completion": {"maxTokensSingleLine": 20}}),
            Layer("initializationOptions", {"logLevel": "debug"}),
        ],
    )
    assert resolved.settings.completion.max_tokens_single_line == 20
    assert resolved.settings.actions.max_tokens == 5
    assert resolved.settings.log_level == "debug"
    assert resolved.sources["completion.max_tokens_single_line"] == "workspace config"
    assert resolved.sources["actions.max_tokens"] == "user config"
    assert resolved.sources["model.n_ctx"] == "default"
    assert resolved.problems == ()


def test_invalid_value_is_reported_by_key_and_keeps_its_previous_value() -> None:
    first = resolve(
        Settings(), [Layer("workspace/configuration", {"completion": {"maxTokensSingleLine": 32}})]
    )
    second = resolve(
        Settings(),
        [
            Layer(
                "workspace/configuration",
                {"completion": {"maxTokensSingleLine": "lots"}, "actions": {"maxTokens": 0}},
            )
        ],
        first,
    )
    assert second.settings.completion.max_tokens_single_line == 32
    assert second.sources["completion.max_tokens_single_line"] == "workspace/configuration"
    assert second.settings.actions.max_tokens == Settings().actions.max_tokens
    assert len(second.problems) == 2
    assert "completion.max_tokens_single_line" in second.problems[0] and "'lots'" in second.problems[0]
    assert "actions.max_tokens" in second.problems[1] and ">= 1" in second.problems[1]


def test_unknown_keys_are_reported() -> None:
    resolved = resolve(Settings(), [Layer("initializationOptions", {"completion": {"nope": 1}, "bogus": 2})])
    assert [problem.split(":")[-1].strip() for problem in resolved.problems] == ["unknown setting"] * 2


def test_a_misspelt_key_gets_the_nearest_real_one() -> None:
    # "MiB" is how the unit is written; the setting is spelt tokenCacheMib (a soak once set the wrong one).
    resolved = resolve(Settings(), [Layer("initializationOptions", {"model": {"tokenCacheMiB": 2}})])
    assert resolved.settings.model.token_cache_mib == Settings().model.token_cache_mib
    assert resolved.problems[0].endswith("unknown setting (did you mean 'tokenCacheMib'?)")
    fixed = resolve(Settings(), [Layer("initializationOptions", {"model": {"tokenCacheMib": 2}})])
    assert fixed.settings.model.token_cache_mib == 2 and not fixed.problems


def test_command_line_base_is_labelled() -> None:
    base = Settings()
    base.model.path = "/m.gguf"
    assert resolve(base, []).sources["model.path"] == "command line"


def test_toml_files_and_a_broken_file_keeps_its_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    user = tmp_path / "config" / "qwen-lsp" / "qwen-lsp.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[actions]\nmax_tokens = 11\n[completion]\nmaxTokensSingleLine = 7\n", encoding="utf-8")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "qwen-lsp.toml").write_text("[completion]\nmax_tokens_single_line = 9\n", encoding="utf-8")
    store = SettingsStore(Settings())
    store.read_files(str(workspace))
    resolved, problems = store.refresh()
    assert problems == []
    assert resolved.settings.actions.max_tokens == 11
    assert resolved.settings.completion.max_tokens_single_line == 9
    assert resolved.sources["completion.max_tokens_single_line"].startswith("workspace config")
    (workspace / "qwen-lsp.toml").write_text("[completion\n", encoding="utf-8")
    store.read_files(str(workspace))
    resolved, problems = store.refresh()
    assert len(problems) == 1 and "not valid TOML" in problems[0]
    assert resolved.settings.completion.max_tokens_single_line == 9
    _, again = store.refresh()
    assert again == []  # reported once, not on every refresh


def test_read_toml_layer_missing_file(tmp_path: Path) -> None:
    assert read_toml_layer("x", tmp_path / "absent.toml") == (None, None)


def test_describe_lists_every_setting_with_its_origin() -> None:
    text = describe(resolve(Settings(), [Layer("initializationOptions", {"actions": {"maxTokens": 5}})]))
    assert "actions.max_tokens" in text and "= 5  # initializationOptions" in text
    assert len(text.splitlines()) == len(flatten_settings(Settings()))


def test_config_print_command(tmp_path: Path) -> None:
    (tmp_path / "qwen-lsp.toml").write_text("[actions]\nmax_tokens = 12\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "lsp_server", "config", "--print", "--workspace", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env={"XDG_CONFIG_HOME": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"},
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("actions.max_tokens"))
    assert "= 12" in line and str(tmp_path / "qwen-lsp.toml") in line
