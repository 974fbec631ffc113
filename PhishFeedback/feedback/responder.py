"""The flow run as a Cortex job: cortexutils' Responder, the job's reports, every failure as a Cortex error.

The job's report is written from the start and rewritten as it goes (docs/cortex-and-thehive.md §1,
§1b: the docker runner kills without a word), so that however the job ends, Cortex has a report
that says truthfully what happened.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from feedback import startup

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

# Before the rest: without cortexutils the job goes to the responder's own environment, or ends with a report.
Responder = startup.responder_base(sys.argv[0])

from feedback.concurrent_jobs import end_turns
from feedback.errors import PhishFeedbackError, not_installed
from feedback.flavours import RESPONDERS, VERDICT_FLAVOUR
from feedback.job_folder import (
    REPORTED,
    echoed_data,
    missing_input,
    path,
    release_room,
    report_so_far,
    reserve_room,
    unreadable_input,
    write_failure,
    write_output,
)
from feedback.outcome import Outcome
from feedback.redaction import remember_proxies, remember_secrets, secret_item, spare


class CortexJob(Responder):
    """Runs the flow once and turns its failures into Cortex errors, in one place."""

    # What TheHive applies after a successful job; cortexutils asks for it through operations().
    planned_operations: list = []

    def run_flow(self, respond: Callable[[CortexJob], Outcome]) -> None:
        remember_secrets(self.get_param("config", {}))
        remember_proxies(os.environ)  # the HTTP client's where Cortex names none
        if startup.unwritable is not None:  # the folder must take a report before anything goes out
            print(
                f"Phish_Feedback cannot write its report in {path('output')} ({startup.unwritable.strerror}),"
                " so it sent nothing. Let Cortex's user write the job folder.",
                file=sys.stderr,
            )
            sys.exit(REPORTED)
        reserve_room()
        try:
            outcome = respond(self)
        except PhishFeedbackError as failure:
            self.error(str(failure))
        self.planned_operations = outcome.operations
        self.report(outcome.full)

    def operations(self, raw: dict) -> list:
        return self.planned_operations

    def report(self, full_report: dict, ensure_ascii: bool = True) -> None:
        """cortexutils' success output, through the one writer that scrubs secrets and keeps JSON strict.

        The record is spared: a secret learned while sending must never blot out a tag the next run reads.
        """
        operations = self.operations(full_report)
        spare(*(operation["tag"] for operation in operations))
        try:
            write_output({"success": True, "full": full_report, "operations": operations})
        except OSError as unwritable:  # a full disk, a quota: the records, which are short, before all the rest
            said = f"{full_report['message']} The rest of the report could not be written ({unwritable.strerror})."
            try:
                write_output({"success": True, "full": {"message": said}, "operations": operations})
            except OSError as still:
                # The report written as each message was accepted may still hold their records; where it is gone too,
                # Cortex shows what the job printed: the record, for the analyst to enter by hand.
                tags = ", ".join(operation["tag"] for operation in operations)
                print(
                    f"Phish_Feedback could not write its report ({still.strerror}), so TheHive may record nothing of"
                    f" this job: {full_report['message']} Tag the case by hand with: {tags}.",
                    file=sys.stderr,
                )

    def error(self, message: str, ensure_ascii: bool = True) -> NoReturn:
        """cortexutils' error output, with the job's input echoed as it does, minus every secret and credential."""
        if message in LEVELS:  # cortexutils' own refusal of a case above Max TLP or Max PAP, which names neither
            level, item = LEVELS[message]
            flavour = self.get_param("config.flavour")
            responder = RESPONDERS.get(flavour if isinstance(flavour, str) else "", RESPONDERS[VERDICT_FLAVOUR])
            data = "alert" if self.get_param("dataType") == "thehive:alert" else "case"
            message = above_level(level, data, getattr(self, item), getattr(self, f"max_{item}"), responder)
        echoed = dict(self._input) if isinstance(self._input, dict) else {}
        config = echoed.get("config")
        remember_secrets(config)
        if isinstance(config, dict):
            echoed["config"] = {k: "REMOVED" if secret_item(k) else v for k, v in config.items()}
        if "data" in echoed:
            echoed["data"] = echoed_data(echoed["data"])
        write_failure(message, input=echoed)
        sys.exit(REPORTED)


# cortexutils' words for a case above the responder's Max TLP or Max PAP, and which level each is of.
LEVELS = {"TLP is higher than allowed.": ("TLP", "tlp"), "PAP is higher than allowed.": ("PAP", "pap")}


def above_level(level: str, data: str, value: object, most: object, responder: str) -> str:
    """The refusal of a case (or alert) above Max TLP or Max PAP, with both values and where each is changed."""
    return (
        f"The {data}'s {level} ({value}) is above this responder's Max {level} ({most}), so nothing was sent. Lower"
        f" the {data}'s {level} if its reporters may be told of it, or have a Cortex admin raise Max {level} for"
        f" {responder} (Organisation, Responders)."
    )


def run_as_cortex_job(respond: Callable[[CortexJob], Outcome]) -> None:
    """The job from its folder to its report; a bug that escapes still gets a report, never a traceback."""
    problem = missing_input()
    if problem:
        write_failure(problem)
        return
    try:
        job = CortexJob()
    except (ValueError, OSError, AttributeError, TypeError, RecursionError) as bad:
        write_failure(unreadable_input(bad))
        return
    try:
        job.run_flow(respond)
    except Exception as unexpected:  # the one place that must catch everything
        _report_unexpected(unexpected)
    finally:
        release_room()
        end_turns()  # the report is written: the next job on the case may have it


def _report_unexpected(error: Exception) -> None:
    """An error report, unless the report on disk already records messages the service accepted: that record must
    reach TheHive (a successful report), else the next run mails those reporters again."""
    import traceback

    where = traceback.extract_tb(error.__traceback__)[-1]
    place = f"{os.path.basename(where.filename)}:{where.lineno}"
    said = f"Phish_Feedback stopped on an unexpected {type(error).__name__} at {place}"
    bug = "This is a bug: the Troubleshooting section of the PhishFeedback README says how to report it."
    package = (error.name or "").partition(".")[0] if isinstance(error, ModuleNotFoundError) else ""
    if package not in ("", "feedback"):  # a requirement this Python lacks, not the responder's code
        said, bug = f"Phish_Feedback stopped at {place}", not_installed(package)
    kept = report_so_far()
    if kept is not None and kept.get("success") is True and isinstance(kept.get("full"), dict):  # messages went
        kept["full"]["message"] = (
            f"{said} once messages had gone out: those the mail service accepted are recorded, and the next run does"
            f" not mail them again. {bug} The report written as they went said: {kept['full'].get('message')}"
        )
        try:
            write_output(kept)
        except OSError:  # the report as it stands still holds the record
            pass
        return
    write_failure(f"{said}. Nothing was tagged; messages may have gone out before the error. {bug}")
