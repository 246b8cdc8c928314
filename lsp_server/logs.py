"""Logging rules for the server: a message it rejects is one line, never a traceback."""

from __future__ import annotations

import logging

# Longest log line written for a message the server rejects (its params can be megabytes).
_REJECTION_CHARS = 400


# pygls' own lines for a message it rejects; each such path also reports the error to the server, which
# logs it as one line (QwenLanguageServer.report_server_error), so these are dropped.
_PYGLS_REJECTIONS = (
    "Unable to handle message",
    "Unable to deserialize message",
    "Failed to handle request",
    "Failed to handle notification",
    "Exception occurred for message",
)


class OneLineRejections(logging.Filter):
    """A message the server rejects is logged as one line (what and why), never as a traceback.

    pygls logs a malformed or invalid message with the whole cattrs traceback (tens of lines each), and
    often twice: a client that sends garbage, or anyone who reaches a TCP port, would fill the log. pygls'
    lines for a rejection are dropped (the server logs its own one line for it); any other multi-line
    pygls warning keeps its first line and its exception's one-line reason.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop or shorten pygls' warnings and errors about rejected messages."""
        if not record.name.startswith("pygls") or record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if message.startswith(_PYGLS_REJECTIONS):
            return False
        head, _, rest = message.partition("\n")
        reason = ""
        if record.exc_info and record.exc_info[1] is not None:
            reason = one_line_reason(record.exc_info[1])
        elif rest.strip():
            reason = [line for line in rest.splitlines() if line.strip()][-1].strip()
        if not reason and len(message) <= _REJECTION_CHARS:
            return True
        line = f"{head} ({reason})" if reason else head
        record.msg = " ".join(line.split())[:_REJECTION_CHARS]
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        return True


def one_line_reason(error: BaseException) -> str:
    """The reason for ``error`` on one line: its own, then its cause's (an exception group's leaves)."""
    parts: list[str] = []
    current: BaseException | None = error
    while current is not None and len(parts) < 3:
        if isinstance(current, BaseExceptionGroup):
            leaves: list[str] = []
            pending: list[BaseException] = list(current.exceptions)
            while pending and len(leaves) < 4:
                leaf = pending.pop(0)
                if isinstance(leaf, BaseExceptionGroup):
                    pending[:0] = list(leaf.exceptions)
                else:
                    leaves.append(f"{type(leaf).__name__}: {leaf}")
            parts.append(f"{current.message}: " + "; ".join(leaves))
        else:
            parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__
    return " ".join(" <- ".join(parts).split())[:_REJECTION_CHARS]
