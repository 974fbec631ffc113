#!/usr/bin/env python3
"""Phish_Feedback: tell the employees who reported a message what the SOC made of it.

Cortex runs this file once per click with the job folder as its only argument (docs/cortex-and-thehive.md §1).
It holds the flow; `feedback.responder` runs it as a Cortex job and turns every failure into a Cortex error.
Short on purpose: Python compiles the script it is started with at every run, never from a cache.
"""

from __future__ import annotations

import gc
import os
import sys

# Loading the modules makes objects that all live until the job ends, yet the cyclic collector
# would walk them again and again: that would be a tenth of a job's instructions (./dev bench).
# It is switched back on in main(), once everything is loaded.
gc.disable()
# A host's PYTHONSAFEPATH leaves this script's folder, where its package is, off the import path.
if getattr(sys.flags, "safe_path", False):
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from feedback import startup

# First of all: a job Cortex stops while it starts still leaves a report, and no output shows a secret.
startup.prepare()

import time

from feedback.case import read_report
from feedback.composers import Composers
from feedback.concurrent_jobs import take_turn
from feedback.delivery import deliver
from feedback.interim_report import InterimReport
from feedback.outcome import Outcome, delivered, nothing_to_send, preview
from feedback.plan import decide
from feedback.reporter_facts import reporters_for
from feedback.responder import CortexJob, run_as_cortex_job
from feedback.settings import read_settings
from feedback.stopping import end_process
from feedback.tags import record_time
from feedback.thehive.observables import observables_for
from feedback.thehive.running_jobs import listed_jobs
from feedback.transports import transport_for


def respond(job: CortexJob) -> Outcome:
    """Read the case → decide who to answer, and with what → learn each one's language and report → render the
    messages → deliver → report.

    The flavour (the manifest Cortex ran: the verdict or the acknowledgement) is one of the decision's inputs.
    """
    settings = read_settings(job.get_param("config", {}), job.get_param("parameters"))
    deadline = time.monotonic() + settings.time_budget
    data = job.get_param("data")
    report = read_report(data, job.data_type, settings.custom_field, settings.title_prefix, settings.audience.flavour)
    others = listed_jobs(settings.thehive, settings.time_budget)  # where the host shows none: TheHive's list
    turn = take_turn(report, job.get_param("parameters"), deadline, settings.dry_run, others)  # after any other job
    report = turn.report
    observed = observables_for(report, settings.thehive, deadline)
    decision = decide(report, observed.observables, settings.audience, record_time())
    if not (decision.recipients or settings.dry_run):
        return turn.recorded(nothing_to_send(decision, report.kind, turn.notes + observed.warnings))
    transport = transport_for(settings, deadline)
    reporters, learnt = reporters_for(decision, report, data, settings, observed.thehive, transport, deadline)
    warnings = turn.notes + observed.warnings + learnt
    # Every template is checked here, before the messages go out: a dry run reports a template's error first.
    composer = Composers(decision, report, settings.message, reporters)
    warnings += composer.notes
    if settings.dry_run:  # the way out says what it can without sending, even when everyone was already notified
        check = transport.check(list(decision.recipients), settings.limits)
        return preview(decision, composer, report.kind, warnings, check)
    interim = InterimReport(
        decision, report.kind, settings.sent_tag, settings.failed_tag, transport.sent_record, turn.record, turn.taken
    )
    delivery = deliver(
        composer, transport, settings.limits, deadline, interim.accepted, interim.unsure, interim.records_unsure
    )
    return turn.recorded(delivered(decision, delivery, report.kind, settings.sent_tag, settings.failed_tag, warnings))


def main() -> None:
    # What exists now lives as long as the job: the collector, back on, only looks at what comes after.
    gc.freeze()
    gc.enable()
    try:
        run_as_cortex_job(respond)
    except SystemExit as stop:  # a job that ended as an error, once its report is written
        end_process(stop.code)
    end_process(0)


if __name__ == "__main__":
    main()
