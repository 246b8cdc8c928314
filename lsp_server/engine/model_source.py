"""Where the model comes from: a local GGUF file, or the Hugging Face cache, downloading once.

What the user sees: with ``--model PATH`` the server uses that file and never touches the
network. Otherwise it uses the default model (:data:`DEFAULT_HF_REPO` /
:data:`DEFAULT_HF_FILE`) from the Hugging Face cache, so a model downloaded once is loaded
offline afterwards. The first time, the file is downloaded with a progress bar on stderr
(when stderr is a terminal) and the same progress is reported through ``on_progress``, which
the LSP layer turns into ``$/progress`` notifications. When the model cannot be obtained
(no network, offline mode, missing repository or file, access denied, disk full) the user
gets one sentence naming the repository and file and saying to pass ``--model PATH`` or to
download the file beforehand, never a traceback.
"""

from __future__ import annotations

import errno
import logging
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

import attrs

from lsp_server.engine.gguf_check import ModelFileError, check_model_path
from lsp_server.settings import DEFAULT_HF_FILE, DEFAULT_HF_REPO

__all__ = [
    "DEFAULT_HF_FILE",
    "DEFAULT_HF_REPO",
    "ModelSpec",
    "ProgressCallback",
    "ProgressForwarder",
    "download_progress_bar",
    "resolve_model",
]

logger = logging.getLogger(__name__)

ProgressCallback: TypeAlias = Callable[[int, int | None, str], None]
"""Called as ``(bytes_done, bytes_total or None, message)``; may run on a download thread."""


@attrs.frozen
class ModelSpec:
    """Which model to load: a local GGUF ``path``, or a file in a Hugging Face repository."""

    path: Path | None = None
    hf_repo: str = DEFAULT_HF_REPO
    hf_file: str = DEFAULT_HF_FILE
    cache_dir: Path | None = None


def _format_bytes(count: int) -> str:
    """Format a byte count with decimal units, as download tools do (``2.7 GB``)."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _progress_message(label: str, done: int, total: int | None) -> str:
    if total:
        percent = min(100, done * 100 // total)
        return f"Downloading {label}: {_format_bytes(done)} of {_format_bytes(total)} ({percent}%)"
    return f"Downloading {label}: {_format_bytes(done)}"


class ProgressForwarder:
    """Turns a progress bar's byte increments into throttled :data:`ProgressCallback` calls."""

    def __init__(
        self,
        on_progress: ProgressCallback | None,
        label: str,
        *,
        total: int | None = None,
        initial: int = 0,
        min_interval_s: float = 0.25,
    ) -> None:
        self.on_progress = on_progress
        self.label = label
        self.total = total
        self.done = max(0, initial)
        self.min_interval_s = min_interval_s
        self._last_sent_at = -math.inf
        self._last_sent: tuple[int, int | None] | None = None

    def advance(self, n: float) -> None:
        """Add ``n`` bytes (negative when a resumed download restarts) and maybe report."""
        self.done = max(0, self.done + int(n))
        self.report(force=False)

    def report(self, *, force: bool) -> None:
        """Call the callback, unless one was sent recently (``force`` sends unless unchanged)."""
        if self.on_progress is None:
            return
        state = (self.done, self.total)
        if state == self._last_sent:
            return
        now = time.monotonic()
        finished = self.total is not None and self.done >= self.total
        if not (force or finished) and now - self._last_sent_at < self.min_interval_s:
            return
        self._last_sent_at = now
        self._last_sent = state
        try:
            self.on_progress(self.done, self.total, _progress_message(self.label, *state))
        except Exception:
            # A broken progress sink (e.g. a closed client) must not abort the download.
            logger.warning("download progress callback failed; not reporting further progress", exc_info=True)
            self.on_progress = None


def download_progress_bar(
    on_progress: ProgressCallback | None, label: str, *, min_interval_s: float = 0.25
) -> type[Any]:
    """Return a tqdm class for ``hf_hub_download(tqdm_class=...)`` that feeds ``on_progress``."""
    from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

    class DownloadProgressBar(hf_tqdm):
        """A stderr progress bar (shown when stderr is a terminal) that forwards its counts.

        Subclassing huggingface_hub's tqdm keeps its rules for when bars are drawn
        (``HF_HUB_DISABLE_PROGRESS_BARS``, terminal detection); the forwarding happens even
        when nothing is drawn. ``update_transfer`` makes Xet downloads use this one bar for
        bytes written instead of opening a second bar for network bytes.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("file", sys.stderr)
            super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
            total = kwargs.get("total")
            self.forwarder = ProgressForwarder(
                on_progress,
                label,
                total=int(total) if total else None,
                initial=int(kwargs.get("initial") or 0),
                min_interval_s=min_interval_s,
            )
            self.forwarder.report(force=True)

        def update(self, n: float | None = 1) -> bool | None:
            forwarder: ProgressForwarder | None = getattr(self, "forwarder", None)
            if forwarder is not None:
                # tqdm sets ``total`` on the bar; Xet downloads raise it as they learn more.
                total = getattr(self, "total", None)
                forwarder.total = int(total) if total else None
                forwarder.advance(n or 0)
            result: bool | None = super().update(n)
            return result

        def update_transfer(self, n: float) -> None:
            """Ignore network-byte counts; progress is measured in bytes written."""

        def set_transfer_postfix_str(self, s: str = "", refresh: bool = True) -> None:
            """Ignore the network-rate postfix of Xet downloads."""

        def close(self) -> None:
            forwarder: ProgressForwarder | None = getattr(self, "forwarder", None)
            if forwarder is not None:
                forwarder.report(force=True)
            super().close()

    return DownloadProgressBar


def _download_command(spec: ModelSpec) -> str:
    command = f"hf download {spec.hf_repo} {spec.hf_file}"
    if spec.cache_dir is not None:
        command += f" --cache-dir {spec.cache_dir}"
    return command


def _failure_reason(exc: BaseException, spec: ModelSpec, cache: str) -> str:
    """Say in words why ``hf_hub_download`` failed."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, OfflineModeIsEnabled) or (
        isinstance(exc, LocalEntryNotFoundError) and constants.is_offline_mode()
    ):
        return f"offline mode is on (HF_HUB_OFFLINE is set) and the file is not in the cache {cache}"
    if isinstance(exc, LocalEntryNotFoundError):
        return (
            "the Hugging Face Hub could not be reached (no network connection?) and the file "
            f"is not in the cache {cache}"
        )
    if isinstance(exc, GatedRepoError):
        return "the repository is gated; accept its terms on huggingface.co and log in with `hf auth login`"
    if isinstance(exc, RepositoryNotFoundError):
        return "the repository does not exist or is private (if it is yours, log in with `hf auth login`)"
    if isinstance(exc, RevisionNotFoundError):
        return "the requested revision does not exist in the repository"
    if isinstance(exc, EntryNotFoundError):
        return f"the repository has no file named {spec.hf_file}"
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            return f"access was denied (HTTP {status}); log in with `hf auth login`"
        return f"the Hugging Face Hub answered with an error (HTTP {status})"
    if isinstance(exc, HFValidationError):
        return f"'{spec.hf_repo}' / '{spec.hf_file}' is not a valid repository id and file name"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"there is not enough free disk space for the cache {cache}"
    if isinstance(exc, PermissionError):
        return f"the cache {cache} is not writable"
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return "the download was interrupted or incomplete; try again"
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    detail = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    return f"the download failed ({detail})"


def _resolve_local(path: Path) -> Path:
    """Check the ``--model`` path and return it with ``~`` expanded."""
    path = path.expanduser()
    try:
        check_model_path(path)
    except ModelFileError as exc:
        raise ModelFileError(
            f"{exc} Or omit --model to use the default model {DEFAULT_HF_FILE}.", path=path
        ) from None
    return path


def _find_in_cache(spec: ModelSpec) -> Path | None:
    """Return the cached model file, looking only at the local cache (never the network)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(spec.hf_repo, spec.hf_file, cache_dir=spec.cache_dir)
    except ValueError as exc:  # HFValidationError: a malformed repo id or file name
        raise ModelFileError(
            f"The model setting '{spec.hf_repo}' / '{spec.hf_file}' is not a valid Hugging Face "
            f"repository id and file name ({str(exc).rstrip('.')}). Fix it, or pass --model PATH "
            "to a local GGUF file."
        ) from None
    except OSError:
        logger.debug("could not read the Hugging Face cache", exc_info=True)
        return None
    return Path(cached) if isinstance(cached, str) else None


def resolve_model(spec: ModelSpec, on_progress: ProgressCallback | None = None) -> Path:
    """Return the path of the GGUF file to load, downloading it once if needed."""
    if spec.path is not None:
        return _resolve_local(spec.path)

    cached = _find_in_cache(spec)
    if cached is not None:
        logger.info("using cached model %s", cached)
        return cached

    from huggingface_hub import constants, hf_hub_download

    cache = str(spec.cache_dir if spec.cache_dir is not None else constants.HF_HUB_CACHE)
    logger.info("downloading %s from %s into %s", spec.hf_file, spec.hf_repo, cache)
    if on_progress is not None:
        try:
            on_progress(0, None, f"Downloading {spec.hf_file} from {spec.hf_repo}")
        except Exception:
            logger.warning("download progress callback failed", exc_info=True)
    try:
        downloaded = hf_hub_download(
            spec.hf_repo,
            spec.hf_file,
            cache_dir=spec.cache_dir,
            tqdm_class=download_progress_bar(on_progress, spec.hf_file),
        )
    except Exception as exc:
        logger.debug("model download failed", exc_info=True)
        raise ModelFileError(
            f"Could not download the model file {spec.hf_file} from the Hugging Face "
            f"repository {spec.hf_repo}: {_failure_reason(exc, spec, cache)}. Pass --model "
            "PATH to use a local GGUF file, or download the model beforehand while online "
            f"(`{_download_command(spec)}`)."
        ) from exc
    return Path(downloaded)
