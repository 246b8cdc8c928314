"""A real ``llama-server`` for tests and benchmarks, built from the llama.cpp vendored in llama-cpp-python.

The same llama.cpp the in-process engine runs (the sdist of the pinned llama-cpp-python), so a remote
completion can be compared token for token with an in-process one. Nothing lands in the repository: the
sources and the build live in ``~/.cache/qwen-lsp/llama-server-native`` (``QWEN_LSP_LLAMA_SERVER_HOME``)::

    python -m devtools.llama_server build      # about 15 minutes on 2 cores, once
    python -m devtools.llama_server path       # the binary
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
HOME = Path(
    os.environ.get("QWEN_LSP_LLAMA_SERVER_HOME", Path.home() / ".cache" / "qwen-lsp" / "llama-server-native")
)

# Built for this CPU, as pip builds llama-cpp-python (GGML_NATIVE is on by default there), so that the server
# runs the same kernels as the in-process engine and greedy answers agree token for token. (bench/anchor.py
# keeps its own AVX2 build.)
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=ON",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # no network: don't fetch the web UI from the HF bucket
]


def _has_amx() -> bool:
    try:
        return " amx_int8" in Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False


def server_binary(home: Path = HOME) -> Path:
    """Where the built ``llama-server`` is (it may not exist yet)."""
    return home / "build" / "bin" / "llama-server"


def fetch_sdist_source(home: Path) -> Path:
    """Download the llama-cpp-python sdist with pip; return its vendored llama.cpp tree."""
    dl = home / "sdist"
    dl.mkdir(parents=True, exist_ok=True)
    requirement = f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"
    if not list(dl.glob("llama_cpp_python-*.tar.gz")):
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*command, "-d", str(dl), requirement], check=True)
    archive = next(dl.glob("llama_cpp_python-*.tar.gz"))
    tree = dl / archive.name.removesuffix(".tar.gz") / "vendor" / "llama.cpp"
    if not tree.exists():
        with tarfile.open(archive) as tf:
            tf.extractall(dl, filter="data")
    return tree


def build(src: Path | None = None, jobs: int = 2, home: Path = HOME, flags: list[str] | None = None) -> Path:
    """Configure and build only the ``llama-server`` target (skipped when built); the binary's path."""
    binary = server_binary(home)
    if binary.exists():
        return binary
    home.mkdir(parents=True, exist_ok=True)
    tree = home / "src"
    if not tree.exists():
        shutil.copytree(src or fetch_sdist_source(home), tree, symlinks=True)
    build_dir = home / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    started = time.monotonic()
    command = ["cmake", "-S", str(tree), "-B", str(build_dir), *generator, *(flags or CMAKE_FLAGS)]
    subprocess.run(command, check=True)
    subprocess.run(
        ["cmake", "--build", str(build_dir), "--target", "llama-server", "-j", str(jobs)], check=True
    )
    print(f"built {binary} in {time.monotonic() - started:.0f} s", flush=True)
    return binary


def free_port() -> int:
    """A TCP port nothing listens on now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, key: str = "", timeout: float = 5.0) -> tuple[int, Any]:
    """GET ``url``: (HTTP status, decoded JSON or None)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


class LlamaServer:
    """A ``llama-server`` process on a loopback port; ``stop()`` and ``start()`` again keep the port."""

    def __init__(
        self,
        model: Path,
        *,
        api_key: str = "",
        n_ctx: int = 4096,
        threads: int = 2,
        slots: int = 1,
        extra: list[str] | None = None,
        log: Path | None = None,
        binary: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.n_ctx = n_ctx
        self.threads = threads
        self.slots = slots
        self.extra = extra or []
        self.log = log
        self.binary = binary or server_binary()
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line (the key goes through the environment, not argv)."""
        cmd = [str(self.binary), "-m", str(self.model), "-c", str(self.n_ctx * self.slots)]
        cmd += ["-t", str(self.threads), "-tb", str(self.threads), "-np", str(self.slots)]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--no-webui", "-fa", "off"]
        if _has_amx():
            cmd.append("--no-repack")  # as the in-process engine loads there: AMX repacking crashes
        cmd += self.extra
        return cmd

    def start(self, timeout: float = 300.0) -> LlamaServer:
        """Start the process and wait until ``/health`` says it is ready."""
        env = {**os.environ}
        if self.api_key:
            env["LLAMA_API_KEY"] = self.api_key
        out: Any = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.proc.returncode}; log: {self.log}")
            with contextlib.suppress(OSError, ValueError):
                status, _ = get_json(self.url + "/health", self.api_key, timeout=2)
                if status == 200:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"llama-server did not become healthy in {timeout:.0f} s; log: {self.log}")

    def slots_state(self) -> list[dict[str, Any]]:
        """``/slots``: each slot's state (``is_processing``)."""
        status, body = get_json(self.url + "/slots", self.api_key)
        if status != 200 or not isinstance(body, list):
            raise RuntimeError(f"/slots answered HTTP {status}")
        return body

    def stop(self) -> None:
        """Stop the process (the port stays this server's for a later ``start()``)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """``build`` (once) or ``path``."""
    parser = argparse.ArgumentParser(description="Build the llama-server used by tests and benchmarks.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build llama-server from the llama-cpp-python sdist (skipped if built)")
    b.add_argument("--src", type=Path, help="an unpacked vendor/llama.cpp tree instead of pip download")
    b.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    sub.add_parser("path", help="print the llama-server binary path")
    args = parser.parse_args()
    if args.command == "build":
        print(build(args.src, args.jobs))
    else:
        print(server_binary())


if __name__ == "__main__":
    main()
