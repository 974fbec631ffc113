"""The responder's image, its jobs run the way Cortex's docker job runner runs them.

Cortex (docs/cortex-and-thehive.md §1b) makes the job folder private (0700) to its own user, mounts it
at /job, starts the image with no argument, REQUESTS_CA_BUNDLE=/job/input/cacerts when cacerts is set,
kills the container at jobTimeout, then reads output/output.json and deletes the folder. The image is
built by testkit/image_build.py.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from testkit.container_engine import container_options
from testkit.cortex import JobResult, read_output

_containers = itertools.count(1)


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
