"""Handing the messages to the way out: at the pace allowed, with bounded retries and an honest account.

The account matters more than the sending: whoever is listed as sent gets tagged as notified
and is never mailed again, so a message counts as sent only once the service accepted it; whoever
is not reached is listed as failed, so that the next run picks them up. This policy is the same for
every way out (SMTP, Microsoft Graph, the Gmail API): a transport (feedback/way_out.py, the contract)
opens channels and answers each message with one `Answer`, and decides nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from feedback import pacing, stopping, way_out
from feedback.composers import Composers
from feedback.messages import Outgoing
from feedback.pacing import Limits
from feedback.shapes import shape
from feedback.stopping import Stopped
from feedback.tags import record_time
from feedback.unreached import DeliveryError, Failure, after_attempts, unrecorded, unworded
from feedback.way_out import Answer, Permanent, Transport, Trouble


@shape
class Delivery:
    sent: tuple[Outgoing, ...]
    failed: tuple[Failure, ...]
    # The messages the service had whole and never answered (way_out.UNSURE): they may have gone, and are not sent
    # again, by this job nor, once recorded, by the next.
    unsure: tuple[Failure, ...]
    accepted_at: dict[str, datetime]  # by recipient: when the service accepted their message (the record says it)


def deliver(
    composer: Composers,
    transport: Transport,
    limits: Limits,
    deadline: float,
    accepted: Callable[[Outgoing, datetime], None],
    unsure: Callable[[Failure], None] = lambda failure: None,
    records_unsure: bool = False,
) -> Delivery:
    """Send each message once, over as few channels as the service allows, until `deadline`; `accepted` is told of
    each message the service accepted, and when, and `unsure` of each it had and never answered, before the next
    one goes (and before a SIGTERM is let in). `records_unsure`: the report records those, so that no run mails them
    again; a job that has neither them nor any accepted to record ends in a DeliveryError. Either may raise
    `Permanent` where it cannot record (feedback/interim_report.py): nothing more goes out, as nothing could be
    recorded."""
    return _Account(composer, transport, limits, deadline, accepted, unsure, records_unsure).settle()


class _Halt(stopping.Ending):
    """Nothing more goes out in this job: the reason goes to everyone not reached yet."""


class _ChannelOver(Exception):
    """The service ended or throttled this channel: the account goes on over a new one, `after` s later if said."""

    def __init__(self, reason: str, after: float | None) -> None:
        super().__init__(reason)
        self.after = after


class _Account:
    """Who got their message, who never will in this job, and why the others are still waiting."""

    def __init__(
        self,
        composer: Composers,
        transport: Transport,
        limits: Limits,
        deadline: float,
        accepted: Callable[[Outgoing, datetime], None],
        unsure: Callable[[Failure], None],
        records_unsure: bool,
    ) -> None:
        self.composer, self.transport, self.limits, self.deadline = composer, transport, limits, deadline
        self.told, self.told_unsure, self.records_unsure = accepted, unsure, records_unsure
        self.pending: list[Outgoing] = list(composer.outgoing)  # in order: the first goes next
        self.later: list[Outgoing] = []  # deferred for now: tried again over the next channel
        self.sent: list[Outgoing] = []
        self.accepted_at: dict[str, datetime] = {}
        self.failed: list[Failure] = []
        self.trouble: dict[str, Failure] = {}  # by recipient: what they would be told if given up now
        self.tries: dict[str, int] = {}  # a reporter's own deferrals
        self.turned_away = False  # whether the service refused or deferred a reporter, not only the connection
        self.unsure: list[Failure] = []  # the messages that went with no answer: they may have been delivered
        self.stalled = 0  # channels in a row that got no message through
        self.last_try: float | None = None
        self.longest = 0.0  # the longest exchange so far, from handing the message over to the service's answer

    def settle(self) -> Delivery:
        try:
            try:
                # Inside the `try`: a SIGTERM that comes as the sending starts is accounted for below.
                stopping.sending()
                self._attempt_all()
            finally:
                # However the sending ended (a bug included), the account is made from here: no SIGTERM may cut it.
                stopping.settled()
        except Stopped as stopped:
            self._give_up(str(stopped))
        except Exception as unexpected:  # a bug, once messages went out: their record must still reach TheHive
            if not self._on_record():
                raise
            self._give_up(
                f"Phish_Feedback stopped sending on an unexpected {type(unexpected).__name__}; those already mailed"
                " are recorded. Run the responder again for the others, and report the error (README, Troubleshooting)."
            )
        if not self._on_record():
            raise DeliveryError(unrecorded(self.failed, self.unsure, self.transport.advice, self.turned_away))
        return Delivery(tuple(self.sent), tuple(self.failed), tuple(self.unsure), self.accepted_at)

    def _on_record(self) -> bool:
        """Whether the report has a message to record: one accepted, or one that may have gone, if those are kept."""
        return bool(self.sent or (self.records_unsure and self.unsure))

    def _attempt_all(self) -> None:
        while self.pending:
            stopping.check()
            accepted = len(self.sent)
            after = None
            try:
                with self.transport.channel() as channel:
                    self._send_over(channel)
            except (Permanent, _Halt) as final:
                self._give_up(str(final))
                return
            except _ChannelOver as over:
                self._waiting(str(over))
                after = over.after
            except Trouble as worded:
                self._waiting(str(worded), worded.whole)
            except OSError as error:  # smtplib's and the HTTP client's exceptions are OSErrors
                self._waiting(unworded(error, self.transport.name))
            self.pending += self.later
            self.later = []
            # A message that went with no answer is no progress: a service that never answers is given up on after
            # smtp_retries such channels, not asked for every reporter's message in turn.
            self.stalled = 0 if len(self.sent) > accepted else self.stalled + 1
            wait = pacing.pause(self.stalled) if after is None else after
            if self.pending and not pacing.may_try_again(
                self.stalled, self.limits.retries, time.monotonic(), wait, self.transport.reach.timeout, self.deadline
            ):
                self._give_up_waiting()
            if self.pending:
                time.sleep(wait)

    def _send_over(self, channel: way_out.Channel) -> None:
        """Send what is pending, in order and at the pace, until the channel ends."""
        while self.pending:
            item = self.pending[0]
            self._wait_for_slot()
            with stopping.held():
                try:
                    self._send_one(channel, item)
                except Permanent as final:  # as final as a halt: a SIGTERM meanwhile leaves it its reason
                    raise _Halt(str(final)) from None

    def _send_one(self, channel: way_out.Channel, item: Outgoing) -> None:
        started = time.monotonic()
        try:
            answer = channel.send(self.composer.message(item), item.recipient)
        finally:
            self.last_try = time.monotonic()
            self.longest = max(self.longest, self.last_try - started)
        if answer.kind == way_out.ACCEPTED:
            self.accepted_at[item.recipient] = at = record_time(item.dated_after)
            self.sent.append(item)
            self.pending.pop(0)
            self.told(item, at)
        elif answer.kind == way_out.STOP:
            raise _Halt(answer.reason)
        elif answer.kind == way_out.RECONNECT:
            raise _ChannelOver(answer.reason, answer.after)
        elif answer.kind == way_out.UNSURE:
            self.pending.pop(0)
            self.unsure.append(failure := Failure(item.recipient, answer.reason, True, False))
            self.told_unsure(failure)
            raise _ChannelOver(f"{self.transport.name} gave no answer to the message before", None)
        else:
            self._not_now(item, answer)

    def _not_now(self, item: Outgoing, answer: Answer) -> None:
        """A refusal that concerns this reporter alone: final, or tried again over the next channel."""
        self.pending.pop(0)
        self.turned_away = True
        failure = Failure(item.recipient, answer.reason, False, answer.kind == way_out.REFUSED)
        if failure.refused:
            self.failed.append(failure)
            return
        self.tries[item.recipient] = tries = self.tries.get(item.recipient, 0) + 1
        if tries > self.limits.retries:
            self.failed.append(after_attempts(failure, tries))
        else:
            self.trouble[item.recipient] = failure
            self.later.append(item)

    def _wait_for_slot(self) -> None:
        now = time.monotonic()
        slot = pacing.next_slot(now, self.last_try, self.limits.max_per_minute)
        if not pacing.fits(slot, self.deadline, self.longest):
            raise _Halt(pacing.out_of_time(len(self.composer.outgoing), self.limits.max_per_minute))
        if slot > now:
            time.sleep(slot - now)

    def _waiting(self, reason: str, whole: bool = False) -> None:
        self.trouble.update((item.recipient, Failure(item.recipient, reason, whole, False)) for item in self.pending)

    def _give_up_waiting(self) -> None:
        """No retry left: the channels in a row that failed, or a reporter's own deferrals, make the count."""
        for item in self.pending:
            attempts = max(self.stalled, self.tries.get(item.recipient, 0), 1)
            self.failed.append(after_attempts(self.trouble[item.recipient], attempts))
        self.pending = []

    def _give_up(self, sentences: str) -> None:
        """Everyone not accounted for yet gets `sentences`, whatever was under way when they came: a final reason
        (a STOP, `Permanent`, the time budget, Cortex's stop) says what to do itself."""
        done = {item.recipient for item in self.sent} | {failure.address for failure in [*self.failed, *self.unsure]}
        left = [item.recipient for item in self.composer.outgoing if item.recipient not in done]
        self.failed += [Failure(recipient, sentences, True, False) for recipient in left]
        self.pending, self.later = [], []
