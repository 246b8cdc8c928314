"""Code actions on a definition: explain, document, fix a diagnostic, write tests (pure functions)."""
