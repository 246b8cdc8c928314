from __future__ import annotations

from pathlib import Path

import pytest
import tree_sitter

from lsp_server import languages
from lsp_server.context.languages import (
    SUPPORTED_LANGUAGES,
    detect_language,
    get_language,
    get_parser,
    parse,
)


@pytest.mark.parametrize(
    ("language_id", "expected"),
    [
        ("python", "python"),
        ("javascript", "javascript"),
        ("javascriptreact", "javascript"),
        ("typescript", "typescript"),
        ("typescriptreact", "tsx"),
        ("go", "go"),
        ("rust", "rust"),
        ("c", "c"),
        ("cpp", "cpp"),
        ("java", "java"),
        ("lua", "lua"),
        ("Python", "python"),
    ],
)
def test_detect_by_language_id(language_id: str, expected: str) -> None:
    # The languageId wins over a misleading extension.
    assert detect_language(language_id, "file:///tmp/notes.txt") == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("file:///home/u/proj/app.py", "python"),
        ("/home/u/proj/stubs.pyi", "python"),
        ("file:///a/index.js", "javascript"),
        ("file:///a/index.mjs", "javascript"),
        ("file:///a/index.cjs", "javascript"),
        ("file:///a/App.jsx", "javascript"),
        ("file:///a/main.ts", "typescript"),
        ("file:///a/main.mts", "typescript"),
        ("file:///a/main.cts", "typescript"),
        ("file:///a/App.tsx", "tsx"),
        ("file:///a/main.go", "go"),
        ("file:///a/src/lib.rs", "rust"),
        ("file:///a/main.c", "c"),
        ("file:///a/main.h", "c"),
        ("file:///a/w.cc", "cpp"),
        ("file:///a/w.cpp", "cpp"),
        ("file:///a/w.cxx", "cpp"),
        ("file:///a/w.hpp", "cpp"),
        ("file:///a/w.hh", "cpp"),
        ("file:///a/Main.java", "java"),
        ("file:///a/init.lua", "lua"),
        ("file:///a/My%20Dir/MAIN.PY", "python"),
        ("C:\\Users\\u\\proj\\main.rs", "rust"),
        ("relative/path/x.go", "go"),
    ],
)
def test_detect_by_extension(path: str, expected: str) -> None:
    assert detect_language(None, path) == expected


@pytest.mark.parametrize(
    ("language_id", "path"),
    [
        (None, "file:///a/README.md"),
        (None, "file:///a/Makefile"),
        ("plaintext", "file:///a/notes.txt"),
        ("cobol", "file:///a/payroll.cbl"),
        ("", "untitled:Untitled-1"),
        (None, "file:///a/archive.tar.gz"),
    ],
)
def test_detect_unknown(language_id: str | None, path: str) -> None:
    assert detect_language(language_id, path) is None


def test_unknown_language_id_falls_back_to_extension() -> None:
    assert detect_language("plaintext", "file:///a/b.py") == "python"


SAMPLES = {
    "python": "import os\n\n\nclass A:\n    def f(self, x: int) -> int:\n        return x + 1\n",
    "javascript": "const f = (a) => {\n  return a.map((x) => x * 2);\n};\nclass A { m() {} }\n",
    "typescript": "interface P { x: number }\nfunction f<T>(a: T): T {\n  return a;\n}\n",
    "tsx": "export function App(): JSX.Element {\n  return <div className='a'>{1}</div>;\n}\n",
    "go": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n',
    "rust": 'fn main() {\n    let v: Vec<i32> = vec![1, 2];\n    println!("{:?}", v);\n}\n',
    "c": '#include <stdio.h>\n\nint main(void) {\n    printf("hi\\n");\n    return 0;\n}\n',
    "cpp": "#include <vector>\n\nnamespace a {\ntemplate <typename T>\nT id(T x) { return x; }\n}\n",
    "java": "public class Main {\n    public static void main(String[] args) {\n"
    '        System.out.println("hi");\n    }\n}\n',
    "lua": "local function f(a)\n  if a then\n    return 1\n  end\nend\nlocal t = {1, 2}\n",
}


LANGUAGE_TESTS = Path(__file__).resolve().parent / "languages"


def test_every_language_has_a_sample_or_its_own_tests() -> None:
    """The first ten languages have a sample here; every later one its own tests/languages/test_<name>.py."""
    own = {path.stem.removeprefix("test_") for path in LANGUAGE_TESTS.glob("test_*.py")}
    assert set(SAMPLES) | own == set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_every_parser_parses_a_sample(language: str) -> None:
    tree = parse(language, SAMPLES[language])
    assert isinstance(tree, tree_sitter.Tree)
    assert not tree.root_node.has_error
    assert tree.root_node.child_count > 0


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_parsers_and_languages_are_cached(language: str) -> None:
    assert get_parser(language) is get_parser(language)
    assert get_language(language) is get_language(language)
    assert isinstance(get_language(language), tree_sitter.Language)


def test_unsupported_language_raises() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        get_parser("cobol")


def test_profiles_are_complete_and_consistent() -> None:
    """Each profile names its wheel, ids and extensions; no id or extension means two languages."""
    seen_ids: dict[str, str] = {}
    seen_extensions: dict[str, str] = {}
    for name, profile in languages.profiles().items():
        assert profile.name == name and name in profile.language_ids, name
        assert profile.wheel.startswith("tree-sitter-") and profile.extensions, name
        assert profile.syntax.containers, name
        for key in profile.language_ids:
            assert seen_ids.setdefault(key, name) == name, (key, name)
        for extension in profile.extensions:
            assert extension.startswith(".") and extension == extension.lower(), (name, extension)
            assert seen_extensions.setdefault(extension, name) == name, (extension, name)
        grammar = get_language(name)
        for kind in profile.syntax.containers | profile.syntax.function_kinds | profile.syntax.type_kinds:
            assert grammar.id_for_node_kind(kind, True) is not None, f"{name}: no node type {kind!r}"


def test_pyproject_declares_every_grammar_wheel() -> None:
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    for profile in languages.profiles().values():
        assert f'"{profile.wheel}>=' in pyproject, profile.wheel


def test_editor_client_language_lists_are_generated_from_the_profiles() -> None:
    from devtools import editor_languages

    assert editor_languages.stale() == [], "run: python -m devtools.editor_languages --write"
    ids = editor_languages.client_ids()
    assert {"python", "javascriptreact", "typescriptreact"} <= set(ids)
