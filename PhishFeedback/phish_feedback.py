#!/usr/bin/env python3
"""Phish_Feedback: tell the employees who reported a message what the SOC made of it.

Cortex runs this file once per click with the job folder as its only argument (docs/cortex-and-thehive.md §1).
The flow: read the case → decide who to answer → render the messages → deliver → report.
"""

import json
import os
import signal
import sys
import time
from datetime import datetime, timezone


def write_failure(message: str) -> None:
    """Cortex's error output, for what goes wrong where cortexutils cannot report it."""
    output = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "/job", "output")
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "output.json"), "w", encoding="utf-8") as file:
        json.dump({"success": False, "errorMessage": message}, file)


try:
    from cortexutils.responder import Responder
except ImportError:
    write_failure(
        f"Phish_Feedback cannot start: cortexutils is not installed for {sys.executable}. Install the"
        f" responder's requirements: {sys.executable} -m pip install -r PhishFeedback/requirements.txt"
    )
    sys.exit(1)

from feedback.case import CaseError, read_report
from feedback.delivery import SmtpError, Stopped, deliver
from feedback.logins import check_login
from feedback.messages import Composer
from feedback.oauth import OAuthError
from feedback.outcome import Outcome, delivered, nothing_to_send, preview
from feedback.plan import decide
from feedback.session import Permanent
from feedback.settings import ConfigError, read_settings, redact, secret_values
from feedback.thehive import TheHiveError, observables_for


class PhishFeedback(Responder):
    """Wires the modules and turns their failures into Cortex errors, in one place."""

    # What TheHive applies after a successful job; cortexutils asks for it through operations().
    planned_operations: list = []

    def run(self) -> None:
        signal.signal(signal.SIGTERM, stop)
        config = self.get_param("config", {})
        try:
            outcome = self.respond(config)
        except (ConfigError, CaseError, TheHiveError, SmtpError, Stopped, Permanent, OAuthError) as failure:
            self.error(redact(str(failure), secret_values(config)), ensure_ascii=True)
        self.planned_operations = outcome.operations
        self.report(outcome.full, ensure_ascii=True)

    def respond(self, config: object) -> Outcome:
        settings = read_settings(config, self.get_param("parameters"))
        deadline = time.monotonic() + settings.time_budget
        report = read_report(self.get_param("data"), self.data_type, settings.custom_field, settings.title_prefix)
        observables, warnings = observables_for(report, settings.thehive)
        decision = decide(report, observables, settings.reporter_tag, settings.allowed_domains)
        if not decision.recipients:
            return nothing_to_send(decision, report.kind, warnings)
        composer = Composer(decision, report, settings, datetime.now(timezone.utc))
        if settings.dry_run:
            check_login(settings.smtp, deadline)
            return preview(decision, composer, warnings)
        delivery = deliver(composer, settings.smtp, settings.sender_address, deadline)
        return delivered(decision, delivery, report.kind, settings.sent_tag, settings.failed_tag, warnings)

    def operations(self, raw: dict) -> list:
        return self.planned_operations


def stop(signum: int, frame: object) -> None:
    """Cortex's SIGTERM at jobTimeout: stop sending, but still report who got the message."""
    raise Stopped()


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
    try:
        PhishFeedback().run()
    except Exception as unexpected:  # the one place that must catch everything
        report_unexpected(unexpected)


if __name__ == "__main__":
    main()
