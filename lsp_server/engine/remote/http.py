"""A small HTTP client for model servers: JSON requests, server-sent events, a stream a cancel closes.

What the user sees: a remote model server that is down, slow, refuses the key or lacks the model gives one
clear message (never the key), and cancelling a suggestion stops the server's generation, because the
connection is closed and llama-server (like vLLM) stops a task whose client went away.
Standard library only (``http.client``, ``ssl``): TLS is verified with the system's certificates.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import attrs


class RemoteError(Exception):
    """The model server could not answer: ``kind`` says why, the message says it to the user."""

    def __init__(self, kind: str, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status

    @property
    def temporary(self) -> bool:
        """Whether the server is out of reach for now (down, refusing the key, failing, lacking the model).

        Not a timeout: a server busy with other editors' requests answers late, and that one request is
        lost, not the server (an outage would blank every editor's suggestions until the next retry).
        """
        return self.kind in ("unreachable", "server", "auth", "model")


@attrs.frozen
class Endpoint:
    """Where the server is and how to talk to it (the key stays out of every message and log)."""

    url: str
    api_key: str = attrs.field(default="", repr=False)
    timeout: float = 30.0

    @property
    def base(self) -> urllib.parse.SplitResult:
        """The URL's parts (``http://`` assumed when no scheme is given)."""
        parts = urllib.parse.urlsplit(self.url if "://" in self.url else f"http://{self.url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteError("config", f"model.remote.url must be an http(s) URL, not {self.shown!r}")
        return parts

    @property
    def shown(self) -> str:
        """The URL without any user:password part (safe for messages)."""
        parts = urllib.parse.urlsplit(self.url)
        netloc = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", "")) or self.url


class Cancelled(Exception):
    """The request was stopped (its stream closed) before the server answered."""


class Stream:
    """An open streaming response: iterate its events; ``close()`` (any thread) ends it at once."""

    def __init__(self, connection: http.client.HTTPConnection) -> None:
        self._connection = connection
        self._response: http.client.HTTPResponse | None = None
        self._closed = threading.Event()
        self._sock: socket.socket | None = None
        """The connected socket itself: ``http.client`` drops ``connection.sock`` when the server says
        ``Connection: close`` while the response still reads from it."""

    def watch(self, stop: Callable[[], bool]) -> None:
        """Close the stream as soon as ``stop()`` is true (checked every 10 ms on a small thread)."""

        def loop() -> None:
            while not self._closed.is_set():
                if stop():
                    self.close()
                    return
                self._closed.wait(0.01)

        threading.Thread(target=loop, name="qwen-lsp-remote-cancel", daemon=True).start()

    def close(self) -> None:
        """Drop the connection (any thread): the server sees its client go away and stops the generation.

        Only the socket is shut down here; the reading thread then sees the end and closes the connection
        itself (``http.client`` objects are not safe to close from another thread mid-read).
        """
        if self._closed.is_set():
            return
        self._closed.set()
        sock = self._sock or self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def closed(self) -> bool:
        """Whether the stream was closed (by ``close()`` or its watch)."""
        return self._closed.is_set()

    def events(self) -> Iterator[dict[str, Any]]:
        """The JSON objects of the ``data:`` lines, until ``[DONE]``, the end, or ``close()``."""
        assert self._response is not None
        try:
            while not self._closed.is_set():
                line = self._response.readline()
                if not line:
                    return
                text = line.decode("utf-8", errors="replace").strip()
                if not text.startswith("data:"):
                    continue
                payload = text[5:].strip()
                if payload == "[DONE]":
                    return
                try:
                    event = json.loads(payload)
                except json.JSONDecodeError:
                    continue
                if isinstance(event, dict):
                    if "error" in event and not event.get("choices"):
                        raise _error_from_body(500, event, "")
                    yield event
        except (OSError, http.client.HTTPException, ValueError, AttributeError) as exc:
            if self._closed.is_set():
                return
            if isinstance(exc, TimeoutError | socket.timeout):
                raise RemoteError("timeout", "the model server stopped sending tokens (timed out)") from exc
            raise RemoteError("unreachable", f"the connection to the model server broke: {exc}") from exc
        finally:
            self.close()
            self._release()

    def _release(self) -> None:
        """Close the response and the connection (their file descriptor), on the reading thread."""
        if self._response is not None:
            with contextlib.suppress(Exception):
                self._response.close()
        self._connection.close()


def _error_from_body(status: int, body: Any, where: str) -> RemoteError:
    message = ""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("type") or "")
        elif error:
            message = str(error)
    detail = f": {message[:300]}" if message else ""
    if status in (401, 403):
        return RemoteError("auth", f"the model server refused the API key (HTTP {status}){detail}", status)
    lowered = message.lower()
    if status == 404 and ("model" in lowered or where.endswith("completions")):
        return RemoteError("model", f"the model server does not serve that model (HTTP 404){detail}", status)
    if status >= 500 or status == 429:
        return RemoteError("server", f"the model server failed (HTTP {status}){detail}", status)
    return RemoteError("request", f"the model server rejected the request (HTTP {status}){detail}", status)


class HttpClient:
    """JSON and streaming requests to one model server."""

    def __init__(self, endpoint: Endpoint, *, context: ssl.SSLContext | None = None) -> None:
        self.endpoint = endpoint
        parts = endpoint.base
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._context = context if context is not None else ssl.create_default_context()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._context)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream", "User-Agent": "qwen-lsp"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.endpoint.api_key:
            headers["Authorization"] = f"Bearer {self.endpoint.api_key}"
        return headers

    def _open(
        self,
        method: str,
        path: str,
        body: Any,
        timeout: float | None,
        stream: Stream | None = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        connection = connection or self._connect(timeout or self.endpoint.timeout)
        try:
            connection.request(method, self._prefix + path, body=data, headers=self._headers(data))
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            if stream is not None and stream.closed:
                raise Cancelled() from exc
            raise self._connection_error(connection, exc) from exc
        if response.status >= 400:
            try:
                raw = response.read(65536)
                try:
                    parsed: Any = json.loads(raw)
                except ValueError:
                    parsed = raw.decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException):
                parsed = ""
            finally:
                connection.close()
            raise _error_from_body(response.status, parsed, path)
        return connection, response

    def _connection_error(self, connection: http.client.HTTPConnection, exc: Exception) -> RemoteError:
        connection.close()
        if isinstance(exc, ssl.SSLError):
            return RemoteError("unreachable", f"TLS with {self.endpoint.shown} failed: {exc.reason}")
        if isinstance(exc, TimeoutError | socket.timeout):
            return RemoteError("timeout", f"the model server at {self.endpoint.shown} did not answer in time")
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return RemoteError("unreachable", f"cannot reach the model server at {self.endpoint.shown}: {reason}")

    def request(self, method: str, path: str, body: Any = None, *, timeout: float | None = None) -> Any:
        """One request; the decoded JSON answer."""
        connection, response = self._open(method, path, body, timeout)
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._connection_error(connection, exc) from exc
        finally:
            connection.close()
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            raise RemoteError("request", f"{path} on {self.endpoint.shown} did not answer JSON") from exc

    def get(self, path: str, *, timeout: float | None = None) -> Any:
        """GET ``path``; the decoded JSON answer."""
        return self.request("GET", path, timeout=timeout)

    def post(self, path: str, body: Any, *, timeout: float | None = None) -> Any:
        """POST ``body`` as JSON to ``path``; the decoded JSON answer."""
        return self.request("POST", path, body, timeout=timeout)

    def stream(self, path: str, body: Any, stop: Callable[[], bool]) -> Stream:
        """POST ``body`` and stream the answer; the stream closes itself once ``stop()`` is true.

        The watch starts before the request is sent, so a cancel lands even while the server is still
        reading the prompt and has sent nothing yet (``Cancelled`` then).
        """
        connection = self._connect(self.endpoint.timeout)
        stream = Stream(connection)
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as exc:
            raise self._connection_error(connection, exc) from exc
        stream._sock = connection.sock
        stream.watch(stop)
        try:
            _, stream._response = self._open("POST", path, body, None, stream, connection)
        except BaseException:
            stream.close()
            connection.close()
            raise
        return stream
