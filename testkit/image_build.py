"""The responder's image as an admin builds it, its base image on this kind of machine, and Cortex's catalog of it.

On this kind of machine (docs/cortex-and-thehive.md §9) podman stands in for Docker, with a Debian base built by
debootstrap in place of python:3-slim, and wheels downloaded beforehand in place of PyPI.

Also the command line behind `./dev image [TAG] [BUILD OPTIONS]`, `./dev catalog IMAGE` and `./dev lock`, and
`base`, with which .ci/run builds the base image before the tests.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from testkit.container_engine import container_options, engine, missing_tools, podman
from testkit.cortex import MANIFEST, MANIFESTS
from testkit.image_lock import BASE_SUITE, CONTEXT, write_lock

BASE_IMAGE = f"localhost/phishfeedback-base:{BASE_SUITE}"
BASE_PACKAGES = "python3,python3-pip,python3-venv,ca-certificates"


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
