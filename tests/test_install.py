"""README's process-runner install where the system Python refuses pip (PEP 668): a virtual environment
beside the script, which the job hands itself over to; no change to Cortex's service. What a job does when that
environment is missing or empty; the install itself, as Cortex's own user then runs its jobs: tests/test_cortex_user.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.cases import thehive4_case
from testkit.cortex import MANIFEST, finish_job, start_job, write_job


@pytest.fixture
def responders(tmp_path) -> Path:
    """Cortex's responders folder, with PhishFeedback/ copied into it as README's first step says."""
    root = tmp_path / "responders"
    shutil.copytree(MANIFEST.parent, root / "PhishFeedback", ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    return root


def run_as_cortex(responders: Path, bare_python: Path, tmp_path: Path, config: dict) -> dict | None:
    """The process runner: the script by path, from the responders folder, `python3` from the bare Python."""
    job = write_job(tmp_path, thehive4_case(), config)
    return finish_job(start_job(job, bare_python, responders=responders), job).output


def test_without_the_virtual_environment_the_error_gives_the_steps(responders, bare_python, tmp_path, job_config, smtp):
    output = run_as_cortex(responders, bare_python, tmp_path, job_config())

    assert output["success"] is False
    assert "python3 -m venv PhishFeedback/.venv" in output["errorMessage"]
    assert "PhishFeedback/.venv/bin/pip install -r PhishFeedback/requirements.txt" in output["errorMessage"]


def test_virtual_environment_without_the_requirements_is_an_error_not_a_loop(
    responders, bare_python, tmp_path, job_config, smtp
):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "PhishFeedback/.venv"], cwd=responders, check=True)

    output = run_as_cortex(responders, bare_python, tmp_path, job_config())

    assert output["success"] is False
    assert f"cortexutils is not installed for {responders}/PhishFeedback/.venv/bin/python3" in output["errorMessage"]
    assert smtp.delivered == []
