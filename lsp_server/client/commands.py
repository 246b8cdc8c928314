"""The headless subcommands: ``complete``, ``explain``, ``replay``, ``eval`` and ``doctor``.

What the user sees: results on stdout (text, or JSON with ``--json``), messages on stderr, and exit codes
a script can branch on: 0 a result, 1 no result (or, for ``doctor``, something to fix), 2 a usage, file,
settings or model error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from lsp_server.client.headless import EXIT_ERROR, Outcome, complete, explain
from lsp_server.client.locations import LocationError, locate, locate_file
from lsp_server.client.session import ServerError, ServerOptions

COMMANDS = ("complete", "explain", "replay", "eval", "doctor")

_DEFAULT_TIMEOUT = 300.0


def _server_flags() -> argparse.ArgumentParser:
    """Flags shared by the commands that start a server."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", metavar="PATH", help="a local GGUF model file (passed to the server)")
    common.add_argument("--hf-repo", help="Hugging Face repo of the model (passed to the server)")
    common.add_argument("--hf-file", help="GGUF file name inside --hf-repo (passed to the server)")
    common.add_argument("--threads", type=int, help="CPU threads for the model (passed to the server)")
    common.add_argument("--gpu-layers", type=int, metavar="N", help="layers offloaded to the GPU (-1: all)")
    common.add_argument("--remote", metavar="URL", help="use the model served at URL (passed to the server)")
    common.add_argument("--remote-api", choices=("auto", "llama", "openai"), help="the remote server's API")
    common.add_argument("--remote-model", metavar="NAME", help="model name on an OpenAI-compatible server")
    common.add_argument("--temperature", type=float, help="sampling temperature (0 = greedy, the default)")
    common.add_argument("--seed", type=int, help="sampling seed, for repeatable runs with a temperature > 0")
    common.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any server setting, sent in initializationOptions (e.g. actions.maxTokens=128; "
        "the value is JSON, or a plain string); repeatable",
    )
    common.add_argument(
        "--timeout",
        type=float,
        default=_DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up after this long, model loading included (default {_DEFAULT_TIMEOUT:g})",
    )
    common.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    common.add_argument("-v", "--verbose", action="count", default=0, help="show the server's log on stderr")
    return common


def add_subcommands(commands: Any) -> None:
    """Register the headless subcommands on the ``qwen-lsp`` subparsers object."""
    common = _server_flags()
    complete_parser = commands.add_parser(
        "complete",
        parents=[common],
        help="print the inline completion at FILE:LINE:COL",
        description="Start the server, ask for the inline completion at a 1-based FILE:LINE:COL, print it. "
        "Exit 0 with a completion, 1 without one, 2 on a usage, file or model error.",
    )
    complete_parser.add_argument("location", metavar="FILE:LINE:COL", help="1-based line and column")
    explain_parser = commands.add_parser(
        "explain",
        parents=[common],
        help="explain the symbol at FILE:LINE (or --symbol NAME)",
        description="Start the server and run its qwenLsp.explain command on the symbol at a 1-based "
        "FILE:LINE[:COL] (without a column, the line's first non-blank character), or on --symbol NAME in "
        "FILE. Prints markdown. Exit 0 with an explanation, 1 without one, 2 on an error.",
    )
    explain_parser.add_argument("location", metavar="FILE:LINE[:COL]", help="or just FILE with --symbol")
    explain_parser.add_argument("--symbol", metavar="NAME", help="explain this symbol of FILE")
    replay_parser = commands.add_parser(
        "replay",
        parents=[common],
        help="replay a recorded LSP session and time each request",
        description="Send the client messages of a JSONL recording to a fresh server, keeping their delays "
        "(delayMs), and report each request's result and latency. Exit 0 when a request returned a "
        "result, 1 when none did, 2 on an error.",
    )
    replay_parser.add_argument("session", metavar="SESSION.jsonl", help="one client message per line")
    _add_eval(commands, common)
    doctor_parser = commands.add_parser(
        "doctor",
        help="check the model, llama.cpp, grammars and settings",
        description="Check that everything the server needs is in place and say what to fix. "
        "Exit 0 when nothing needs fixing, 1 otherwise.",
    )
    doctor_parser.add_argument("--model", metavar="PATH", help="the GGUF model file to check")
    doctor_parser.add_argument("--hf-repo", help="Hugging Face repo of the model (default model's otherwise)")
    doctor_parser.add_argument("--hf-file", help="GGUF file name inside --hf-repo")
    doctor_parser.add_argument("--remote", metavar="URL", help="check the model server at URL instead")
    doctor_parser.add_argument("--remote-api", choices=("auto", "llama", "openai"), help="its API")
    doctor_parser.add_argument(
        "--remote-model", metavar="NAME", help="model name on an OpenAI-compatible server"
    )
    doctor_parser.add_argument(
        "--settings", metavar="FILE", help="a JSON file of initializationOptions, as an editor would send"
    )
    doctor_parser.add_argument(
        "--workspace", metavar="DIR", default=".", help="workspace whose qwen-lsp.toml to check (default .)"
    )
    doctor_parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    doctor_parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")


def _add_eval(commands: Any, common: argparse.ArgumentParser) -> None:
    from lsp_server.client import evaluate

    eval_parser = commands.add_parser(
        "eval",
        parents=[common],
        help="measure completion prompt styles on your own code",
        description="Copy PATH to a scratch directory, cut holes in its source files (the rest of a line, "
        "or a function's body), and ask one server per prompt style (completion.promptStyle) to fill each. "
        "Prints exact matches, edit similarity, tests passed (--test-cmd), latency and empty answers per "
        "style, and the style to use. Your files are never written to. --seed picks the holes (default 0) "
        "and seeds sampling. Exit 0 when it ran, 1 when no hole could be cut, 2 on a usage or model error.",
    )
    eval_parser.add_argument("path", metavar="PATH", nargs="?", default=".", help="the project (default .)")
    eval_parser.add_argument(
        "--styles",
        default=",".join(evaluate.DEFAULT_STYLES),
        metavar="STYLES",
        help=f"prompt styles to compare, comma-separated, from {', '.join(evaluate.STYLES)} "
        f"(default {','.join(evaluate.DEFAULT_STYLES)})",
    )
    eval_parser.add_argument(
        "--holes",
        type=int,
        default=evaluate.DEFAULT_HOLES,
        metavar="N",
        help=f"how many holes (default {evaluate.DEFAULT_HOLES}: half line, half block)",
    )
    eval_parser.add_argument(
        "--test-cmd",
        metavar="CMD",
        help="a shell command that runs the project's tests (in the scratch copy); a hole passes when it "
        "exits 0 with the completion in place",
    )


def _configure_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    logging.getLogger("pygls").setLevel(logging.DEBUG if verbose > 2 else logging.WARNING)
    logging.getLogger("llama.cpp").setLevel(logging.DEBUG if verbose > 1 else logging.CRITICAL)


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``section.key=value`` pairs as nested initializationOptions; ValueError names a malformed pair."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ValueError(f"--setting {pair!r} is not KEY=VALUE (e.g. completion.maxTokensSingleLine=32)")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = options
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"--setting {pair!r} conflicts with an earlier --setting")
            node = child
        node[parts[-1]] = value
    return options


def _options(args: argparse.Namespace) -> ServerOptions:
    extra: list[str] = []
    if args.hf_repo:
        extra += ["--hf-repo", args.hf_repo]
    if args.hf_file:
        extra += ["--hf-file", args.hf_file]
    if args.threads:
        extra += ["--threads", str(args.threads)]
    if args.gpu_layers is not None:
        extra += ["--gpu-layers", str(args.gpu_layers)]
    for flag in ("remote", "remote_api", "remote_model"):
        if getattr(args, flag, None):
            extra += ["--" + flag.replace("_", "-"), getattr(args, flag)]
    return ServerOptions(
        model=args.model,
        temperature=args.temperature,
        seed=args.seed,
        verbose=args.verbose,
        extra_args=extra,
        settings=parse_settings(args.setting),
    )


def _fail(command: str, message: str) -> int:
    sys.stderr.write(f"qwen-lsp {command}: error: {message}\n")
    return EXIT_ERROR


def _emit(outcome: Outcome, as_json: bool) -> int:
    if as_json:
        sys.stdout.write(json.dumps(outcome.data, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(outcome.text)
    sys.stdout.flush()
    return outcome.exit_code


def _check_model_flag(args: argparse.Namespace) -> str | None:
    """Catch a missing --model file before starting a server for it."""
    if args.model and not Path(args.model).expanduser().exists():
        return f"model file {args.model} does not exist"
    return None


def _run_client_command(args: argparse.Namespace) -> int:
    from lsp_server.client.replay import RecordingError, replay

    command: str = args.command
    if args.timeout <= 0:
        return _fail(command, "--timeout must be positive")
    if args.temperature is not None and args.temperature < 0:
        return _fail(command, "--temperature must be 0 (greedy) or more")
    try:
        parse_settings(args.setting)
    except ValueError as exc:
        return _fail(command, str(exc))
    try:
        if command == "complete":
            location = locate(args.location)
            problem = _check_model_flag(args)
            if problem:
                return _fail(command, problem)
            outcome = asyncio.run(complete(location, _options(args), args.timeout))
        elif command == "explain":
            if args.symbol is not None:
                location = locate_file(args.location)
            else:
                location = locate(args.location, column_required=False)
            problem = _check_model_flag(args)
            if problem:
                return _fail(command, problem)
            outcome = asyncio.run(explain(location, args.symbol, _options(args), args.timeout))
        else:
            problem = _check_model_flag(args)
            if problem:
                return _fail(command, problem)
            outcome = asyncio.run(replay(Path(args.session), _options(args), args.timeout))
    except (LocationError, RecordingError, ServerError) as exc:
        return _fail(command, str(exc))
    return _emit(outcome, args.json)


def _run_doctor(args: argparse.Namespace) -> int:
    from lsp_server import doctor
    from lsp_server.settings import Settings

    settings = Settings()
    choice = doctor.ModelChoice(
        path=Path(args.model) if args.model else None,
        hf_repo=args.hf_repo or settings.model.hf_repo,
        hf_file=args.hf_file or settings.model.hf_file,
    )
    if args.model:
        settings.model.path = args.model
    settings.model.remote.url = args.remote or None
    settings.model.remote.api = args.remote_api or "auto"
    settings.model.remote.model = args.remote_model or None
    settings_file = Path(args.settings) if args.settings else None
    checks = doctor.run_checks(choice, settings, Path(args.workspace).resolve(), settings_file)
    code = doctor.exit_code(checks)
    if args.json:
        sys.stdout.write(json.dumps(doctor.report_data(checks), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(doctor.format_report(checks))
    sys.stdout.flush()
    return code


def _run_eval(args: argparse.Namespace) -> int:
    from lsp_server.client.evaluate import DEFAULT_SEED, EvalError, EvalRequest, evaluate, parse_styles

    if args.timeout <= 0:
        return _fail("eval", "--timeout must be positive")
    if args.temperature is not None and args.temperature < 0:
        return _fail("eval", "--temperature must be 0 (greedy) or more")
    if args.holes < 1:
        return _fail("eval", "--holes must be 1 or more")
    try:
        parse_settings(args.setting)
        request = EvalRequest(
            path=Path(args.path),
            styles=parse_styles(args.styles),
            holes=args.holes,
            seed=args.seed if args.seed is not None else DEFAULT_SEED,
            test_cmd=args.test_cmd or None,
            options=_options(args),
            timeout=args.timeout,
        )
        problem = _check_model_flag(args)
        if problem:
            return _fail("eval", problem)
        outcome = evaluate(request)
    except (ValueError, EvalError, ServerError) as exc:
        return _fail("eval", str(exc))
    return _emit(outcome, args.json)


def run(args: argparse.Namespace) -> int:
    """Run one of :data:`COMMANDS` and return its exit code."""
    _configure_logging(args.verbose)
    if args.command == "doctor":
        return _run_doctor(args)
    if args.command == "eval":
        return _run_eval(args)
    return _run_client_command(args)
