"""The tests' Cortex (testkit/cortex.py) treats a job as Cortex does on a machine of any speed."""

from __future__ import annotations

import sys

from testkit.cases import thehive4_case
from testkit.cortex import run_job


def test_cortex_sigterm_finds_the_job_started_however_slowly_its_python_starts(tmp_path, job_config, smtp):
    """jobTimeout counts in minutes: Cortex's SIGTERM never lands while Python starts. The tests' seconds must not
    either, or a busy machine fails them with a job killed before it could write a word."""
    slow = tmp_path / "slow-python"
    slow.mkdir()
    (slow / "python3").write_text(f'#!/bin/sh\nsleep 1\nexec "{sys.executable}" "$@"\n')
    (slow / "python3").chmod(0o755)

    result = run_job(tmp_path, thehive4_case(), job_config(), python_dir=slow, stop_after=0.1)

    assert result.output is not None, result.everything_printed()
    assert "Traceback" not in result.everything_printed()
