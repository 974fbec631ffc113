"""What the job learns of each reporter before their message is written: its language, and the report it answers.

Both are optional: a mail service that will not say a mailbox's language, or a TheHive that cannot
list a case's merged alerts, makes a warning in the report (once a job), never an error, and the
messages go out as they would without them. Each is asked within a share of the job's time.
"""

from __future__ import annotations

import time

from feedback.addresses import AddressError, parse_address
from feedback.case import Report
from feedback.composers import Reporter
from feedback.message_ids import message_id
from feedback.pacing import LOOKUP_SHARE, cutoff
from feedback.plan import Decision
from feedback.reporter_languages import language_of
from feedback.settings import Settings
from feedback.way_out import Transport

TYPE_CHECKING = False  # without importing typing, nor TheHive's API, which a job without thehive_url never loads
if TYPE_CHECKING:
    from feedback.thehive.observables_api import TheHiveShare

FALLBACK = (
    "No other mailbox was asked in this job: the other reporters' languages came from reporter_languages and language."
)


def reporters_for(
    decision: Decision,
    report: Report,
    data: dict,
    settings: Settings,
    thehive: TheHiveShare | None,
    transport: Transport,
    deadline: float,
) -> tuple[dict[str, Reporter], list[str]]:
    """Each recipient's languages and parent, and the warnings of what could not be learnt.

    `thehive`: where a case's merged alerts are read, within what is left of TheHive's share of the job; None where
    TheHive is not configured or did not answer.
    """
    mailboxes, warnings = _mailbox_languages(decision.recipients, settings, transport, deadline)
    parents, more = {}, []
    if settings.reply_in_thread:
        parents, more = _parents(decision, report, data, thehive, settings.audience.reporter_tag)
    message = settings.message
    reporters = {
        recipient: Reporter(
            language_of(recipient, mailboxes.get(recipient), message.reporter_languages, message.languages)
            if message.auto_language
            else message.languages,
            parents.get(recipient.lower()),
        )
        for recipient in decision.recipients
    }
    return reporters, warnings + more


def _mailbox_languages(
    recipients: tuple[str, ...], settings: Settings, transport: Transport, deadline: float
) -> tuple[dict[str, str], list[str]]:
    """Each mailbox's language as its mail service says (Graph, Gmail), as far as it will and time allows."""
    if not settings.message.auto_language:
        return {}, []
    ends = cutoff(deadline, time.monotonic(), LOOKUP_SHARE)
    lookup = transport.languages(ends)
    if lookup is None:
        return {}, []
    # Here, not at the top: a job with no look-up to make loads no HTTP client (docs/performance.md).
    from feedback.mailbox_settings import Unavailable

    found: dict[str, str] = {}
    try:
        with lookup:
            for recipient in recipients:
                if time.monotonic() >= ends:
                    raise Unavailable(
                        f"The mailbox languages took their share of the job's time ({LOOKUP_SHARE:.0%} of what was"
                        f" left) before {recipient}'s turn."
                    )
                language = lookup.language(recipient)
                if language is not None:
                    found[recipient] = language
    except Unavailable as stopped:
        return found, [f"{stopped} {FALLBACK}"]
    return found, []


def _parents(
    decision: Decision, report: Report, data: dict, thehive: TheHiveShare | None, reporter_tag: str
) -> tuple[dict[str, str], list[str]]:
    """The Message-ID of each reporter's own report (lower-case address → ID), where the job can know it."""
    if report.kind == "alert":  # the alert is the report: TheHive's mail intake keeps its Message-ID as sourceRef
        parent = message_id(data.get("sourceRef"))
        return ({r.lower(): parent for r in decision.recipients} if parent else {}), []
    if thehive is None:
        return {}, []
    from feedback.thehive.merged_alerts import merged_reports
    from feedback.thehive.observables_api import TheHiveError

    try:
        merged = merged_reports(thehive, report.id, reporter_tag)
    except TheHiveError as failure:
        return {}, [f"{failure} The messages do not name the reports they answer (In-Reply-To)."]
    parents: dict[str, str] = {}
    for merged_report in merged:
        for value in merged_report.reporters:
            try:
                parents.setdefault(parse_address(value).lower(), merged_report.message_id)
            except AddressError:
                continue
    return parents, []
