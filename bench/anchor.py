"""The latency anchor: llama.cpp's ``llama-server`` ``/infill``, built from the sources vendored
in the llama-cpp-python sdist the project depends on, and driven the way llama.vscode drives it.

Build (10-45 minutes on 2 cores: 2,561 s on the shared VM; everything lives under
``~/.cache/qwen-lsp/llama-server/``, nothing in the repository)::

    python bench/anchor.py build            # downloads the sdist with pip if no --src is given
    python bench/anchor.py build --src /tmp/llama-src/llama_cpp_python-0.3.36/vendor/llama.cpp
    python bench/anchor.py path             # prints the built binary

Smoke-test the driver against a model::

    python bench/anchor.py smoke --model "$(python bench/models.py 0.5b | cut -d' ' -f2)"

The CPU backend is built for AVX2/FMA/F16C without AVX-512 and AMX: on the benchmark VM the
AMX path crashes on the first multi-token decode although the CPU reports AMX, which is also
why qwen-lsp's engine loads models with ``use_extra_bufts=False``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devtools import llama_server  # noqa: E402

ANCHOR_HOME = Path(
    os.environ.get("QWEN_LSP_ANCHOR_HOME", Path.home() / ".cache" / "qwen-lsp" / "llama-server")
)

# AVX2 without the newer extensions, as the anchor was first measured (devtools.llama_server builds a
# native one for the tests, with the in-process engine's kernels).
CMAKE_FLAGS = [
    *(flag for flag in llama_server.CMAKE_FLAGS if not flag.startswith("-DGGML_NATIVE")),
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_AVX512=OFF",
    "-DGGML_AVX_VNNI=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
]


# --------------------------------------------------------------------------------------- build


def build(src: Path | None = None, jobs: int = 2, home: Path = ANCHOR_HOME) -> Path:
    """Configure and build only the ``llama-server`` target; returns the binary path."""
    return llama_server.build(src, jobs, home, CMAKE_FLAGS)


def server_binary(home: Path = ANCHOR_HOME) -> Path:
    return home / "build" / "bin" / "llama-server"


# -------------------------------------------------------------------------------------- driver

# llama.vscode's defaults (package.json, src/configuration.ts at ggml-org/llama.vscode 3938fb3)
N_PREFIX_LINES = 256
N_SUFFIX_LINES = 64
N_PREDICT = 128
T_MAX_PROMPT_MS = 500
T_MAX_PREDICT_MS = 500
MAX_LINE_SUFFIX = 8


def infill_request(lines: list[str], line: int, col: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The ``/infill`` body llama.vscode sends for a cursor (``completion.ts`` getCompletionItems and
    ``llama-server.ts`` createRequestPayload), or None where it sends nothing (long line suffix).

    Deviations for a like-for-like benchmark: ``top_k`` 1 (greedy, as qwen-lsp; llama.vscode uses 40),
    ``n_cmpl`` 1 (llama.vscode: ``max_parallel_completions``, default 3), no ring of extra chunks.
    Returns the body and what the post-processing needs.
    """
    start = max(0, line - N_PREFIX_LINES)
    end = min(len(lines) - 1, line + N_SUFFIX_LINES)
    line_text = lines[line]
    line_prefix, line_suffix = line_text[:col], line_text[col:]
    if len(line_suffix) > MAX_LINE_SUFFIX:
        return None
    nindent = len(line_text) - len(line_text.lstrip())
    prompt, spaces_to_remove = line_prefix, 0
    if line_prefix.strip(" \t") == "":
        prompt, spaces_to_remove = "", len(line_prefix)
    body: dict[str, Any] = {
        "id_slot": 0,
        "input_prefix": "\n".join(lines[start:line]) + "\n",
        "input_suffix": line_suffix + "\n" + "\n".join(lines[line + 1 : end + 1]) + "\n",
        "input_extra": [],
        "prompt": prompt,
        "n_predict": N_PREDICT,
        "n_cmpl": 1,
        "top_k": 1,
        "top_p": 0.99,
        "stream": False,
        "samplers": ["top_k", "top_p", "infill"],
        "cache_prompt": True,
        "t_max_prompt_ms": T_MAX_PROMPT_MS,
        "t_max_predict_ms": T_MAX_PREDICT_MS,
    }
    if nindent:
        body["n_indent"] = nindent
    context = {"line_prefix": line_prefix, "line_suffix": line_suffix, "spaces": spaces_to_remove}
    return body, context


def postprocess(content: str, lines: list[str], line: int, context: dict[str, Any]) -> str:
    """llama.vscode's shouldDiscardSuggestion / updateSuggestion / removeLeadingSpaces, abridged."""
    out = content.replace("\r\n", "\n").split("\n")
    while out and out[-1].strip() == "":
        out.pop()
    if not out or (len(out) == 1 and out[0].strip() == ""):
        return ""
    line_prefix, line_suffix = context["line_prefix"], context["line_suffix"]
    if len(out) == 1 and out[0] == line_suffix:
        return ""
    following = [i for i in range(line + 1, len(lines)) if lines[i].strip()]
    if following and len(out) == 1 and line_prefix + out[0] == lines[following[0]]:
        return ""
    if line_suffix.strip():
        text = out[0][: -len(line_suffix)] if out[0].endswith(line_suffix) else out[0]
    else:
        text = "\n".join(out)
    i = 0
    while i < len(text) and i < context["spaces"] and text[i] in " \t":
        i += 1
    return text[i:]


async def http(
    port: int, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 600
) -> tuple[int, bytes]:
    """One HTTP/1.1 exchange on a fresh connection. Cancelling the awaiting task closes the socket,
    which is how an editor aborts a request; llama-server then stops the task."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    header, _, payload = raw.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1]) if header else 0
    if b"transfer-encoding: chunked" in header.lower():
        out, rest = b"", payload
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        payload = out
    return status, payload


@dataclass
class LlamaServer:
    """A ``llama-server`` process on a free local port (same context and threads as qwen-lsp)."""

    model: Path
    n_ctx: int = 4096
    threads: int = 2
    extra: list[str] = field(default_factory=list)
    log: Path | None = None
    binary: Path = field(default_factory=server_binary)
    port: int = 0
    proc: asyncio.subprocess.Process | None = None

    def command(self) -> list[str]:
        cmd = [str(self.binary), "-m", str(self.model), "-c", str(self.n_ctx)]
        cmd += ["-t", str(self.threads), "-tb", str(self.threads), "--cache-reuse", "256", "-np", "1"]
        cmd += ["--metrics", "--host", "127.0.0.1", "--port", str(self.port), *self.extra]
        return cmd

    async def start(self, timeout: float = 600) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        out: Any = self.log.open("w") if self.log is not None else asyncio.subprocess.DEVNULL
        self.proc = await asyncio.create_subprocess_exec(
            *self.command(), stdout=out, stderr=asyncio.subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"llama-server exited with {self.proc.returncode}; log: {self.log}")
            with contextlib.suppress(OSError, asyncio.TimeoutError, ValueError, IndexError):
                status, _ = await http(self.port, "GET", "/health", timeout=5)
                if status == 200:
                    return
            await asyncio.sleep(0.3)
        raise RuntimeError("llama-server did not become healthy")

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 20)
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def infill(self, body: dict[str, Any]) -> dict[str, Any]:
        status, raw = await http(self.port, "POST", "/infill", body)
        data = json.loads(raw) if raw else {}
        if status != 200:
            raise RuntimeError(f"/infill: HTTP {status}: {raw[:300]!r}")
        return data if isinstance(data, dict) else {}

    async def metrics(self) -> dict[str, float]:
        _, raw = await http(self.port, "GET", "/metrics", timeout=300)
        values: dict[str, float] = {}
        for line in raw.decode(errors="replace").splitlines():
            if line.startswith("llamacpp:"):
                name, _, value = line.partition(" ")
                with contextlib.suppress(ValueError):
                    values[name.removeprefix("llamacpp:")] = float(value)
        return values


async def _smoke(model: Path, extra: list[str]) -> None:
    server = LlamaServer(model, extra=extra, log=Path(tempfile.gettempdir()) / "llama-server-smoke.log")
    t0 = time.perf_counter()
    await server.start()
    print(f"started in {time.perf_counter() - t0:.1f} s: {' '.join(server.command())}")
    try:
        lines = [
            "import os",
            "",
            "",
            "def list_python_files(folder):",
            "    names = os.listdir(folder)",
            "    ",
        ]
        for text in ("    return [n for n in names if n.", "    return [n for n in names if n.end"):
            lines[-1] = text
            request = infill_request(lines, len(lines) - 1, len(text))
            assert request is not None
            body, context = request
            t0 = time.perf_counter()
            data = await server.infill(body)
            ms = (time.perf_counter() - t0) * 1000
            shown = postprocess(data.get("content", ""), lines, len(lines) - 1, context)
            timings = data.get("timings", {})
            print(
                f"{ms:.0f} ms, prompt_n {timings.get('prompt_n')}, cache_n {timings.get('cache_n')}, "
                f"predicted_n {timings.get('predicted_n')}, tokens_cached {data.get('tokens_cached')}: "
                f"{shown!r}"
            )
        print({k: v for k, v in (await server.metrics()).items() if k.endswith("_total")})
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Build and drive the llama-server anchor.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build llama-server from the llama-cpp-python sdist")
    b.add_argument(
        "--src", type=Path, default=None, help="an unpacked llama.cpp tree (default: pip download)"
    )
    b.add_argument("-j", "--jobs", type=int, default=2)
    sub.add_parser("path", help="print the llama-server binary path")
    s = sub.add_parser("smoke", help="start llama-server on a model and send two /infill requests")
    s.add_argument("--model", type=Path, required=True)
    s.add_argument("--extra", default="--no-repack", help="extra llama-server flags")
    args = parser.parse_args()
    if args.cmd == "build":
        build(args.src, args.jobs)
    elif args.cmd == "path":
        print(server_binary())
    else:
        asyncio.run(_smoke(args.model, args.extra.split()))


if __name__ == "__main__":
    main()
