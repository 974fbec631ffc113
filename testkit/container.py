"""The responder's image, and its jobs run the way Cortex's docker job runner runs them.

Cortex (docs/cortex-and-thehive.md §1b) makes the job folder private (0700) to its own user, mounts it
at /job, starts the image with no argument, REQUESTS_CA_BUNDLE=/job/input/cacerts when cacerts is set,
kills the container at jobTimeout, then reads output/output.json and deletes the folder. On this kind
of machine (docs/cortex-and-thehive.md §9) podman stands in for Docker, with a Debian base built by
debootstrap in place of python:3-slim, and wheels downloaded beforehand in place of PyPI.

Also the command line behind `./dev image [TAG] [BUILD OPTIONS]` and `./dev catalog IMAGE`, and `base`,
with which .ci/run builds the base image before the tests.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from testkit.cortex import MANIFEST, MANIFESTS, JobResult, read_output

CONTEXT = MANIFEST.parent
# The python:3.11-slim-bookworm look-alike: Debian 12 and its Python, which the offline wheels must fit.
BASE_SUITE, BASE_PYTHON = "bookworm", "3.11"
# The platform the lock is resolved for and the image's wheels are downloaded for (the lock hashes all platforms').
WHEEL_PLATFORM = "manylinux2014_x86_64"
# The same platform in uv's words, for which ./dev lock resolves.
LOCK_PLATFORM = "x86_64-manylinux_2_17"
LOCK = CONTEXT / "requirements.lock"
PIN = re.compile(r"^[A-Za-z0-9._-]+==[^\s\\]+", re.MULTILINE)
BASE_IMAGE = f"localhost/phishfeedback-base:{BASE_SUITE}"
BASE_PACKAGES = "python3,python3-pip,python3-venv,ca-certificates"
_containers = itertools.count(1)


def engine() -> list[str] | None:
    """docker where its engine answers (a docker client alone is not enough), else podman."""
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        return ["docker"]
    return podman()


def podman() -> list[str] | None:
    """podman as a command prefix, with the runtime this kind of machine needs (docs/cortex-and-thehive.md §9)."""
    if not shutil.which("podman"):
        return None
    # crun refuses the hybrid cgroups of these machines; rootful runc with cgroupfs works.
    if os.geteuid() == 0 and os.path.exists("/usr/sbin/runc"):
        return ["podman", "--runtime", "/usr/sbin/runc", "--cgroup-manager=cgroupfs"]
    return ["podman"]


def missing_tools() -> str | None:
    """Why the container tests cannot run here, if they cannot."""
    absent = [tool for tool in ("podman", "debootstrap", "runc") if not shutil.which(tool)]
    if absent:
        return f"{', '.join(absent)} not installed: apt-get install -y podman runc debootstrap"
    if os.geteuid() != 0:
        return "the container tests use rootful podman: run them as root"
    return None


def container_options(command: list[str]) -> list[str]:
    """Limits podman must be given here: it would copy the host's, which runc refuses."""
    return ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"] if command[0] == "podman" else []


def default_tag() -> str:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return f"{manifest['name'].lower()}:{manifest['version']}"


def build_image(tag: str, options: list[str]) -> str:
    command = engine()
    if command is None:
        raise SystemExit("./dev image needs docker or podman; neither is installed.")
    build = [*command, "build", *container_options(command), "-t", tag, *options, str(CONTEXT)]
    print("./dev image:", " ".join(build), file=sys.stderr)
    if subprocess.run(build).returncode != 0:
        raise SystemExit(
            f"./dev image: {command[0]} could not build {tag} (see above). Behind a company mirror or proxy, or"
            " with no network, docs/image.md has the recipes: --build-arg BASE_IMAGE and PIP_INDEX_URL"
            " (Building), or a build from downloaded wheels (Offline)."
        )
    return local_name(command, tag)


def local_name(command: list[str], tag: str) -> str:
    """The name the engine gives the image: podman puts a bare name under localhost/, Docker keeps it."""
    first = tag.split("/", 1)[0]
    qualified = "/" in tag and ("." in first or ":" in first or first == "localhost")
    return tag if command[0] != "podman" or qualified else f"localhost/{tag}"


def catalog(image: str) -> list[dict]:
    """What `responder.urls` may point at: each flavour's manifest without `command`, naming the image."""
    entries = []
    for path in MANIFESTS:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        del manifest["command"]
        entries.append(dict(manifest, dockerImage=image))
    return entries


def has_image(command: list[str], image: str) -> bool:
    return subprocess.run([*command, "image", "exists", image], capture_output=True).returncode == 0


def build_base_image(command: list[str]) -> None:
    """Built once (about 45 s) and kept in podman's storage; Docker Hub is out of reach here.

    podman's storage is the machine's: whoever comes while another test session builds it waits for that build.
    """
    with open(Path(tempfile.gettempdir()) / "phishfeedback-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not has_image(command, BASE_IMAGE):
            debootstrap_base_image(command)


def debootstrap_base_image(command: list[str]) -> None:
    print(f"Building the base image {BASE_IMAGE} with debootstrap (about a minute, once) ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="phishfeedback-base-") as scratch:
        root = Path(scratch) / "root"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", BASE_SUITE, str(root)],
            check=True,
            capture_output=True,
        )
        for marker in root.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            marker.unlink()
        for name, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
            (root / "usr/local/bin" / name).symlink_to(target)
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run([*command, "import", "-", BASE_IMAGE], stdin=tar.stdout, check=True, capture_output=True)
        if tar.wait() != 0:
            raise RuntimeError("tar of the base image's root failed")
    print(f"The base image {BASE_IMAGE} is in podman's storage.", file=sys.stderr)


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


def build_test_image(command: list[str], tag: str, wheels: Path) -> None:
    """The Dockerfile as an admin builds it offline: base and wheels given as build arguments. No layer is kept,
    so that a failed build leaves nothing in podman's storage; it fails with what the build said."""
    done = subprocess.run(
        [
            *command,
            *("build", "--layers=false", "--network", "none", "-v", f"{wheels}:/wheels:ro"),
            *container_options(command),
            *("--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--build-arg", "PIP_NO_INDEX=1"),
            *("--build-arg", "PIP_FIND_LINKS=/wheels", "-t", tag, str(CONTEXT)),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"The image did not build:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


@dataclass
class ContainerJob:
    result: JobResult
    killed: bool
    starts: int = 1  # how often the runner started the job on its folder


# Cortex's Kubernetes Job sets no backoffLimit: the Job controller's default starts a pod that exited with another
# code than 0 again, up to so many times (with a back-off of 10 s doubling between them, left out here).
KUBERNETES_BACKOFF_LIMIT = 6


def run_container_job(
    command: list[str],
    image: str,
    folder: Path,
    *,
    kill_after: float = 120,
    arguments: tuple[str, ...] = (),
    user: str | None = None,
    script: Path | None = None,
    kubernetes: bool = False,
    options: tuple[str, ...] = (),
    network: str = "host",
) -> ContainerJob:
    """Start the image as Cortex 4's docker runner does (Cortex 3 gave `/job` as argument); at `kill_after`
    seconds remove it by force, as Cortex does at jobTimeout. `user` starts it as that user instead of the
    image's root; `script` is mounted in the responder's script's place, to see what the image's entry gives it;
    `kubernetes` mounts the folder as Cortex's Kubernetes runner does: input/ read-only and output/ under a /job
    of the runtime's own, given as argument, the folder's name in CORTEX_JOB_FOLDER; `options` go to the engine's
    run as they are. `network`: the host's, where the loopback servers are; Cortex's runner leaves the engine's
    default, `bridge`, where the host's loopback is out of reach."""
    name = f"phishfeedback-job-{os.getpid()}-{next(_containers)}"
    run = [*command, "run", "--rm", "--name", name, "--network", network, *container_options(command)]
    if kubernetes:
        run += ["-v", f"{folder / 'input'}:/job/input:ro", "-v", f"{folder / 'output'}:/job/output"]
        run += ["-e", f"CORTEX_JOB_FOLDER={folder.name}"]
        arguments = ("/job",)
    else:
        run += ["-v", f"{folder}:/job"]
    run += ["--user", user] if user else []
    run += options
    run += ["-v", f"{script}:/worker/PhishFeedback/phish_feedback.py:ro"] if script else []
    if (folder / "input" / "cacerts").exists():
        run += ["-e", "REQUESTS_CA_BUNDLE=/job/input/cacerts"]
    killed, starts, deadline = False, 0, time.monotonic() + kill_after
    while not killed:
        starts += 1
        try:
            done = subprocess.run([*run, image, *arguments], capture_output=True, timeout=deadline - time.monotonic())
            stdout, stderr = done.stdout, done.stderr
        except subprocess.TimeoutExpired as late:
            # As Docker's forced removal, which Cortex uses: SIGKILL at once (podman would send SIGTERM first).
            stop_at_once = ["--time", "0"] if command[0] == "podman" else []
            subprocess.run([*command, "rm", "--force", *stop_at_once, name], capture_output=True)
            killed, stdout, stderr = True, late.stdout or b"", late.stderr or b""
        if not kubernetes or killed or done.returncode == 0 or starts > KUBERNETES_BACKOFF_LIMIT:
            break
    output, raw = read_output(folder)
    if kubernetes and killed:  # past its wait, the Kubernetes runner ends the job as a failure, unread
        output, raw = None, ""
    result = JobResult(output, raw, stdout.decode(errors="replace"), stderr.decode(errors="replace"), folder)
    return ContainerJob(result, killed, starts)


def main(arguments: list[str]) -> None:
    if arguments[:1] == ["image"]:
        options = arguments[1:]
        tag = options.pop(0) if options and not options[0].startswith("-") else default_tag()
        name = build_image(tag, options)
        print(
            f"Built {name}. Cortex's Docker engine must hold an image of the name its catalog gives: push it to"
            f" your registry (tag it registry.example.org/soc/{tag}, push, then"
            f" ./dev catalog registry.example.org/soc/{tag}), or load it on the Cortex host and use"
            f" ./dev catalog {name} (docs/image.md).",
            file=sys.stderr,
        )
    elif arguments == ["base"]:
        reason = missing_tools()
        if reason:
            raise SystemExit(f"The base image cannot be built: {reason}")
        build_base_image(podman())
    elif arguments[:1] == ["lock"]:
        write_lock(arguments[1:])
    elif arguments[:1] == ["catalog"] and len(arguments) == 2:
        json.dump(catalog(arguments[1]), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        raise SystemExit("usage: ./dev image [TAG] [BUILD OPTIONS] | ./dev catalog IMAGE | ./dev lock [--upgrade]")


if __name__ == "__main__":
    main(sys.argv[1:])
