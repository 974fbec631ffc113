"""Cortex's own user on its host: the job folders it prepares, and the process runner's jobs run as that user, from a
responders folder root installed, with the host's Python (docs/cortex-and-thehive.md §1).

The other end-to-end tests run their jobs as the tests' user, root in CI, whom no missing permission stops, with the
tests' Python, which lives where no other user may look (/root on this machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit.cortex import REPO, JobResult, finish_job, start_job, write_job
from testkit.recipes import recipes

# Cortex's own user on the host: neither root nor any user the host or an image knows.
CORTEX_UID = 4321
# The host's own Python, as a Cortex host that runs the responder with the system's Python has it.
SYSTEM_PYTHON = Path("/usr/bin/python3")
# README's last step of the installation, on a host whose root's umask keeps other users out.
READABLE = "chmod -R a+rX /opt/cortex/responders/PhishFeedback"


def cortex_job_folder(jobs: Path, data: object, config: object, **job) -> Path:
    """A job folder as Cortex prepares it: input/, an empty output/, all the cortex user's, the top 0700."""
    folder = write_job(jobs, data, config, **job)
    (folder / "output").mkdir()
    for path in (folder, *folder.rglob("*")):
        os.chown(path, CORTEX_UID, CORTEX_UID)
    folder.chmod(0o700)
    return folder


@dataclass(frozen=True)
class CortexHost:
    """Where Cortex's user finds what it runs, none of it its own, and where it makes its job folders."""

    responders: Path  # the responders root, with PhishFeedback/ as README's installation leaves it, compiled
    jobs: Path  # job.directory: root's, and everyone's to write in with the sticky bit, as /tmp is

    def run(self, data: object, config: object, **job) -> JobResult:
        """One job, in a folder Cortex's user made, started by path as that user: the host's python3 runs the script,
        which hands itself over to the virtual environment beside it."""
        folder = cortex_job_folder(self.jobs, data, config, **job)
        process = start_job(folder, SYSTEM_PYTHON.parent, responders=self.responders, user=CORTEX_UID)
        return finish_job(process, folder)

    def files(self) -> dict[str, float]:
        """Every file of the responders folder, with the time it last changed."""
        return {str(path): path.lstat().st_mtime for path in self.responders.rglob("*")}


@pytest.fixture(scope="session", params=[0o022, 0o027], ids=["umask022", "umask027"])
def cortex_installation(request) -> Iterator[tuple[Path, Path]]:
    """The responder installed by root with the host's Python as README says, in a folder of their own:
    `(folder, responders)`; under the usual umask, and under a hardened host's 027 (CIS benchmarks), then made
    readable as README's last step says. Needs root, to start jobs as another user; where the tests run as another
    user already, every job does."""
    if os.geteuid() != 0:
        pytest.skip("the tests run as a user other than root: their jobs already run without root's rights")
    if not SYSTEM_PYTHON.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run jobs with the host's Python as Cortex's user: {SYSTEM_PYTHON} is missing")
        pytest.skip(f"needs the host's Python at {SYSTEM_PYTHON}")
    # Outside pytest's temporary folders, which are root's alone.
    folder = Path(tempfile.mkdtemp(prefix="cortex-host-"))
    try:
        folder.chmod(0o755)
        yield folder, _installed_responder(folder / "responders", request.param)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cortex_host(cortex_installation) -> CortexHost:
    """A host whose Cortex runs as its own user, with a job directory of the test's own: a job's records there count
    for the next job on the same case."""
    folder, responders = cortex_installation
    jobs = Path(tempfile.mkdtemp(prefix="jobs-", dir=folder))
    jobs.chmod(0o1777)
    return CortexHost(responders, jobs)


def _installed_responder(responders: Path, umask: int) -> Path:
    """PhishFeedback/ copied as `cp -r` copies it under `umask`, then README's installation recipe run by root as
    written (but for its apt-get and cd), with the host's python3 first on PATH: a virtual environment beside the
    script, and every module compiled. Where the umask keeps other users out, README's chmod follows."""
    shutil.copytree(
        REPO / "PhishFeedback", responders / "PhishFeedback", ignore=shutil.ignore_patterns(".venv*", "__pycache__")
    )
    for path in responders.rglob("*"):  # the responders folder itself is Cortex's, which reads it
        path.chmod(path.stat().st_mode & 0o777 & ~umask)
    steps = [
        line for line in recipes()["process-runner-install"].splitlines() if not line.startswith(("apt-get", "cd "))
    ]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert READABLE in readme, f"README no longer says {READABLE}"
    steps += [READABLE.replace("/opt/cortex/responders/", "")] if umask & 0o005 else []
    environment = {**os.environ, "PATH": os.pathsep.join((str(SYSTEM_PYTHON.parent), os.environ["PATH"]))}
    subprocess.run(
        ["bash", "-e", "-c", "\n".join(steps)],
        cwd=responders,
        env=environment,
        check=True,
        preexec_fn=lambda: os.umask(umask),
    )
    return responders
