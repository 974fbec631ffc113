"""What the job tells Cortex: the `full` report an analyst reads and the operations TheHive applies."""

from __future__ import annotations

from feedback.composers import Composers
from feedback.delivery import Delivery
from feedback.flavours import ACKNOWLEDGEMENT
from feedback.plan import Decision
from feedback.shapes import shape
from feedback.tags import acknowledgement_operations, record_operations

# Characters of message text the dry-run report shows; the messages past it are only named.
PREVIEW_LIMIT = 2_000_000
# Unreached reporters named in the analyst's message; `full.failed` lists them all.
NAMED_FAILURES = 10


@shape
class Outcome:
    full: dict
    operations: list[dict[str, str]]


def nothing_to_send(decision: Decision, kind: str, warnings: list[str]) -> Outcome:
    count = len(decision.already_notified)
    notified = "acknowledged or given the verdict" if decision.message == ACKNOWLEDGEMENT else "notified"
    message = f"All {count} reporter(s) of this {kind} were already {notified}; nothing was sent."
    return Outcome(_full(message, decision, warnings), [])


def preview(decision: Decision, composer: Composers, warnings: list[str], unchecked: list[str]) -> Outcome:
    """A dry run: the messages as they would go out, and no operation, since nobody was mailed.

    `unchecked`: what the dry run could not check of the way out (Graph's Mail.Send reads nothing).

    The report is bounded: past PREVIEW_LIMIT the other messages, which differ in their recipient (and
    may in their language and In-Reply-To), are not built, and their recipients are listed under `not_shown`.
    """
    shown, size = [], 0
    for item in composer.outgoing:
        entry = _shown(item.recipient, composer.message(item))
        size += sum(len(value or "") for value in entry.values())
        if shown and size > PREVIEW_LIMIT:
            break
        shown.append(entry)
    message = f"Dry run: {len(composer.outgoing)} message(s) would go out; none was sent."
    not_shown = [item.recipient for item in composer.outgoing[len(shown) :]]
    if not_shown:
        message += (
            f" The report shows the first {len(shown)} in full, up to its limit of {PREVIEW_LIMIT:,} characters;"
            f" the {len(not_shown)} others, listed under not_shown, differ only in their recipient, language and"
            " In-Reply-To."
        )
    if unchecked:
        message += f" Not checked: {' '.join(unchecked)}"
    full = _full(message, decision, warnings)
    full["not_checked"] = unchecked
    full["preview"] = shown
    full["not_shown"] = not_shown
    return Outcome(full, [])


def _shown(recipient: str, message) -> dict[str, str]:
    return {
        "to": recipient,
        "subject": message["Subject"],
        "language": message["Content-Language"],
        "in_reply_to": message["In-Reply-To"],
        "text": message.get_body(("plain",)).get_content(),
        "html": message.get_body(("html",)).get_content(),
    }


def delivered(
    decision: Decision, delivery: Delivery, kind: str, sent_tag: str, failed_tag: str, warnings: list[str]
) -> Outcome:
    acknowledging = decision.message == ACKNOWLEDGEMENT
    what = "Acknowledgement" if acknowledging else f"Feedback '{decision.verdict}'"
    message = f"{what} sent to {len(delivery.sent)} reporter(s)."
    if delivery.failed:
        named = "; ".join(f"{f.address} ({f.reason})" for f in delivery.failed[:NAMED_FAILURES])
        others = len(delivery.failed) - NAMED_FAILURES
        message += (
            f" {len(delivery.failed)} could not be reached: {named}"
            + (f"; and {others} more, listed under failed" if others > 0 else "")
            + ". Run the responder again later: it retries only those."
        )
    full = _full(message, decision, warnings)
    full["notified"] = [{"address": item.recipient, "message_id": item.message_id} for item in delivery.sent]
    full["failed"] = [{"address": f.address, "reason": f.reason} for f in delivery.failed]
    notified = [item.recipient for item in delivery.sent]
    if acknowledging:
        return Outcome(full, acknowledgement_operations(kind, notified))
    return Outcome(full, record_operations(kind, notified, [f.address for f in delivery.failed], sent_tag, failed_tag))


def _full(message: str, decision: Decision, warnings: list[str]) -> dict:
    return {
        "message": message,
        "verdict": decision.verdict or None,
        "notified": [],
        "failed": [],
        "already_notified": list(decision.already_notified),
        "refused": [{"value": r.value, "reason": r.reason} for r in decision.refused],
        "from_observables": decision.from_observables,
        "warnings": warnings,
    }
