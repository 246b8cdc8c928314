"""The ``qwen-lsp`` command: ``qwen-lsp serve`` speaks LSP over stdio (default), TCP or WebSocket.

What the user sees: logs on stderr (or ``--log-file``), never on stdout, which belongs to the protocol.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from typing import IO, BinaryIO, cast

from lsp_server import __version__
from lsp_server.client import commands as headless
from lsp_server.logs import OneLineRejections
from lsp_server.settings import Settings

logger = logging.getLogger("lsp_server")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="qwen-lsp", description="Local AI code-assistant language server.")
    parser.add_argument("--version", action="version", version=f"qwen-lsp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the language server")
    transport = serve.add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true", help="speak LSP on stdin/stdout (default)")
    transport.add_argument("--tcp", type=int, metavar="PORT", help="listen for one client on TCP")
    transport.add_argument("--ws", type=int, metavar="PORT", help="listen on a WebSocket")
    serve.add_argument("--host", default="127.0.0.1", help="address for --tcp/--ws (default 127.0.0.1)")
    serve.add_argument("--model", metavar="PATH", help="a local GGUF model file")
    serve.add_argument("--hf-repo", help="Hugging Face repo of the default model")
    serve.add_argument("--hf-file", help="GGUF file name inside --hf-repo")
    serve.add_argument("--n-ctx", type=int, help="context size in tokens (default 4096)")
    serve.add_argument("--threads", type=int, help="CPU threads for the model")
    serve.add_argument(
        "--gpu-layers",
        type=int,
        metavar="N",
        help="GPU layers (-1: all; default: all if the build can)",
    )
    add_remote_flags(serve)
    serve.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: protocol too)")
    serve.add_argument("--log-file", metavar="FILE", help="write logs here instead of stderr")
    headless.add_subcommands(commands)
    config = commands.add_parser("config", help="show the effective settings and where each value came from")
    config.add_argument("--print", action="store_true", dest="print_settings", help="print every setting")
    config.add_argument(
        "--workspace", metavar="DIR", default=".", help="workspace with a qwen-lsp.toml (default .)"
    )
    return parser


def add_remote_flags(parser: argparse.ArgumentParser, passed: str = "") -> None:
    """``--remote URL [--remote-api llama|openai] [--remote-model NAME]`` (the key: QWEN_LSP_API_KEY)."""
    parser.add_argument(
        "--remote",
        metavar="URL",
        help="use the model served at URL (llama-server or any OpenAI-compatible server) instead of "
        "loading one here; the key comes from $QWEN_LSP_API_KEY" + passed,
    )
    parser.add_argument(
        "--remote-api",
        choices=("auto", "llama", "openai"),
        help="the server's API (default: asked of the server)" + passed,
    )
    parser.add_argument(
        "--remote-model", metavar="NAME", help="model name on an OpenAI-compatible server" + passed
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Command-line flags on top of the defaults."""
    settings = Settings()
    if args.model:
        settings.model.path = args.model
    if args.hf_repo:
        settings.model.hf_repo = args.hf_repo
    if args.hf_file:
        settings.model.hf_file = args.hf_file
    if args.n_ctx:
        settings.model.n_ctx = args.n_ctx
    if args.threads:
        settings.model.n_threads = args.threads
    if args.gpu_layers is not None:
        settings.model.gpu_layers = args.gpu_layers
    if args.remote:
        settings.model.remote.url = args.remote
    if args.remote_api:
        settings.model.remote.api = args.remote_api
    if args.remote_model:
        settings.model.remote.model = args.remote_model
    if args.verbose:
        settings.log_level = "debug"
    return settings


def configure_logging(verbose: int, log_file: str | None, stream: IO[str]) -> None:
    """Send logs to ``log_file`` or ``stream``; keep pygls quiet unless -vv."""
    handler: logging.Handler
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(OneLineRejections())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("pygls").setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)
    logging.getLogger("llama.cpp").setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


def _private_stdio() -> tuple[IO[bytes], IO[str]]:
    """Move the protocol and the logs onto private copies of fds 1 and 2.

    llama-cpp-python points fds 1 and 2 at /dev/null while it loads a model (``verbose=False``); native code
    may also print to fd 1. The protocol must survive both, so it gets its own duplicate of stdout and fd 1
    is pointed at stderr for everything else.
    """
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    log_stream = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return protocol_out, log_stream


def serve(args: argparse.Namespace) -> int:
    """Run the server until the client says exit."""
    from lsp_server.lsp.setup import create_server

    stdio = args.tcp is None and args.ws is None
    token = os.environ.get("QWEN_LSP_TOKEN", "")
    if not stdio and not token and not _loopback(args.host):
        sys.stderr.write(
            f"qwen-lsp serve: refusing to listen on {args.host} without a token: anyone who reaches the port "
            "could drive the model and change settings that name files here. Set QWEN_LSP_TOKEN (clients "
            "send it as initializationOptions.authToken), or listen on 127.0.0.1.\n"
        )
        return 2
    protocol_in = sys.stdin.buffer
    if stdio:
        protocol_out, log_stream = _private_stdio()
    else:
        log_stream = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8")
    configure_logging(args.verbose, args.log_file, log_stream)
    if os.environ.get("QWEN_LSP_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start(8)  # for qwenLsp/memory (bench/soak.py); slows the server down
    settings = settings_from_args(args)
    server = create_server(settings)
    if token and not stdio:
        server.require_token(token)
    logger.info("qwen-lsp %s starting (%s)", __version__, "stdio" if stdio else "network")
    if args.tcp is not None:
        server.start_tcp(args.host, args.tcp)
    elif args.ws is not None:
        server.start_ws(args.host, args.ws)
    else:
        server.start_io(protocol_in, cast(BinaryIO, protocol_out))
    server.stop_engine()
    return 0


def _loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_command(args: argparse.Namespace) -> int:
    """``qwen-lsp config --print``: defaults < user qwen-lsp.toml < workspace qwen-lsp.toml, with origins."""
    from lsp_server.config.layers import SettingsStore, describe

    store = SettingsStore(Settings())
    store.read_files(os.path.abspath(args.workspace))
    resolved, problems = store.refresh()
    for problem in problems:
        sys.stderr.write(f"qwen-lsp: {problem}; keeping the previous value.\n")
    sys.stdout.write(describe(resolved) + "\n")
    if args.print_settings:
        from lsp_server.doctor import prompt_style_note

        sys.stdout.write("# " + prompt_style_note(resolved.settings) + "\n")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qwen-lsp`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "config":
        return config_command(args)
    if args.command in headless.COMMANDS:
        return headless.run(args)
    return 2
