"""The container engine of this machine (docs/cortex-and-thehive.md §9), and what it must be told here."""

from __future__ import annotations

import os
import shutil
import subprocess


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
