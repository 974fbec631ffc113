"""The image's pinned requirements (`./dev lock`) and the wheels downloaded from them for an offline build."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from testkit.cortex import MANIFEST

CONTEXT = MANIFEST.parent
# The python:3.11-slim-bookworm look-alike: Debian 12 and its Python, which the offline wheels must fit.
BASE_SUITE, BASE_PYTHON = "bookworm", "3.11"
# The platform the lock is resolved for and the image's wheels are downloaded for (the lock hashes all platforms').
WHEEL_PLATFORM = "manylinux2014_x86_64"
# The same platform in uv's words, for which ./dev lock resolves.
LOCK_PLATFORM = "x86_64-manylinux_2_17"
LOCK = CONTEXT / "requirements.lock"
PIN = re.compile(r"^[A-Za-z0-9._-]+==[^\s\\]+", re.MULTILINE)


def download_wheels(wheels: Path) -> None:
    """The image's wheels for its Python and platform, whatever this machine's, as docs/image.md's offline recipe."""
    print(f"Downloading the image's wheels into {wheels} ...", file=sys.stderr)
    pip_download(wheels, "--python-version", BASE_PYTHON, "--platform", WHEEL_PLATFORM, "-r", str(LOCK))


def download_own_wheels(wheels: Path) -> None:
    """This machine's own wheels of the locked versions, as a wheelhouse shared with the host holds them.

    Fetched by name and version: with the lock's hashes, pip would take only files the lock names.
    """
    pip_download(wheels, "--no-deps", *PIN.findall(LOCK.read_text(encoding="utf-8")))


def pip_download(wheels: Path, *what: str) -> None:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"]
    subprocess.run([*command, "-d", str(wheels), *what], check=True)


def write_lock(options: list[str]) -> None:
    """requirements.lock: requirements.txt resolved by uv for the image's Python and platform, each pinned version
    with the sha256 of every file the index has of it. pip checks the file it picks, and in a wheels folder that
    also holds another machine's wheels it may pick one of those (a newer manylinux that fits the image too).

    The versions already pinned stay unless requirements.txt needs others, or `options` say `--upgrade`.
    """
    with tempfile.TemporaryDirectory(prefix="phishfeedback-lock-") as scratch:
        output = Path(scratch) / LOCK.name
        # uv keeps what an existing output pins, hashes included: it is shown the versions alone.
        pinned = LOCK.read_text(encoding="utf-8") if LOCK.exists() else ""
        output.write_text("".join(f"{pin}\n" for pin in PIN.findall(pinned)), encoding="utf-8")
        done = subprocess.run(
            [
                *(sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--generate-hashes", "--no-header"),
                *("--python-version", BASE_PYTHON, "--python-platform", LOCK_PLATFORM, "-o", str(output)),
                *("requirements.txt", *options),
            ],
            cwd=CONTEXT,
        )
        if done.returncode:
            raise SystemExit("./dev lock: uv could not resolve requirements.txt (see above); the lock is unchanged.")
        body = output.read_text(encoding="utf-8")
    header = (
        f"# What the image installs (pip install --require-hashes): requirements.txt resolved for Python"
        f" {BASE_PYTHON} on {WHEEL_PLATFORM},\n# each version with the hash of every file of it (all platforms'"
        " wheels), written by ./dev lock.\n# Cortex's process runner installs requirements.txt instead.\n"
    )
    LOCK.write_text(header + body, encoding="utf-8")
    print(f"./dev lock: {len(PIN.findall(body))} pinned requirements written to {LOCK}", file=sys.stderr)
