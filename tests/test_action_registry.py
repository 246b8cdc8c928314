"""The code-action registry: every module in lsp_server/lsp/actions is one action with its own template."""

from __future__ import annotations

from lsp_server.lsp import actions
from lsp_server.prompt.templates import package_prompts_dir

REPO_PROMPTS = package_prompts_dir().parent.parent / "prompts"


def test_every_action_module_is_registered_in_light_bulb_order() -> None:
    found = actions.actions()
    assert [entry.command for entry in found] == [
        "qwenLsp.explain",
        "qwenLsp.generateDocstring",
        "qwenLsp.writeTests",
        "qwenLsp.fixDiagnostic",
    ]
    assert actions.commands() == tuple(entry.command for entry in found)
    assert [entry.order for entry in found] == sorted(entry.order for entry in found)


def test_every_action_has_its_prompt_template() -> None:
    for entry in actions.actions():
        assert (package_prompts_dir() / f"{entry.template}.j2").is_file(), entry.template
        assert (REPO_PROMPTS / f"{entry.template}.j2").is_file(), entry.template
