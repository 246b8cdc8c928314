"""Tests for locating the model: local paths, the Hugging Face cache, download errors, progress.

Nothing here touches the network: the hub is put in offline mode and downloads are faked.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import HfHubHTTPError

from lsp_server.engine import model_source
from lsp_server.engine.gguf_check import ModelFileError
from lsp_server.engine.model_source import ModelSpec, ProgressForwarder, download_progress_bar, resolve_model
from lsp_server.settings import DEFAULT_HF_FILE, DEFAULT_HF_REPO

COMMIT = "0123456789abcdef0123456789abcdef01234567"
Event = tuple[int, int | None, str]


@pytest.fixture(autouse=True)
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test off the network and out of the user's real cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    yield


def make_hub_cache(cache_dir: Path, repo: str, filename: str, content: bytes) -> Path:
    """Lay out a file the way huggingface_hub's cache stores it; return the snapshot path."""
    repo_dir = cache_dir / ("models--" + repo.replace("/", "--"))
    blob = repo_dir / "blobs" / hashlib.sha256(content).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(content)
    snapshot = repo_dir / "snapshots" / COMMIT / filename
    snapshot.parent.mkdir(parents=True)
    snapshot.symlink_to(Path("..", "..", "blobs", blob.name))
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    return snapshot


def failing_download(*args: Any, **kwargs: Any) -> str:
    raise AssertionError("hf_hub_download must not be called")


# --- local paths --------------------------------------------------------------------------------


def test_default_spec() -> None:
    spec = ModelSpec()
    assert spec.path is None
    assert (spec.hf_repo, spec.hf_file) == (DEFAULT_HF_REPO, DEFAULT_HF_FILE)
    assert DEFAULT_HF_REPO == "unsloth/Qwen3.5-4B-GGUF"
    assert DEFAULT_HF_FILE == "Qwen3.5-4B-Q4_K_M.gguf"


def test_local_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", failing_download)
    model = tmp_path / "my.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_model(ModelSpec(path=model)) == model


def test_local_path_expands_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert resolve_model(ModelSpec(path=Path("~/m.gguf"))) == tmp_path / "m.gguf"


def test_missing_local_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", failing_download)
    with pytest.raises(ModelFileError) as info:
        resolve_model(ModelSpec(path=tmp_path / "missing.gguf"))
    message = str(info.value)
    assert "missing.gguf" in message
    assert "does not exist" in message
    assert "--model" in message


def test_local_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="is a directory"):
        resolve_model(ModelSpec(path=tmp_path))


# --- the Hugging Face cache ---------------------------------------------------------------------


def test_cached_model_is_used_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    snapshot = make_hub_cache(cache, DEFAULT_HF_REPO, DEFAULT_HF_FILE, b"GGUF fake model")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", failing_download)

    path = resolve_model(ModelSpec(cache_dir=cache))

    assert path == snapshot
    assert path.read_bytes() == b"GGUF fake model"


def test_cache_layout_matches_huggingface_hub(tmp_path: Path) -> None:
    """The fake cache above is the real layout: huggingface_hub itself finds the file offline."""
    cache = tmp_path / "cache"
    snapshot = make_hub_cache(cache, "someone/other-GGUF", "x.gguf", b"GGUF x")
    found = huggingface_hub.hf_hub_download("someone/other-GGUF", "x.gguf", cache_dir=cache)
    assert Path(found) == snapshot
    spec = ModelSpec(hf_repo="someone/other-GGUF", hf_file="x.gguf", cache_dir=cache)
    assert resolve_model(spec) == snapshot


def test_default_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = make_hub_cache(Path(hf_constants.HF_HUB_CACHE), DEFAULT_HF_REPO, DEFAULT_HF_FILE, b"")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", failing_download)
    assert resolve_model(ModelSpec()) == snapshot


def test_not_cached_while_offline(tmp_path: Path) -> None:
    events: list[Event] = []
    spec = ModelSpec(hf_repo="unsloth/Nothing-GGUF", hf_file="none.gguf", cache_dir=tmp_path)
    with pytest.raises(ModelFileError) as info:
        resolve_model(spec, lambda *e: events.append(e))
    message = str(info.value)
    assert "Could not download the model file none.gguf" in message
    assert "unsloth/Nothing-GGUF" in message
    assert "offline mode" in message
    assert "--model PATH" in message
    assert "hf download unsloth/Nothing-GGUF none.gguf" in message
    assert "Traceback" not in message
    assert events and events[0][:2] == (0, None)


def test_other_file_of_cached_repo_while_offline(tmp_path: Path) -> None:
    make_hub_cache(tmp_path, DEFAULT_HF_REPO, DEFAULT_HF_FILE, b"GGUF")
    spec = ModelSpec(hf_file="Qwen3.5-4B-Q8_0.gguf", cache_dir=tmp_path)
    with pytest.raises(ModelFileError, match="offline mode"):
        resolve_model(spec)


def test_invalid_repo_id(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not a valid Hugging Face repository id"):
        resolve_model(ModelSpec(hf_repo="not a/valid//repo", cache_dir=tmp_path))


# --- download failures are explained ------------------------------------------------------------


def _http_error(cls: type[HfHubHTTPError], status: int) -> Exception:
    import httpx2

    request = httpx2.Request("HEAD", "https://huggingface.co/a/b/resolve/main/c.gguf")
    return cls(f"{status} Client Error", response=httpx2.Response(status, request=request))


def _errors() -> list[tuple[Exception, str]]:
    from huggingface_hub import errors

    return [
        (errors.LocalEntryNotFoundError("no connection"), "could not be reached"),
        (_http_error(errors.RepositoryNotFoundError, 404), "does not exist or is private"),
        (_http_error(errors.GatedRepoError, 403), "gated"),
        (_http_error(errors.RemoteEntryNotFoundError, 404), "has no file named"),
        (_http_error(errors.RevisionNotFoundError, 404), "revision"),
        (_http_error(errors.HfHubHTTPError, 401), "access was denied (HTTP 401)"),
        (_http_error(errors.HfHubHTTPError, 503), "HTTP 503"),
        (OSError(errno.ENOSPC, "No space left on device"), "not enough free disk space"),
        (PermissionError(errno.EACCES, "Permission denied"), "not writable"),
        (RuntimeError("boom\nsecond line"), "the download failed (RuntimeError: boom)"),
    ]


@pytest.mark.parametrize(("error", "expected"), _errors(), ids=lambda v: type(v).__name__)
def test_download_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, expected: str
) -> None:
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)

    def fake_download(*args: Any, **kwargs: Any) -> str:
        raise error

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    with pytest.raises(ModelFileError) as info:
        resolve_model(ModelSpec(cache_dir=tmp_path))
    message = str(info.value)
    assert expected in message
    assert DEFAULT_HF_REPO in message
    assert DEFAULT_HF_FILE in message
    assert "--model PATH" in message
    assert f"--cache-dir {tmp_path}" in message
    assert "second line" not in message
    assert info.value.__cause__ is error


def test_successful_download_reports_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake hf_hub_download drives the tqdm class it is given, as the real one does."""
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    target = tmp_path / "downloaded.gguf"
    seen: dict[str, Any] = {}

    def fake_download(repo_id: str, filename: str, **kwargs: Any) -> str:
        seen.update(kwargs, repo_id=repo_id, filename=filename)
        bar = kwargs["tqdm_class"](total=1000, initial=0, desc=filename, unit="B", disable=True)
        with bar:
            for _ in range(4):
                bar.update(250)
        target.write_bytes(b"GGUF")
        return str(target)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    events: list[Event] = []
    path = resolve_model(ModelSpec(cache_dir=tmp_path), lambda *e: events.append(e))

    assert path == target
    assert seen["repo_id"] == DEFAULT_HF_REPO
    assert seen["filename"] == DEFAULT_HF_FILE
    assert seen["cache_dir"] == tmp_path
    assert events[0] == (0, None, f"Downloading {DEFAULT_HF_FILE} from {DEFAULT_HF_REPO}")
    assert events[1][:2] == (0, 1000)
    assert events[-1] == (1000, 1000, f"Downloading {DEFAULT_HF_FILE}: 1.0 kB of 1.0 kB (100%)")


# --- the tqdm adapter ---------------------------------------------------------------------------


def test_progress_bar_forwards_updates() -> None:
    events: list[Event] = []
    bar_class = download_progress_bar(lambda *e: events.append(e), "m.gguf", min_interval_s=0)
    stream = io.StringIO()
    bar = bar_class(total=2_000_000, file=stream, desc="m.gguf", unit="B", unit_scale=True)
    bar.update(500_000)
    bar.update(1_500_000)
    bar.close()
    assert [e[:2] for e in events] == [(0, 2_000_000), (500_000, 2_000_000), (2_000_000, 2_000_000)]
    assert events[1][2] == "Downloading m.gguf: 500.0 kB of 2.0 MB (25%)"
    assert "2.00M" in stream.getvalue()  # the tqdm bar itself was drawn


def test_progress_bar_without_total_and_disabled() -> None:
    events: list[Event] = []
    bar_class = download_progress_bar(lambda *e: events.append(e), "m.gguf", min_interval_s=0)
    bar = bar_class(disable=True)
    bar.update(10)
    bar.update_transfer(999)  # network bytes of Xet downloads are not counted
    bar.update(-4)  # a restarted resume rolls the count back
    bar.close()
    assert events == [
        (0, None, "Downloading m.gguf: 0 B"),
        (10, None, "Downloading m.gguf: 10 B"),
        (6, None, "Downloading m.gguf: 6 B"),
    ]


def test_progress_bar_throttles_but_sends_the_end() -> None:
    events: list[Event] = []
    bar_class = download_progress_bar(lambda *e: events.append(e), "m.gguf", min_interval_s=3600)
    bar = bar_class(total=100, disable=True)
    for _ in range(10):
        bar.update(5)
    assert [e[0] for e in events] == [0]
    bar.update(50)  # reaching the total is always reported
    bar.close()  # and not repeated
    assert [e[0] for e in events] == [0, 100]


def test_progress_bar_total_learned_late() -> None:
    events: list[Event] = []
    bar_class = download_progress_bar(lambda *e: events.append(e), "m.gguf", min_interval_s=0)
    bar = bar_class(disable=True)
    bar.total = 40
    bar.update(20)
    assert events[-1][:2] == (20, 40)


def test_progress_bar_without_callback_still_works() -> None:
    bar = download_progress_bar(None, "m.gguf")(total=10, disable=True)
    bar.update(10)
    bar.close()


def test_failing_callback_does_not_break_the_download(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def broken(done: int, total: int | None, message: str) -> None:
        calls.append(done)
        raise RuntimeError("client went away")

    bar = download_progress_bar(broken, "m.gguf", min_interval_s=0)(total=10, disable=True)
    with caplog.at_level(logging.WARNING, logger=model_source.__name__):
        bar.update(5)
        bar.update(5)
        bar.close()
    assert calls == [0]
    assert "progress callback failed" in caplog.text


def test_progress_bar_with_huggingface_hub_factory() -> None:
    """The bar is created by huggingface_hub's own factory (name/disable kwargs) as in http_get."""
    from huggingface_hub.utils.tqdm import _create_progress_bar

    events: list[Event] = []
    bar_class = download_progress_bar(lambda *e: events.append(e), "m.gguf", min_interval_s=0)
    bar = _create_progress_bar(
        cls=bar_class,
        log_level=logging.WARNING,
        name="huggingface_hub.http_get",
        total=8,
        initial=2,
        desc="m.gguf",
        unit="B",
        unit_scale=True,
    )
    bar.update(6)
    bar.close()
    assert [e[:2] for e in events] == [(2, 8), (8, 8)]


def test_xet_downloads_use_a_single_bar() -> None:
    """Xet downloads see ``update_transfer`` and route network bytes to the same (ignored) bar."""
    xet = pytest.importorskip("huggingface_hub.utils._xet_progress_reporting")

    class Report:
        def __init__(self, done: int, transferred: int) -> None:
            self.total_bytes_completed = done
            self.total_transfer_bytes_completed = transferred
            self.total_bytes_completion_rate = None
            self.total_transfer_bytes_completion_rate = None
            self.total_bytes = 300

    events: list[Event] = []
    bar_class = download_progress_bar(lambda *e: events.append(e), "m.gguf", min_interval_s=0)
    reporter = xet.XetDownloadProgressReporter(
        reconstruction_desc="m.gguf: reconstructing file",
        total=300,
        log_level=logging.WARNING,
        tqdm_class=bar_class,
    )
    with reporter:
        assert reporter.transfer_bar is reporter.reconstruction_bar
        reporter.update_progress(Report(100, 150))
        reporter.update_progress(Report(300, 200))
    assert [e[:2] for e in events] == [(0, 300), (100, 300), (300, 300)]


def test_forwarder_percent_is_capped() -> None:
    events: list[Event] = []
    forwarder = ProgressForwarder(lambda *e: events.append(e), "f", total=10, min_interval_s=0)
    forwarder.advance(15)
    assert events[-1] == (15, 10, "Downloading f: 15 B of 10 B (100%)")
