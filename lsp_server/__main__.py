"""``python -m lsp_server serve`` runs the same command as ``qwen-lsp serve``."""

from __future__ import annotations

import sys

from lsp_server.cli import main

sys.exit(main())
