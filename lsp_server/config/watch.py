"""Watching files for changes (watchfiles) on a background thread.

What the user sees: editing ``qwen-lsp.toml`` or a prompt template takes effect without a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

logger = logging.getLogger(__name__)


class FileWatcher:
    """Calls ``on_change`` (on the watcher thread) with the changed paths under some directories."""

    def __init__(self, on_change: Callable[[set[Path]], None], *, debounce_ms: int = 150) -> None:
        self._on_change = on_change
        # watchfiles logs a line every few seconds at DEBUG while nothing changes.
        logging.getLogger("watchfiles").setLevel(logging.INFO)
        self._debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dirs: tuple[Path, ...] = ()

    def watch(self, dirs: Iterable[Path]) -> None:
        """Watch exactly ``dirs`` (those that exist), restarting the thread when the set changes."""
        wanted = tuple(sorted({path.resolve() for path in dirs if path.is_dir()}))
        if wanted == self.dirs and self._thread is not None and self._thread.is_alive():
            return
        self.stop()
        self.dirs = wanted
        if not wanted:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(wanted, self._stop), name="qwen-lsp-watch", daemon=True
        )
        self._thread.start()

    def _run(self, dirs: tuple[Path, ...], stop: threading.Event) -> None:
        logger.debug("watching %s", ", ".join(map(str, dirs)))
        try:
            for changes in watchfiles.watch(
                *dirs,
                stop_event=stop,
                debounce=self._debounce_ms,
                step=50,
                recursive=False,
                raise_interrupt=False,
            ):
                paths = {Path(path) for _, path in changes}
                try:
                    self._on_change(paths)
                except Exception:
                    logger.exception("file change handler failed")
        except (OSError, RuntimeError) as exc:
            logger.warning("file watching stopped: %s", exc)

    def stop(self) -> None:
        """Stop watching (returns once the thread has finished)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        self.dirs = ()
