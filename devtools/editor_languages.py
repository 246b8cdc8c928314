"""The editor clients' language lists, generated from the language profiles (``lsp_server.languages``).

Three lists name the languages the clients attach the server to: VS Code's ``activationEvents`` in
``editor_clients/vscode/package.json``, ``LANGUAGES`` in ``editor_clients/vscode/src/common/constants.ts``
and ``filetypes`` in ``editor_clients/neovim/lua/qwen_lsp/config.lua``. Each is rewritten from every
profile's ``client_ids``:

    .venv/bin/python -m devtools.editor_languages --write   # after adding a language
    .venv/bin/python -m devtools.editor_languages --check   # exit 1 when a list is stale (a test runs it)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from lsp_server import languages

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_JSON = ROOT / "editor_clients" / "vscode" / "package.json"
CONSTANTS_TS = ROOT / "editor_clients" / "vscode" / "src" / "common" / "constants.ts"
CONFIG_LUA = ROOT / "editor_clients" / "neovim" / "lua" / "qwen_lsp" / "config.lua"

_TS_LIST = re.compile(r"(export const LANGUAGES = \[\n)(.*?)(\];)", re.DOTALL)
_LUA_LIST = re.compile(r"(\n  filetypes = \{\n)(.*?)(  \},)", re.DOTALL)


def client_ids() -> list[str]:
    """Every language id / filetype the clients attach to, in profile order, without repeats."""
    found: list[str] = []
    for profile in languages.profiles().values():
        found.extend(key for key in profile.client_ids if key not in found)
    return found


def _package_json(text: str, ids: list[str]) -> str:
    package = json.loads(text)
    package["activationEvents"] = [f"onLanguage:{key}" for key in ids]
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def _replace_list(pattern: re.Pattern[str], line: Callable[[str], str]) -> Callable[[str, list[str]], str]:
    def rewrite(text: str, ids: list[str]) -> str:
        match = pattern.search(text)
        if match is None:
            raise ValueError(f"no generated list matching {pattern.pattern!r}")
        body = "".join(line(key) for key in ids)
        return text[: match.start(2)] + body + text[match.end(2) :]

    return rewrite


GENERATED: dict[Path, Callable[[str, list[str]], str]] = {
    PACKAGE_JSON: _package_json,
    CONSTANTS_TS: _replace_list(_TS_LIST, lambda key: f'  "{key}",\n'),
    CONFIG_LUA: _replace_list(_LUA_LIST, lambda key: f'    "{key}",\n'),
}


def stale() -> list[Path]:
    """The generated files whose language list differs from the profiles."""
    ids = client_ids()
    return [
        path
        for path, rewrite in GENERATED.items()
        if rewrite(path.read_text("utf-8"), ids) != path.read_text("utf-8")
    ]


def write() -> list[Path]:
    """Rewrite the stale files; return them."""
    ids = client_ids()
    changed = stale()
    for path in changed:
        path.write_text(GENERATED[path](path.read_text("utf-8"), ids), "utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Write or check the generated lists."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the lists from the profiles")
    mode.add_argument("--check", action="store_true", help="exit 1 if a list is out of date")
    args = parser.parse_args(argv)
    if args.write:
        for path in write():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    out_of_date = stale()
    for path in out_of_date:
        print(f"stale: {path.relative_to(ROOT)} (run python -m devtools.editor_languages --write)")
    return 1 if out_of_date else 0


if __name__ == "__main__":
    sys.exit(main())
