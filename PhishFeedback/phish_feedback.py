#!/usr/bin/env python3
"""Phish_Feedback: tell the employees who reported a message what the SOC made of it.

Cortex runs this file once per click with the job folder as its only argument (docs/cortex-and-thehive.md §1).
The flow: read the case → decide who to answer → render the messages → deliver → report.
"""

from __future__ import annotations

import os
import signal
import sys

# Standard library only: a report can be written, secrets scrubbed, before anything heavy is loaded.
from feedback.job_folder import missing_input, path, unreadable_input, write_failure, write_output
from feedback.redaction import ScrubbedStream

STOPPED_BEFORE_SENDING = (
    "Cortex stopped the job (its jobTimeout ran out) before any feedback was sent: nothing was sent or tagged."
    " Raise jobTimeout, or lower smtp_timeout and smtp_retries, then run the responder again."
)


def _stopped_before_sending(signum: int, frame: object) -> None:
    """Cortex's SIGTERM before any message went out: say so, and end."""
    write_failure(STOPPED_BEFORE_SENDING)
    sys.exit(1)


# Installed before the heavy imports: a job Cortex stops while it starts still leaves a report.
signal.signal(signal.SIGTERM, _stopped_before_sending)

try:
    from cortexutils.responder import Responder
except ImportError:
    # Where the system Python refuses pip (PEP 668: Debian 12+, Ubuntu 24.04), the requirements live in a
    # virtual environment beside the script, and the job hands itself over to its Python. A Python that
    # has cortexutils never comes here; one started from that environment is not sent there again.
    _venv = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv")
    _venv_python = os.path.join(_venv, "bin", "python3")
    if os.path.exists(_venv_python) and os.path.realpath(sys.prefix) != os.path.realpath(_venv):
        try:
            os.execv(_venv_python, [_venv_python, os.path.abspath(__file__), *sys.argv[1:]])
        except OSError:
            pass
    write_failure(
        f"Phish_Feedback cannot start: cortexutils is not installed for {sys.executable}. Install the"
        " responder's requirements into a virtual environment beside it, from Cortex's responders folder:"
        " python3 -m venv PhishFeedback/.venv && PhishFeedback/.venv/bin/pip install -r PhishFeedback/requirements.txt"
        f" (or, where the system Python allows it: {sys.executable} -m pip install -r PhishFeedback/requirements.txt)."
    )
    sys.exit(1)

import time
from datetime import datetime, timezone

from feedback.case import CaseError, read_report
from feedback.delivery import SmtpError, Stopped, deliver
from feedback.items import ConfigError
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
        except Stopped:
            self.error(STOPPED_BEFORE_SENDING)
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
        signal.signal(signal.SIGTERM, stop_sending)
        delivery = deliver(composer, settings.smtp, settings.sender_address, deadline)
        # From here on the record must reach Cortex: a SIGTERM would only lose it.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
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


def stop_sending(signum: int, frame: object) -> None:
    """Cortex's SIGTERM at jobTimeout: stop sending, but still report who got the message.

    Caught in `deliver` itself, or in `respond` once delivery returned, the signal came after the
    account of what went out was settled: raising there would lose it, so the signal is dropped.
    """
    if frame is not None and (
        frame.f_code is deliver.__code__
        or (frame.f_code is PhishFeedback.respond.__code__ and "delivery" in frame.f_locals)
    ):
        return
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
    if sys.stdout is not None and sys.stderr is not None:
        sys.stdout, sys.stderr = ScrubbedStream(sys.stdout), ScrubbedStream(sys.stderr)
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
    except Stopped:
        write_failure(STOPPED_BEFORE_SENDING)
    except Exception as unexpected:  # the one place that must catch everything
        report_unexpected(unexpected)


if __name__ == "__main__":
    main()
