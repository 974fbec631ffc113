"""The report a kill leaves, made in the test's own process as the job makes it, to look at after each write."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from feedback.case import read_report
from feedback.concurrent_jobs import Turn
from feedback.interim_report import InterimReport
from feedback.plan import decide
from feedback.settings import read_settings
from feedback.tags import record_time
from testkit.cases import thehive4_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST


def interim_report(
    job_config,
    job_folder: Path,
    monkeypatch,
    reporters: Sequence[str] = ("alice@example.org",),
    acknowledgement: bool = False,
) -> InterimReport:
    """The report a kill would leave of a Spam job to `reporters` (or of their acknowledgement), written in
    `job_folder` by this process; `job_config` and `monkeypatch` are the tests' fixtures."""
    settings = read_settings(job_config(ACKNOWLEDGE_MANIFEST) if acknowledgement else job_config(), {})
    audience = settings.audience
    case = thehive4_case(None if acknowledgement else "Spam", reporters)
    report = read_report(case, "thehive:case", settings.custom_field, settings.title_prefix, audience.flavour)
    monkeypatch.setattr(sys, "argv", ["phish_feedback.py", str(job_folder)])
    decision = decide(report, [], audience, record_time())
    return InterimReport(decision, report.kind, settings.sent_tag, settings.failed_tag, "its log", Turn(report).record)
