"""What the job's report says of the decision, whatever was sent: who was told before, who may have been, which
values were refused and why, and the warnings the case's records call for."""

from __future__ import annotations

from collections.abc import Iterable

from feedback.errors import named
from feedback.plan import Decision
from feedback.redaction import shortened
from feedback.shown_text import escaped
from feedback.tags import UNSURE

# The values of the case a list of the report holds (refused, or given by its observables), and the characters it
# shows of each: enough to find the tag or observable to correct, where junk by the thousand (an alert feeder that
# tagged every address of a spam run) or an observable holding a whole mail would make a report of megabytes.
LISTED = 1_000
LONGEST_SHOWN = 1_000


def report_of(message: str, decision: Decision, warnings: list[str]) -> dict:
    """The report's every list, those of the sending empty: a job that sends fills them."""
    if decision.refused:  # else the count of those mailed reads as every reporter answered
        values = named(decision.refused, lambda r: shortened(r.value, 80, escaped), "", lambda r: r.reason)
        message += f" {len(decision.refused)} reporter value(s) not mailed: {values} (listed under refused)."
    if decision.uncorrected:  # said where the analyst reads first, whatever else the job did
        message += (
            f" {len(decision.uncorrected)} reporter(s) told another verdict get no correction (send_corrections is"
            " off)."
        )
    every_warning = (
        warnings
        + _unlisted(decision)
        + _untold(decision)
        + _uncorrected(decision)
        + _passed_over(decision)
        + _maybe(decision)
    )
    if every_warning:  # a TheHive not read, records to check: the message alone would read as all went well
        message += f" See the {len(every_warning)} warning(s)."
    return {
        "message": message,
        "verdict": decision.verdict or None,
        "notified": [],
        "failed": [],
        "unsure": [],
        "already_notified": list(decision.already_notified),
        "maybe_notified": list(decision.maybe_notified),
        "refused": [{"value": _shown(r.value), "reason": r.reason} for r in decision.refused[:LISTED]],
        "from_observables": _observed(decision.from_observables),
        "corrections": corrections(decision, decision.corrections),
        "warnings": every_warning,
    }


def _observed(found: dict) -> dict:
    """What the case's observables gave, as the analyst reads it: the first LISTED reporters."""
    return {
        name: [_shown(v) for v in value[:LISTED]] if isinstance(value, list) else _shown(value)
        for name, value in found.items()
    }


def _shown(value: str) -> str:
    """A value of the case cut, and a control in it (a bidirectional override in the attacker's sender, which would
    show another address) written as its escape, not obeyed."""
    return shortened(value, LONGEST_SHOWN, escaped)


def corrections(decision: Decision, addresses: Iterable[str]) -> list[dict[str, str]]:
    """The reporters given a correction (or who would be), with the verdict they had been told."""
    return [{"address": address, "earlier": decision.corrections[address]} for address in addresses]


def _passed_over(decision: Decision) -> list[str]:
    """Records a hand or a clock got wrong: the analyst may remove them, and the reporters they name may be owed a
    correction."""
    if not decision.passed_over:
        return []
    named = "; ".join(f"{shortened(address, 80)} ({why})" for address, why in decision.passed_over[:5])
    more = f"; and {len(decision.passed_over) - 5} more" if decision.passed_over[5:] else ""
    return [
        f"{len(decision.passed_over)} feedback_verdict record(s) are not what the responder writes: {named}{more}. A"
        " record dated more than an hour after this job's time (a clock that ran ahead) is read as older than any"
        " other; one naming no verdict, or whose time is not written as the responder writes it"
        " (2026-12-01T10:00:00Z), is passed over; of two verdicts in one second, the one TheHive lists later is read"
        " as the last, though TheHive keeps no order of tags."
        " Check those tags, and remove the wrong ones."
    ]


def _maybe(decision: Decision) -> list[str]:
    """Reporters an earlier run may have reached: the analyst alone can tell, from what the mail service sent."""
    if not decision.maybe_notified:
        return []
    return [
        f"An earlier run's message to {named(decision.maybe_notified, str, ', listed under maybe_notified')} went"
        f" without the mail service's answer, so it may have gone: the case records them as {UNSURE}, and they are"
        f" not mailed again. If the mail service sent nothing to one of them, remove their {UNSURE} tag and run the"
        " responder again."
    ]


def _unlisted(decision: Decision) -> list[str]:
    """The analyst learns how many values there were, though the report lists only the first."""
    observed = len(decision.from_observables.get("reporters", ()))  # once each
    counts = (
        (len(decision.refused), "reporter values were refused", "refused"),
        (observed, "reporter values came from observables", "from_observables.reporters"),
    )
    return [
        f"{count} {what}; full.{listed} lists the first {LISTED}. Correct the tags or observables that made so many,"
        " or the alert feeder that writes them."
        for count, what, listed in counts
        if count > LISTED
    ]


def _uncorrected(decision: Decision) -> list[str]:
    """Reporters told another verdict, whom send_corrections off leaves so: "already notified" alone would read as
    told this verdict, where a reporter told a phish was harmless still believes it."""
    if not decision.uncorrected:
        return []
    told = named(list(decision.uncorrected.items()), lambda item: f"{item[0]} (told '{item[1]}')")
    return [
        f"{len(decision.uncorrected)} reporter(s) were told another verdict than '{decision.verdict}' and get no"
        f" correction, as send_corrections is off: {told}. Tell them yourself, or have the Cortex admin turn"
        " send_corrections on and run the responder again."
    ]


def _untold(decision: Decision) -> list[str]:
    """Records older than the verdict's own record say who was notified, not what they were told: no correction."""
    if not decision.untold:
        return []
    return [
        f"{len(decision.untold)} reporter(s) were notified by an earlier version of Phish_Feedback, which did not"
        " record the verdict it told them: they get no correction. If the verdict changed since, tell them yourself."
    ]
