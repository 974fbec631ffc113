"""What the job tells Cortex: the `full` report an analyst reads and the operations TheHive applies."""

from __future__ import annotations

from feedback.delivery import Delivery
from feedback.messages import Composer
from feedback.plan import Decision
from feedback.shapes import shape
from feedback.tags import record_operations


@shape
class Outcome:
    full: dict
    operations: list[dict[str, str]]


def nothing_to_send(decision: Decision, kind: str, warnings: list[str]) -> Outcome:
    count = len(decision.already_notified)
    message = f"All {count} reporter(s) of this {kind} were already notified; nothing was sent."
    return Outcome(_full(message, decision, warnings), [])


def preview(decision: Decision, composer: Composer, warnings: list[str]) -> Outcome:
    """A dry run: every message as it would go out, and no operation, since nobody was mailed."""
    full = _full(f"Dry run: {len(composer.outgoing)} message(s) rendered, none sent.", decision, warnings)
    full["preview"] = [_shown(item.recipient, composer.message(item)) for item in composer.outgoing]
    return Outcome(full, [])


def _shown(recipient: str, message) -> dict[str, str]:
    return {
        "to": recipient,
        "subject": message["Subject"],
        "text": message.get_body(("plain",)).get_content(),
        "html": message.get_body(("html",)).get_content(),
    }


def delivered(
    decision: Decision, delivery: Delivery, kind: str, sent_tag: str, failed_tag: str, warnings: list[str]
) -> Outcome:
    message = f"Feedback '{decision.verdict}' sent to {len(delivery.sent)} reporter(s)."
    if delivery.failed:
        message += (
            f" {len(delivery.failed)} could not be reached: "
            + "; ".join(f"{f.address} ({f.reason})" for f in delivery.failed)
            + ". Run the responder again later: it retries only those."
        )
    full = _full(message, decision, warnings)
    full["notified"] = [{"address": item.recipient, "message_id": item.message_id} for item in delivery.sent]
    full["failed"] = [{"address": f.address, "reason": f.reason} for f in delivery.failed]
    notified = [item.recipient for item in delivery.sent]
    return Outcome(full, record_operations(kind, notified, [f.address for f in delivery.failed], sent_tag, failed_tag))


def _full(message: str, decision: Decision, warnings: list[str]) -> dict:
    return {
        "message": message,
        "verdict": decision.verdict,
        "notified": [],
        "failed": [],
        "already_notified": list(decision.already_notified),
        "refused": [{"value": r.value, "reason": r.reason} for r in decision.refused],
        "from_observables": decision.from_observables,
        "warnings": warnings,
    }
