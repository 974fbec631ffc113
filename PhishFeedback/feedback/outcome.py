"""What the job tells Cortex: the `full` report an analyst reads and the operations TheHive applies."""

from __future__ import annotations

from collections.abc import Sequence

from feedback import way_out
from feedback.composers import Composers
from feedback.decision_report import corrections, report_of
from feedback.delivery import Delivery
from feedback.errors import named
from feedback.flavours import ACKNOWLEDGEMENT
from feedback.logo import Logo
from feedback.plan import Decision
from feedback.shapes import shape
from feedback.tags import UNSURE, acknowledgement_operations, maybe_reached, record_operations
from feedback.unreached import CHECK_REFUSED, Failure
from feedback.way_out import NOT_CHECKED, Check, Checked

# Characters of message text the dry-run report shows; the messages past it are only named.
PREVIEW_LIMIT = 2_000_000

TYPE_CHECKING = False
if TYPE_CHECKING:
    from email.message import EmailMessage


@shape
class Outcome:
    full: dict
    operations: list[dict[str, str]]


def nothing_to_send(decision: Decision, kind: str, warnings: list[str], check: Check | None = None) -> Outcome:
    """Everyone was told already; a dry run (`check`) still says what it checked of the way out, and what not."""
    count, maybe = len(decision.already_notified), len(decision.maybe_notified)
    notified = "acknowledged or given the verdict" if decision.message == ACKNOWLEDGEMENT else "notified"
    message = f"All {count} reporter(s) of this {kind} were already {notified}; nothing was sent."
    if maybe:
        already = f"{count} already notified, " if count else ""
        message = (
            f"Nothing was sent to the {count + maybe} reporter(s) of this {kind}: {already}{maybe} whom an earlier"
            f" run's message may have reached ({UNSURE})."
        )
    if check is None:
        return Outcome(report_of(message, decision, warnings), [])
    return Outcome(_checked(message, decision, warnings, check), [])


def preview(decision: Decision, composer: Composers, kind: str, warnings: list[str], check: Check) -> Outcome:
    """A dry run: the messages as they would go out, and no operation, since nobody was mailed.

    `check`: what the server said of each reporter's address, asked without sending (SMTP), and the
    sentences of what the dry run could not check (Graph's Mail.Send reads nothing).

    The report is bounded: past PREVIEW_LIMIT the other messages, which differ in their recipient (and
    may in their language and In-Reply-To), are not built, and their recipients are listed under `not_shown`.
    """
    if not composer.outgoing:
        return nothing_to_send(decision, kind, warnings, check)
    shown, size = [], 0
    for item in composer.outgoing:
        built = composer.message(item)
        entry = {
            **_shown(item.recipient, built, decision.corrections.get(item.recipient, "")),
            **_look(built, composer.logo),
        }
        size += sum(len(value or "") for value in entry.values())
        if shown and size > PREVIEW_LIMIT:
            break
        shown.append(entry)
    corrections = _of_them(len(decision.corrections))
    message = f"Dry run: {len(composer.outgoing)} message(s) would go out{corrections}; none was sent."
    not_shown = [item.recipient for item in composer.outgoing[len(shown) :]]
    if not_shown:
        message += (
            f" The report shows the first {len(shown)} in full, up to its limit of {PREVIEW_LIMIT:,} characters;"
            f" the {len(not_shown)} others, listed under not_shown, differ only in their recipient, language and"
            " In-Reply-To."
        )
    full = _checked(message + _foreseen(check.checked), decision, warnings, check)
    full["preview"] = shown
    full["not_shown"] = not_shown
    return Outcome(full, [])


def _checked(message: str, decision: Decision, warnings: list[str], check: Check) -> dict:
    if check.unchecked:
        said = " ".join(check.unchecked)
        message += f" Not checked: {said[:1].lower()}{said[1:]}"  # the sentences stand alone in not_checked
    full = report_of(message, decision, warnings)
    full["checked"] = [{"address": c.address, "status": c.status, "reason": c.reason} for c in check.checked]
    full["not_checked"] = list(check.unchecked)
    return full


def _foreseen(checked: tuple[Checked, ...]) -> str:
    """What the server said of the reporters' addresses, the refused ones named as a real run names them."""
    if not checked:
        return ""
    taken = sum(c.status == way_out.ACCEPTED for c in checked)
    said = f" The server would accept {taken} of the {len(checked)} reporter(s), asked without sending"
    for status, what in (
        (way_out.REFUSED, "refused by the server"),  # not the values the case's own checks left out (`refused`)
        (way_out.DEFERRED, "deferred for now (a real run tries them again)"),
        (NOT_CHECKED, "not checked"),
    ):
        those = [c for c in checked if c.status == status]
        if those:
            said += f"; {what}: {_named(those, 'checked')}"
    return said + "."


def _named(reporters: Sequence[Checked | Failure], listed_under: str) -> str:
    """The first reporters with their reasons, said once for all who share one; the others are counted, and listed
    in `full`."""
    return named(reporters, lambda r: r.address, f", listed under {listed_under}", lambda r: r.reason)


def _shown(recipient: str, message: EmailMessage, earlier: str) -> dict[str, str]:
    """One message as it would go out; `corrects`: the verdict a correction corrects, else ''."""
    return {
        "to": recipient,
        "corrects": earlier,
        "subject": message["Subject"],
        "language": message["Content-Language"],
        "in_reply_to": message["In-Reply-To"],
        "text": message.get_body(("plain",)).get_content(),
        "html": message.get_body(("html",)).get_content(),
    }


def _look(message: EmailMessage, logo: Logo | None) -> dict[str, str]:
    """The reply address and the logo, when set; of the logo, that it is attached and how, never its bytes."""
    look = {}
    if message["Reply-To"] is not None:
        look["reply_to"] = str(message["Reply-To"])
    if logo is not None:
        look["logo"] = (
            f"attached inline as logo.{logo.subtype} (image/{logo.subtype}, {len(logo.data):,} bytes),"
            f" shown at the top of the HTML part at {logo.width}×{logo.height} pixels"
        )
    return look


def delivered(
    decision: Decision, delivery: Delivery, kind: str, sent_tag: str, failed_tag: str, warnings: list[str]
) -> Outcome:
    acknowledging = decision.message == ACKNOWLEDGEMENT
    what = "Acknowledgement" if acknowledging else f"Feedback '{decision.verdict}'"
    corrected = [item.recipient for item in delivery.sent if item.recipient in decision.corrections]
    # With nobody accepted, only the verdict's feedback is here: it records whose message may have gone.
    message = (
        f"{what} sent to {len(delivery.sent)} reporter(s){_of_them(len(corrected))}."
        if delivery.sent
        else "No feedback is known to have been sent."
    )
    if delivery.failed:
        message += f" {len(delivery.failed)} could not be reached: {_named(delivery.failed, 'failed')}."
        message += (
            f" {CHECK_REFUSED}: it retries only those."
            if any(failure.refused for failure in delivery.failed)
            else " Run the responder again later: it retries only those."
        )
    if delivery.unsure:
        message += f" {len(delivery.unsure)} may have been reached: {_named(delivery.unsure, 'unsure')}."
        message += f" {maybe_reached(None if acknowledging else decision.verdict)}"
    full = report_of(message, decision, warnings)
    full["notified"] = [{"address": item.recipient, "message_id": item.message_id} for item in delivery.sent]
    full["failed"] = [{"address": f.address, "reason": f.reason} for f in delivery.failed]
    full["unsure"] = [{"address": f.address, "reason": f.reason} for f in delivery.unsure]
    full["corrections"] = corrections(decision, corrected)
    notified = {item.recipient: delivery.accepted_at[item.recipient] for item in delivery.sent}
    if acknowledging:
        return Outcome(full, acknowledgement_operations(kind, notified))
    unreached, unsure = [f.address for f in delivery.failed], [f.address for f in delivery.unsure]
    return Outcome(full, record_operations(kind, decision.verdict, notified, unreached, unsure, sent_tag, failed_tag))


def _of_them(corrections: int) -> str:
    return f", {corrections} of them a correction of the verdict they were told before" if corrections else ""
