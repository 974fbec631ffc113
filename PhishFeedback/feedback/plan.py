"""Deciding who gets feedback this time, from the report, its observables and the record in its tags."""

from __future__ import annotations

from datetime import datetime

from feedback.addresses import AddressError, domain_allowed, mailbox, parse_address
from feedback.case import CaseError, Observable, Report
from feedback.errors import named
from feedback.flavours import ACKNOWLEDGEMENT, VERDICT_FLAVOUR
from feedback.items import IN_BOTH
from feedback.redaction import shortened, spare
from feedback.shapes import shape
from feedback.shown_text import one_line
from feedback.tags import ACKNOWLEDGED, NOTIFIED, UNSURE, lost_by_thehive40, notified_addresses, tag_values
from feedback.told_records import last_told

REPORTER_NAMESPACE = "user_email"
SUBJECT_TYPES = ("mail_subject", "mail-subject")
OUTSIDE_DOMAINS = "its domain is not in allowed_recipient_domains"
# ...where the item is empty, and allows the domain of from alone: which one, since the admin sees nothing in the item.
OUTSIDE_SENDERS = OUTSIDE_DOMAINS + ", which, left empty, allows {domain} alone (the domain of from)"
# Where the reporting mailbox sends as itself, its own message would come back as the next report, and so on.
OWN_MAILBOX = (
    "it reaches the responder's own mailbox in {item}{tagged}, which would get its own message back as a report"
)


@shape
class Audience:
    """What the decision needs of the settings: whom the job may mail, and which message it answers with."""

    reporter_tag: str  # the tag of the mail observables that name a reporter
    allowed_domains: tuple[str, ...]  # the domains a reporter may be mailed in; all when empty (the admin wrote `*`)
    sender_domain_only: bool  # the item was left empty: allowed_domains is the domain of from
    flavour: str  # the manifest Cortex ran: the verdict, or the acknowledgement (feedback/flavours.py)
    send_corrections: bool  # whether a reporter told another verdict earlier gets a correction
    # The responder's own mailboxes (`addresses.mailbox`), each with its item and the address it holds: no reporter.
    own: dict[str, tuple[str, str]]


@shape
class Refusal:
    value: str
    reason: str


@shape
class Decision:
    verdict: str
    message: str  # which message the recipients get: the verdict's, or the acknowledgement
    recipients: tuple[str, ...]
    already_notified: tuple[str, ...]
    # Reporters an earlier run's message may have reached (the service had it and never answered): not mailed again.
    maybe_notified: tuple[str, ...]
    refused: tuple[Refusal, ...]
    reported_subject: str
    reported_sender: str
    from_observables: dict[str, object]
    # Reporters (among `recipients`) last told another verdict, and which: they get a correction.
    corrections: dict[str, str]
    # Recipients whose last verdict record another host's clock dated after this job's time (a correction, or a message
    # sent again once an analyst removed feedback_sent): each one's new record is dated after it (`tags.record_time`),
    # so that it stays their last.
    dated_after: dict[str, datetime]
    # Reporters notified by a version that recorded no verdict: whether they need a correction is unknown.
    untold: tuple[str, ...]
    # Reporters last told another verdict, left uncorrected as send_corrections is off, and what they were told.
    uncorrected: dict[str, str]
    # Verdict records read otherwise than they stand, or not at all (`last_told`): each address, and why.
    passed_over: tuple[tuple[str, str], ...]


def decide(report: Report, observables: list[Observable], audience: Audience, now: datetime) -> Decision:
    """Every distinct valid reporter once; those the case records as notified are left out.

    The verdict goes to whoever has not had it, acknowledged or not; the acknowledgement only to
    whoever has had neither: thanks for a report whose verdict already came would read as a mix-up.
    A reporter last told another verdict than the case's now gets a correction (docs/corrections.md).
    """
    reporter_tag = audience.reporter_tag
    tagged = _tagged(observables, reporter_tag)
    candidates = reporter_values(report.tags, observables, reporter_tag)
    if not candidates:
        raise CaseError(
            f"No reporter to answer: tag the {report.kind} '{REPORTER_NAMESPACE}:<address>' with the"
            " address of the employee who reported the message, then run the responder again."
        )
    verdict = audience.flavour == VERDICT_FLAVOUR
    # The verdict ignores acknowledgements; an acknowledgement is not sent after the verdict (even one that may have
    # gone), nor twice.
    records = (NOTIFIED,) if verdict else (NOTIFIED, ACKNOWLEDGED, UNSURE)
    notified = notified_addresses(report.tags, *records)
    told, ahead, passed_over = last_told(report.tags, now) if verdict else (None, {}, ())
    correcting = audience.send_corrections
    if not correcting:  # a record read otherwise changes no correction
        passed_over = ()
    named_by_passed_over = {address.lower() for address, _ in passed_over}
    seen: set[str] = set()
    maybe_before = notified_addresses(report.tags, UNSURE) if verdict else set()
    recipients, already, maybe, refused = [], [], [], []
    corrections, untold, uncorrected = {}, [], {}
    for value in candidates:
        try:
            address = parse_address(value)
        except AddressError as bad:
            refused.append(Refusal(value, _lost(report.kind) if lost_by_thehive40(value) else str(bad)))
            continue
        key = address.lower()
        if (own := audience.own.get(mailbox(key))) is not None:
            item, held = own
            tagged = " (a '+' tag reaches the same mailbox)" if held != key else ""
            refused.append(Refusal(value, OWN_MAILBOX.format(item=item, tagged=tagged)))
            continue
        if not domain_allowed(address, audience.allowed_domains):
            refused.append(Refusal(value, _outside(audience)))
            continue
        if key in seen:
            continue
        seen.add(key)
        if key in maybe_before:  # a first message or a correction that may have gone
            maybe.append(address)
        elif key not in notified:
            recipients.append(address)
        elif told is None or told.get(key, report.verdict) == report.verdict:
            already.append(address)
            if correcting and told is not None and key not in told and key not in named_by_passed_over:
                untold.append(address)
        elif not correcting:
            already.append(address)
            uncorrected[address] = told[key]
        else:
            recipients.append(address)
            corrections[address] = told[key]
    if not (recipients or already or maybe):
        raise CaseError(_nobody(refused, report.kind, _outside(audience)))
    dated_after = {address: ahead[key] for address in recipients if (key := address.lower()) in ahead}
    # Only the reporters accepted: the record names them, and a secret learned later must not blot them out.
    spare(*recipients, *already, *maybe)
    # A blank one says nothing: the title's subject stands.
    subject = next((line for o in observables if o.data_type in SUBJECT_TYPES if (line := one_line(o.data))), None)
    sender = next((o.data for o in observables if o.data_type == "mail" and not _has_tag(o, reporter_tag)), None)
    observed = (("reporters", [*dict.fromkeys(tagged)]), ("reported_subject", subject), ("reported_sender", sender))
    return Decision(
        verdict=report.verdict,
        message=report.verdict if verdict else ACKNOWLEDGEMENT,
        recipients=tuple(recipients),
        already_notified=tuple(already),
        maybe_notified=tuple(maybe),
        refused=tuple(refused),
        reported_subject=subject if subject is not None else report.reported_subject,
        reported_sender=one_line(sender or ""),
        from_observables={k: v for k, v in observed if v},
        corrections=corrections,
        dated_after=dated_after,
        untold=tuple(untold),
        passed_over=passed_over,
        uncorrected=uncorrected,
    )


def reporter_values(tags: tuple[str, ...], observables: list[Observable], reporter_tag: str) -> list[str]:
    """Who reported, as the case or alert names them: its `user_email:` tags, then its mail observables tagged
    `reporter_tag`; values as they stand, not yet checked."""
    return tag_values(tags, REPORTER_NAMESPACE) + _tagged(observables, reporter_tag)


def _tagged(observables: list[Observable], reporter_tag: str) -> list[str]:
    return [o.data for o in observables if o.data_type == "mail" and _has_tag(o, reporter_tag)]


def _outside(audience: Audience) -> str:
    return (
        OUTSIDE_SENDERS.format(domain=audience.allowed_domains[0]) if audience.sender_domain_only else OUTSIDE_DOMAINS
    )


def _nobody(refused: list[Refusal], kind: str, outside: str) -> str:
    reasons = named(refused, lambda r: f"'{shortened(r.value, 80)}': {r.reason}")
    advice = f"Correct the {kind}'s reporter tags."
    if any(r.reason == outside for r in refused):
        advice = (
            "Where these reporters are right, ask the Cortex admin to add their domain to allowed_recipient_domains"
            f" ({IN_BOTH}); where they are not, correct the {kind}'s reporter tags."
        )
    return f"No reporter address can be mailed ({reasons}). {advice}"


def _lost(kind: str) -> str:
    """Why a tag TheHive 4.0 cut is refused, and the form 4.0 keeps whole (docs/cortex-and-thehive.md §4)."""
    return (
        "TheHive 4.0 dropped the part of the address before '=' (it starts with '_');"
        f' tag the {kind} again with the address in quotes: {REPORTER_NAMESPACE}:"<address>"'
    )


def _has_tag(observable: Observable, tag: str) -> bool:
    """As written (TheHive 4.1 and 5 keep a tag so), or, for a tag with a namespace (`phishing:reporter`), in every
    form TheHive stores it: TheHive 4.0 shows `phishing="reporter"`."""
    wanted = tag.strip().lower()
    if any(isinstance(t, str) and t.strip().lower() == wanted for t in observable.tags):
        return True
    namespace, separator, value = wanted.partition(":")
    return bool(separator) and value in (v.lower() for v in tag_values(observable.tags, namespace))
