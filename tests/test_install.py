"""README's process-runner install where the system Python refuses pip (PEP 668): a virtual environment
beside the script, which the job hands itself over to; no change to Cortex's service. What a job does when that
environment is missing or empty, or when the host's Python holds cortexutils alone; the install itself, as Cortex's
own user then runs its jobs: tests/test_cortex_user.py.
"""

from __future__ import annotations

import importlib
import shutil
import site
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit.cases import thehive4_case, thehive5_case
from testkit.cortex import MANIFEST, finish_job, start_job, write_job
from testkit.thehive_api import API_KEY


@pytest.fixture
def responders(tmp_path) -> Path:
    """Cortex's responders folder, with PhishFeedback/ copied into it as README's first step says."""
    root = tmp_path / "responders"
    shutil.copytree(MANIFEST.parent, root / "PhishFeedback", ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    return root


@pytest.fixture
def host_python(tmp_path) -> Callable[..., Path]:
    """A folder whose python3 holds these packages alone, as a host's system Python where they were installed for
    other analyzers and responders."""

    def holding(*packages: str) -> Path:
        folder = tmp_path / "host-python"
        for package in packages:
            shutil.copytree(Path(importlib.import_module(package).__file__).parent, folder / "packages" / package)
        (folder / "python3").write_text(
            f'#!/bin/sh\nPYTHONPATH="{folder / "packages"}" exec "{sys.executable}" -S "$@"\n'
        )
        (folder / "python3").chmod(0o755)
        return folder

    return holding


@pytest.fixture
def cortexutils_alone(host_python) -> Path:
    """A host's python3 with cortexutils and none of the responder's other requirements (cortexutils requires
    nothing itself)."""
    return host_python("cortexutils")


def with_requirements(responders: Path) -> None:
    """PhishFeedback/.venv holding the requirements, as README's pip install leaves it: here the tests' own packages,
    named in a .pth file, with no download."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "PhishFeedback/.venv"], cwd=responders, check=True)
    [packages] = (responders / "PhishFeedback" / ".venv" / "lib").glob("python*/site-packages")
    (packages / "requirements.pth").write_text("".join(f"{folder}\n" for folder in site.getsitepackages()))


def run_as_cortex(
    responders: Path, python: Path, tmp_path: Path, config: dict, case: dict | None = None
) -> dict | None:
    """The process runner: the script by path, from the responders folder, `python3` from `python`."""
    job = write_job(tmp_path, case or thehive4_case(), config)
    return finish_job(start_job(job, python, responders=responders), job).output


def reporter_in_thehive(job_config, thehive_tls) -> tuple[dict, dict]:
    """A TheHive 5 case whose reporter only TheHive's observables name, and the items that reach that TheHive: a job
    on it needs requests."""
    items = {"thehive_url": thehive_tls.url_for("/").rstrip("/"), "thehive_apikey": API_KEY}
    return thehive5_case("Spam", ()), job_config(**items)


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


def test_a_host_python_with_cortexutils_alone_runs_the_job_in_the_responders_own_environment(
    responders, cortexutils_alone, tmp_path, job_config, smtp, thehive_tls
):
    with_requirements(responders)
    case, config = reporter_in_thehive(job_config, thehive_tls)

    output = run_as_cortex(responders, cortexutils_alone, tmp_path, config, case)

    assert output["success"] is True, output
    assert smtp.recipients() == ["bob@example.org"]


def test_a_host_python_with_cortexutils_alone_and_no_environment_beside_it_names_what_to_install(
    responders, cortexutils_alone, tmp_path, job_config, smtp, thehive_tls
):
    case, config = reporter_in_thehive(job_config, thehive_tls)

    output = run_as_cortex(responders, cortexutils_alone, tmp_path, config, case)

    assert output["success"] is False
    assert f"is not installed for {sys.executable}. Install the responder's requirements" in output["errorMessage"]
    assert "PhishFeedback/.venv/bin/pip install -r PhishFeedback/requirements.txt" in output["errorMessage"]
    assert "bug" not in output["errorMessage"] and smtp.delivered == []


def test_a_host_python_without_cryptography_and_no_environment_beside_it_says_the_gmail_key_needs_it(
    responders, host_python, tmp_path, job_config, gmail_items, smtp
):
    python = host_python("cortexutils", "requests", "urllib3", "idna", "charset_normalizer", "certifi")

    output = run_as_cortex(responders, python, tmp_path, job_config(**gmail_items))

    assert output["success"] is False
    assert "signs with the Python package cryptography: cryptography is not installed for" in output["errorMessage"]
    assert "PhishFeedback/.venv/bin/pip install -r PhishFeedback/requirements.txt" in output["errorMessage"]
