#!/usr/bin/env python3
"""Phish_Feedback: tell the employees who reported a message what the SOC made of it.

Cortex runs this file once per click with the job folder as its only argument (docs/cortex-and-thehive.md §1).
The flow: read the case → decide who to answer → render the messages → deliver → report.
"""

from __future__ import annotations

import os
import sys

from feedback import startup

# Before the heavy imports: a job Cortex stops while it starts, or a Python without cortexutils, still gets a report.
startup.prepare()
Responder = startup.responder_base(__file__)

import time
from datetime import datetime, timezone

from feedback.case import CaseError, read_report
from feedback.delivery import SmtpError, deliver
from feedback.items import ConfigError
from feedback.job_folder import missing_input, path, unreadable_input, write_failure, write_output
from feedback.logins import check_login
from feedback.messages import Composer
from feedback.oauth import OAuthError
from feedback.outcome import Outcome, delivered, nothing_to_send, preview
from feedback.plan import decide
from feedback.redaction import SECRET_PHRASES, remember_secrets
from feedback.session import Permanent
from feedback.settings import read_settings
from feedback.thehive import TheHiveError, observables_for

# What output.json says while the job runs, in case Cortex ends it without a SIGTERM (its docker runner kills).
ENDED_BEFORE_SENDING = (
    "Phish_Feedback was ended before it finished, before any message was sent: nothing was sent or tagged."
)
ENDED_WHILE_SENDING = (
    "Phish_Feedback was ended while the messages were going out: some reporters may have received it, but the case"
    " records none of them. Look in the SMTP server's log for who was mailed before running the responder again."
)


class PhishFeedback(Responder):
    """Wires the modules and turns their failures into Cortex errors, in one place."""

    # What TheHive applies after a successful job; cortexutils asks for it through operations().
    planned_operations: list = []

    def run(self) -> None:
        config = self.get_param("config", {})
        remember_secrets(config)
        try:
            write_output({"success": False, "errorMessage": ENDED_BEFORE_SENDING})
        except OSError as unwritable:
            print(
                f"Phish_Feedback cannot write its report in {path('output')} ({unwritable.strerror}),"
                " so it sent nothing. Let Cortex's user write the job folder.",
                file=sys.stderr,
            )
            sys.exit(1)
        try:
            outcome = self.respond(config)
        except (ConfigError, CaseError, TheHiveError, SmtpError, Permanent, OAuthError) as failure:
            self.error(str(failure))
        self.planned_operations = outcome.operations
        self.report(outcome.full)

    def respond(self, config: object) -> Outcome:
        settings = read_settings(config, self.get_param("parameters"))
        deadline = time.monotonic() + settings.time_budget
        report = read_report(self.get_param("data"), self.data_type, settings.custom_field, settings.title_prefix)
        observables, warnings = observables_for(report, settings.thehive, deadline)
        decision = decide(report, observables, settings.reporter_tag, settings.allowed_domains)
        if not decision.recipients:
            return nothing_to_send(decision, report.kind, warnings)
        composer = Composer(decision, report, settings, datetime.now(timezone.utc))
        if settings.dry_run:
            check_login(settings.smtp, deadline)
            return preview(decision, composer, warnings)
        write_output({"success": False, "errorMessage": ENDED_WHILE_SENDING})
        delivery = deliver(composer, settings.smtp, settings.sender_address, deadline)
        return delivered(decision, delivery, report.kind, settings.sent_tag, settings.failed_tag, warnings)

    def operations(self, raw: dict) -> list:
        return self.planned_operations

    def report(self, full_report: dict, ensure_ascii: bool = True) -> None:
        """cortexutils' success output, through the one writer that scrubs secrets and keeps JSON strict."""
        write_output({"success": True, "full": full_report, "operations": self.operations(full_report)})

    def error(self, message: str, ensure_ascii: bool = True) -> None:
        """cortexutils' error output, with the job's input echoed as it does, minus every secret and credential."""
        echoed = dict(self._input) if isinstance(self._input, dict) else {}
        config = echoed.get("config")
        remember_secrets(config)
        if isinstance(config, dict):
            echoed["config"] = {
                k: "REMOVED" if any(p in str(k).lower() for p in SECRET_PHRASES) else v for k, v in config.items()
            }
        write_failure(message, input=echoed)
        sys.exit(1)


def report_unexpected(error: Exception) -> None:
    """A last word for Cortex when a bug escapes: without output.json it would show a raw traceback."""
    import traceback

    where = traceback.extract_tb(error.__traceback__)[-1]
    write_failure(
        f"Phish_Feedback stopped on an unexpected {type(error).__name__} at"
        f" {os.path.basename(where.filename)}:{where.lineno}. Nothing was tagged; messages may have gone"
        " out before the error. Please report this to the responder's maintainers."
    )


def main() -> None:
    problem = missing_input()
    if problem:
        write_failure(problem)
        return
    try:
        responder = PhishFeedback()
    except (ValueError, OSError, AttributeError) as bad:
        write_failure(unreadable_input(bad))
        return
    try:
        responder.run()
    except Exception as unexpected:  # the one place that must catch everything
        report_unexpected(unexpected)


if __name__ == "__main__":
    main()
