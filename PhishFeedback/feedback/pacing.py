"""When the next message may go: the pace an admin allows, the back-off after trouble, the time budget.

Mail services count what one mailbox submits per minute (Exchange Online: 30, docs/cortex-and-thehive.md §8)
and refuse the excess, so the responder spaces its messages itself rather than find the limit by
hitting it. Plain arithmetic on monotonic seconds, so that every decision can be checked alone; and, when the
time ran out, why, in the analyst's words.
"""

from __future__ import annotations

from feedback.shapes import shape

# Share of Cortex's jobTimeout the responder allows itself, so that it reports before Cortex kills it.
TIME_BUDGET_SHARE = 0.8
# TheHive may use at most this share of the job's time left. What it is asked for (observables, merged alerts)
# only adds to what the tags may already say, while delivery needs the rest for its own retries (smtp_retries
# attempts of up to smtp_timeout each, with pauses): a TheHive slower than that is treated as one that is down.
THEHIVE_SHARE = 1 / 3
# The mailbox languages (language: auto) may use at most this share of the job's time left, for the same reason.
LOOKUP_SHARE = 1 / 4


@shape
class Limits:
    """What the delivery policy allows every way out: retries, the pace (the wait for an answer is its `Reach`'s)."""

    retries: int
    max_per_minute: float


# The first pause before a new session after trouble, in seconds; each further attempt without progress doubles it.
FIRST_PAUSE = 1.0


def cutoff(deadline: float, now: float, share: float) -> float:
    """When a look-up that only adds to what the job knows must end: `share` of the time left before `deadline`."""
    return now + max(0.0, deadline - now) * share


def spacing(per_minute: float) -> float:
    """Seconds between two messages so that no minute holds more than `per_minute`; 0 means no limit."""
    return 60.0 / per_minute if per_minute > 0 else 0.0


def next_slot(now: float, last_try: float | None, per_minute: float) -> float:
    """The earliest moment the next message may start.

    The spacing runs from the end of the previous transaction, when the server has already counted
    it: the next one then reaches the server at least `spacing` later, whatever each one took.
    """
    if last_try is None:
        return now
    return max(now, last_try + spacing(per_minute))


def fits(slot: float, deadline: float, longest: float) -> bool:
    """A message may start only if the server can answer it within the job's time budget.

    Cut at the deadline while the server decides, a message may still be delivered, yet be reported as
    not reached and mailed again by the next run. So it needs twice the longest transaction so far
    (`longest`, 0 before the first) left.
    """
    return slot + 2 * longest <= deadline


def pause(stalled: int) -> float:
    """1, 2, 4… s after the 1st, 2nd, 3rd session in a row that got nothing through; 1 s after one that did."""
    return FIRST_PAUSE * 2 ** max(stalled - 1, 0)


def may_try_again(stalled: int, retries: int, now: float, wait: float, timeout: float, deadline: float) -> bool:
    """Retries count sessions in a row without a message accepted: progress starts the count again."""
    return stalled <= retries and now + wait + timeout <= deadline


def duration(count: int, per_minute: float) -> float:
    """Seconds that `count` messages need at the pace, the time on the wire aside."""
    return max(count - 1, 0) * spacing(per_minute)


def out_of_time(count: int, per_minute: float) -> str:
    """Why a reporter's turn never came in a job of `count` messages: the time budget, or the pace that filled it."""
    budget = f"time budget ({TIME_BUDGET_SHARE:.0%} of Cortex's jobTimeout)"
    advice = "Run the responder again: it mails only those not reached; or raise jobTimeout."
    if not per_minute:
        return (
            f"The job's {budget} ran out, or had too little left for the server to answer one more message,"
            f" before this reporter's turn. {advice}"
        )
    return (
        f"At smtp_max_per_minute {per_minute:g}, this job's {count} message(s) need"
        f" {duration(count, per_minute) / 60:.1f} min; its {budget} ended before this reporter's turn. {advice}"
    )
