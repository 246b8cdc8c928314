"""TSX: TypeScript with JSX (the grammar wheel's second language)."""

from __future__ import annotations

import tree_sitter_typescript

from lsp_server.languages import javascript, typescript
from lsp_server.languages.profile import Docs, LanguageProfile, Tests

PROFILE = LanguageProfile(
    name="tsx",
    grammar=tree_sitter_typescript.language_tsx,
    wheel="tree-sitter-typescript",
    language_ids=("typescriptreact", "tsx"),
    editor_ids=("typescriptreact",),
    extensions=(".tsx",),
    family="javascript",
    indent_unit="  ",
    word_chars="$",
    lexing=javascript.LEXING,
    syntax=typescript.SYNTAX,
    docs=Docs(style="a TSDoc comment"),
    tests=Tests(framework="Jest with React Testing Library", file_name="{stem}.{name}.test{suffix}"),
)
