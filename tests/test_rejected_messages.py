"""Malformed and invalid messages: the server answers what it can, logs one line per rejected message
(never a traceback), shows at most one notice, and keeps serving. A real server over a real stdio pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from tests.conftest import REPO

ROUNDS = 500  # x 6 kinds = 3,000 bad messages


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def message(payload: dict[str, Any]) -> bytes:
    return frame(json.dumps(payload).encode("utf-8"))


def bad_messages(index: int) -> list[bytes]:
    return [
        frame(b'{"jsonrpc": "2.0", "id": 1, "method": '),  # not JSON
        frame(b"\xff\xfe garbage"),  # not UTF-8
        # a known request with params of the wrong shape: cattrs rejects them
        message({"jsonrpc": "2.0", "id": f"bad-{index}", "method": "textDocument/hover", "params": {"x": 5}}),
        # a known notification with params of the wrong shape
        message({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": 7}}),
        # a request for a document the server never saw
        message(
            {
                "jsonrpc": "2.0",
                "id": f"ghost-{index}",
                "method": "textDocument/inlineCompletion",
                "params": {
                    "textDocument": {"uri": "file:///nowhere.py"},
                    "position": {"line": 99999, "character": 0},
                    "context": {"triggerKind": 1},
                },
            }
        ),
        message({"jsonrpc": "2.0", "id": f"unknown-{index}", "method": "no/such/method", "params": {}}),
    ]


def read_messages(stream: IO[bytes], out: list[dict[str, Any]]) -> None:
    while True:
        header = b""
        while not header.endswith(b"\r\n\r\n"):
            chunk = stream.read(1)
            if not chunk:
                return
            header += chunk
        length = int(header.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        out.append(json.loads(stream.read(length)))


def test_thousands_of_bad_messages_are_one_line_each(smollm2_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    errors = (tmp_path / "stderr.txt").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "lsp_server", "serve", "--model", str(smollm2_path), "--log-file", str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert server.stdin is not None and server.stdout is not None
    received: list[dict[str, Any]] = []
    reader = threading.Thread(target=read_messages, args=(server.stdout, received), daemon=True)
    reader.start()
    initialize = {"processId": None, "rootUri": None, "capabilities": {}}
    server.stdin.write(
        message({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": initialize})
    )
    server.stdin.write(message({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    for index in range(ROUNDS):
        server.stdin.write(b"".join(bad_messages(index)))
    server.stdin.write(message({"jsonrpc": "2.0", "id": "stats", "method": "qwenLsp/stats", "params": None}))
    server.stdin.write(message({"jsonrpc": "2.0", "id": "bye", "method": "shutdown", "params": None}))
    server.stdin.write(message({"jsonrpc": "2.0", "method": "exit", "params": None}))
    server.stdin.flush()
    server.stdin.close()
    server.wait(timeout=240)
    errors.close()
    reader.join(timeout=30)
    stderr = (tmp_path / "stderr.txt").read_bytes()

    by_id = {item.get("id"): item for item in received if "id" in item}
    assert "capabilities" in by_id["init"]["result"]
    assert by_id["bye"].get("error") is None  # still serving after 3,000 bad messages
    assert by_id["stats"]["result"]["rejectedMessages"] >= ROUNDS  # counted (each bad notification)
    assert by_id[f"unknown-{ROUNDS - 1}"]["error"]["code"] == -32601  # method not found, answered
    assert "error" in by_id[f"bad-{ROUNDS - 1}"]  # invalid params, answered with an error
    notices = [item for item in received if item.get("method") == "window/showMessage"]
    assert len(notices) <= 2, notices  # not one per bad message

    text = log.read_text(encoding="utf-8") + stderr.decode("utf-8", errors="replace")
    lines = text.splitlines()
    assert "Traceback" not in text
    assert len(lines) <= 2 * 6 * ROUNDS, len(lines)  # at most two lines per rejected message
    assert max(len(line) for line in lines) < 600
