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

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from testkit.cortex import MANIFEST, MANIFESTS, JobResult, read_output, write_job

CONTEXT = MANIFEST.parent
# The python:3.11-slim-bookworm look-alike: Debian 12 and its Python, which the offline wheels must fit.
BASE_SUITE, BASE_PYTHON = "bookworm", "3.11"
# The platform of the image's wheels (PhishFeedback/requirements.lock's hashes are theirs).
WHEEL_PLATFORM = "manylinux2014_x86_64"
LOCK = CONTEXT / "requirements.lock"
BASE_IMAGE = f"localhost/phishfeedback-base:{BASE_SUITE}"
BASE_PACKAGES = "python3,python3-pip,python3-venv,ca-certificates"
# Cortex's own user on the host: neither root nor any user the image knows.
CORTEX_UID = 4321
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
        raise SystemExit(f"./dev image: {command[0]} could not build {tag} (see above).")
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
    """Built once (about 45 s) and kept in podman's storage; Docker Hub is out of reach here."""
    if has_image(command, BASE_IMAGE):
        return
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


def download_wheels(wheels: Path, requirements: Path = LOCK) -> None:
    """The image's wheels for its Python and platform, whatever this machine's, as docs/image.md's offline recipe."""
    print(f"Downloading the image's wheels into {wheels} ...", file=sys.stderr)
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
            *("--only-binary=:all:", "--python-version", BASE_PYTHON, "--platform", WHEEL_PLATFORM),
            *("-d", str(wheels), "-r", str(requirements)),
        ],
        check=True,
    )


def write_lock() -> None:
    """requirements.lock: requirements.txt resolved for the image, each wheel pinned with its sha256."""
    with tempfile.TemporaryDirectory(prefix="phishfeedback-lock-") as scratch:
        download_wheels(Path(scratch), CONTEXT / "requirements.txt")
        pins = []
        for wheel in sorted(Path(scratch).glob("*.whl")):
            name, version = wheel.name.split("-")[:2]
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            pins.append(f"{name.replace('_', '-').lower()}=={version} \\\n    --hash=sha256:{digest}\n")
    header = (
        f"# What the image installs (pip install --require-hashes): requirements.txt resolved for Python"
        f" {BASE_PYTHON} on {WHEEL_PLATFORM},\n# written by ./dev lock. Cortex's process runner installs"
        " requirements.txt instead.\n"
    )
    LOCK.write_text(header + "".join(pins), encoding="utf-8")
    print(f"./dev lock: {len(pins)} pinned requirements written to {LOCK}", file=sys.stderr)


def build_test_image(command: list[str], tag: str, wheels: Path) -> None:
    """The Dockerfile as an admin builds it offline: base and wheels given as build arguments."""
    subprocess.run(
        [
            *command,
            *("build", "--network", "none", "-v", f"{wheels}:/wheels:ro", *container_options(command)),
            *("--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--build-arg", "PIP_NO_INDEX=1"),
            *("--build-arg", "PIP_FIND_LINKS=/wheels", "-t", tag, str(CONTEXT)),
        ],
        check=True,
        capture_output=True,
    )


def cortex_job_folder(jobs: Path, data: object, config: object, **job) -> Path:
    """A job folder as Cortex prepares it: input/, an empty output/, all the cortex user's, the top 0700."""
    folder = write_job(jobs, data, config, **job)
    (folder / "output").mkdir()
    for path in (folder, *folder.rglob("*")):
        os.chown(path, CORTEX_UID, CORTEX_UID)
    folder.chmod(0o700)
    return folder


@dataclass
class ContainerJob:
    result: JobResult
    killed: bool


def run_container_job(
    command: list[str],
    image: str,
    folder: Path,
    *,
    kill_after: float = 120,
    arguments: tuple[str, ...] = (),
    user: str | None = None,
) -> ContainerJob:
    """Start the image as Cortex 4 does (Cortex 3 gave `/job` as argument); at `kill_after` seconds remove it
    by force, as Cortex does at jobTimeout. `user` starts it as that user instead of the image's root."""
    name = f"phishfeedback-job-{os.getpid()}-{next(_containers)}"
    run = [*command, "run", "--rm", "--name", name, "--network", "host", *container_options(command)]
    run += ["-v", f"{folder}:/job", *(["--user", user] if user else [])]
    if (folder / "input" / "cacerts").exists():
        run += ["-e", "REQUESTS_CA_BUNDLE=/job/input/cacerts"]
    killed = False
    try:
        done = subprocess.run([*run, image, *arguments], capture_output=True, timeout=kill_after)
        stdout, stderr = done.stdout, done.stderr
    except subprocess.TimeoutExpired as late:
        subprocess.run([*command, "rm", "--force", name], capture_output=True)
        killed, stdout, stderr = True, late.stdout or b"", late.stderr or b""
    output, raw = read_output(folder)
    result = JobResult(output, raw, stdout.decode(errors="replace"), stderr.decode(errors="replace"), folder)
    return ContainerJob(result, killed)


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
    elif arguments == ["lock"]:
        write_lock()
    elif arguments[:1] == ["catalog"] and len(arguments) == 2:
        json.dump(catalog(arguments[1]), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        raise SystemExit("usage: ./dev image [TAG] [BUILD OPTIONS] | ./dev catalog IMAGE | ./dev lock")


if __name__ == "__main__":
    main(sys.argv[1:])
