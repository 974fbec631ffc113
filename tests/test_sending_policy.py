"""The delivery policy's decisions on their own: what a reply means, when the next message may go."""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback import pacing, stopping
from feedback.delivery import deliver
from feedback.reach import Reach
from feedback.smtp import replies
from feedback.smtp.replies import MESSAGE, RECIPIENT, SENDER, meaning
from feedback.unreached import DeliveryError
from feedback.way_out import ACCEPTED, DEFERRED, Answer, Permanent, stop, unsure
from testkit.cases import thehive4_case


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message"),
        (550, "5.4.5 Daily user sending quota exceeded."),
        (550, "5.4.5 Daily user sending limit exceeded."),
        (550, "5.1.90 Your message can't be sent because you've reached your daily limit for message recipients"),
        (421, "4.4.2 Message submission rate for this client has exceeded the configured limit"),
        (450, "4.7.1 RecipientRateLimitExceeded"),
        (452, "4.3.1 Sending quota exhausted, try tomorrow"),
    ],
)
def test_quota_and_limit_wording_stops_the_job_at_any_step(code, text):
    assert {meaning(step, code, text) for step in (SENDER, RECIPIENT, MESSAGE)} == {replies.QUOTA}


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (432, "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded"),
        (452, "4.2.2 The email account that you tried to reach is over quota"),
        (552, "5.3.4 Message size exceeds fixed limit"),
        (250, "2.0.0 quota exceeded, but accepted"),
        (451, "4.7.500 Server busy. Please try again later"),
    ],
)
def test_limits_that_are_not_the_senders_quota_are_not_read_as_one(code, text):
    assert not replies.is_quota(code, text)


@pytest.mark.parametrize(
    ("code", "text", "means"),
    [
        (552, "Mailbox quota exceeded", replies.REFUSED),
        (452, "Mailbox over quota, try again later", replies.DEFERRED),
        (552, "5.2.0 Requested mail action aborted: exceeded storage allocation (quota)", replies.REFUSED),
        (550, "Inbox quota exceeded for this user", replies.REFUSED),
    ],
)
def test_a_full_mailbox_in_words_concerns_only_the_reporter_it_is_for(code, text, means):
    assert meaning(RECIPIENT, code, text) == meaning(MESSAGE, code, text) == means
    # To MAIL FROM, a mailbox's quota is the sender's own.
    assert meaning(SENDER, code, text) == replies.QUOTA


def test_421_ends_the_session_wherever_it_comes():
    text = "4.3.2 Service not available, closing transmission channel"
    assert {meaning(step, 421, text) for step in (SENDER, RECIPIENT, MESSAGE)} == {replies.CLOSED}


def test_a_4xx_to_mail_from_throttles_every_message_and_a_5xx_refuses_the_sender():
    assert meaning(SENDER, 451, "4.7.500 Server busy") == replies.THROTTLED
    assert meaning(SENDER, 553, "5.7.1 Sender address rejected") == replies.SENDER_REFUSED


@pytest.mark.parametrize(
    ("text", "means"),
    [
        ("4.7.1 Error: too many recipients from 192.0.2.7", replies.CLIENT_RATE),
        ("4.7.1 Error: too much mail from 192.0.2.7", replies.CLIENT_RATE),
        ("4.5.3 Error: too many recipients", replies.DEFERRED),
        ("4.2.1 <bob@example.org>: Recipient address rejected: too many messages from soc@ to him", replies.DEFERRED),
    ],
)
def test_postfix_past_a_rate_of_its_client_stops_every_message_where_one_reporters_refusal_defers_one(text, means):
    assert meaning(RECIPIENT, 450, text) == meaning(MESSAGE, 450, text) == means


def test_postfixs_client_message_rate_at_mail_from_stops_every_message():
    assert meaning(SENDER, 450, "4.7.1 Error: too much mail from 192.0.2.7") == replies.CLIENT_RATE


@pytest.mark.parametrize(
    ("reply", "parameter"),
    [
        ("450 4.7.1 Error: too many recipients from 192.0.2.7", "smtpd_client_recipient_rate_limit"),
        ("450 4.7.1 Error: too much mail from 192.0.2.7", "smtpd_client_message_rate_limit"),
        ("421 4.7.0 mx.example.org Error: too many connections from 192.0.2.7", "smtpd_client_connection_rate_limit"),
    ],
)
def test_a_client_rate_names_the_postfix_parameter_its_reply_is_of(reply, parameter):
    from feedback.smtp.failures import client_rate

    assert f"(Postfix: {parameter}" in client_rate("The SMTP server", reply)


@pytest.mark.parametrize(
    "text",
    [
        "5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process"
        " message due to a permanent exception with message Cannot submit message.",
        "5.2.252 SendAsDenied; soc@example.org not allowed to send as alerts@example.org",
    ],
)
def test_exchange_refusing_the_from_address_at_the_end_of_a_message_refuses_the_sender(text):
    assert meaning(MESSAGE, 554, text) == replies.SENDER_REFUSED


def test_a_refusal_about_the_senders_address_refuses_the_sender_at_any_step():
    assert meaning(RECIPIENT, 550, "5.1.8 Access denied, bad outbound sender. AS(42004)") == replies.SENDER_REFUSED
    assert meaning(MESSAGE, 553, "5.1.7 Invalid sender address syntax") == replies.SENDER_REFUSED
    assert meaning(RECIPIENT, 550, "5.1.1 User unknown") == replies.REFUSED


@pytest.mark.parametrize("step", [SENDER, MESSAGE])
def test_a_message_over_the_servers_size_limit_is_too_large_for_every_message(step):
    assert meaning(step, 552, "5.3.4 Message size exceeds fixed limit") == replies.TOO_LARGE


def test_a_552_to_mail_from_without_an_enhanced_code_is_the_size_announced_with_size():
    assert meaning(SENDER, 552, "Error: message size exceeds fixed maximum message size") == replies.TOO_LARGE
    assert meaning(RECIPIENT, 552, "5.2.2 Mailbox full") == replies.REFUSED


@pytest.mark.parametrize(
    "text",
    [
        "5.7.1 <soc@example.org>: Sender address rejected: not owned by user alice",
        "5.7.1 <soc@example.org>: Sender address rejected: not logged in",
        "5.7.1 <soc@example.org>: Access denied",
    ],
)
def test_postfix_refusing_the_sender_at_rcpt_to_refuses_the_sender(text):
    assert meaning(RECIPIENT, 553, text, "soc@example.org") == replies.SENDER_REFUSED


def test_a_4xx_about_the_sender_at_rcpt_to_throttles_every_message():
    text = "4.1.8 <soc@example.org>: Sender address rejected: Domain not found"
    assert meaning(RECIPIENT, 450, text, "soc@example.org") == replies.THROTTLED


def test_a_5_7_1_quoting_the_recipient_concerns_only_that_reporter():
    assert meaning(RECIPIENT, 554, "5.7.1 <alice@example.org>: Relay access denied", "soc@example.org") == (
        replies.REFUSED
    )


@pytest.mark.parametrize(
    "text",
    [
        "5.1.1 <quota@example.org>: Recipient address rejected: User unknown",
        "5.1.1 <SendAsDenied@example.org>: Recipient address rejected: User unknown",
        "5.1.1 SendAsDenied@example.org... User unknown",
        "5.1.1 <rate-limit-exceeded@example.org>: Recipient address rejected: User unknown",
        '5.1.1 <"sender address rejected"@example.org>: User unknown',
    ],
)
def test_words_in_a_quoted_address_are_not_read_as_the_servers(text):
    assert meaning(RECIPIENT, 550, text, "soc@example.org") == replies.REFUSED


@given(local=st.from_regex(r"[A-Za-z0-9._%+=-]{1,40}", fullmatch=True))
def test_no_reporter_address_quoted_in_a_reply_changes_what_it_means(local):
    address = f"{local}@example.org"
    for code, text, means in [
        (550, f"5.1.1 <{address}>: Recipient address rejected: User unknown", replies.REFUSED),
        (550, f"5.1.1 {address}... User unknown", replies.REFUSED),
        (450, f"4.2.0 <{address}>: Recipient address rejected: Greylisted", replies.DEFERRED),
    ]:
        assert meaning(RECIPIENT, code, text, "soc@example.org") == means


def test_replies_about_one_recipient_or_message_concern_only_that_reporter():
    assert meaning(RECIPIENT, 451, "4.7.1 Greylisted") == replies.DEFERRED
    assert meaning(MESSAGE, 451, "4.3.0 Temporary failure") == replies.DEFERRED
    assert meaning(RECIPIENT, 550, "5.1.1 mailbox unavailable") == replies.REFUSED
    assert meaning(MESSAGE, 554, "5.7.1 Message rejected as spam") == replies.REFUSED


def test_no_limit_means_no_wait():
    assert pacing.next_slot(100.0, 99.9, 0) == 100.0
    assert pacing.duration(500, 0) == 0


def test_the_next_message_waits_a_minute_divided_by_the_limit_after_the_last():
    assert pacing.spacing(30) == 2.0
    assert pacing.next_slot(100.0, 99.5, 30) == 101.5
    assert pacing.next_slot(100.0, 90.0, 30) == 100.0
    assert pacing.next_slot(100.0, None, 30) == 100.0


def test_no_sixty_seconds_hold_more_messages_than_the_limit():
    per_minute, now, last, starts = 30, 0.0, None, []
    for _ in range(100):
        now = pacing.next_slot(now, last, per_minute) + 0.001  # each transaction takes a moment
        starts.append(now)
        last = now
    assert max(sum(1 for t in starts if s <= t < s + 60) for s in starts) == per_minute


def test_a_message_whose_turn_comes_after_the_deadline_does_not_fit():
    assert pacing.fits(10.0, 10.0, longest=0) and not pacing.fits(10.1, 10.0, longest=0)
    assert pacing.duration(31, 30) == 60.0


def test_a_message_starts_only_with_twice_the_longest_transaction_left_before_the_deadline():
    assert pacing.fits(9.0, 10.0, longest=0.5)
    assert not pacing.fits(9.1, 10.0, longest=0.5)


def test_pauses_double_with_each_session_in_a_row_that_got_nothing_through():
    assert [pacing.pause(n) for n in range(5)] == [1.0, 1.0, 2.0, 4.0, 8.0]


def test_retries_count_sessions_in_a_row_without_progress_and_respect_the_deadline():
    assert pacing.may_try_again(0, 0, now=0, wait=1, timeout=5, deadline=100)
    assert pacing.may_try_again(2, 2, now=0, wait=2, timeout=5, deadline=100)
    assert not pacing.may_try_again(3, 2, now=0, wait=4, timeout=5, deadline=100)
    assert not pacing.may_try_again(1, 2, now=95, wait=1, timeout=5, deadline=100)


class _AtOnce:
    """A way out in the test's own process whose one channel answers at once; `send` says how."""

    name = "a way out"
    advice = "Check the way out."
    reach = Reach(cacerts=None, proxies={}, timeout=10.0)

    def channel(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *failure) -> None:
        return None


class _BreaksAfterFirst(_AtOnce):
    """Takes the first message, then fails on a bug: a stand-in for whatever bug may come."""

    def __init__(self) -> None:
        self.taken: list[str] = []

    def send(self, message, recipient: str) -> Answer:
        if self.taken:
            raise KeyError("a bug")
        self.taken.append(recipient)
        return Answer(ACCEPTED, "", None)


class _Greylists(_AtOnce):
    """Defers one reporter every time and takes the others."""

    def __init__(self, greylisted: str) -> None:
        self.greylisted = greylisted

    def send(self, message, recipient: str) -> Answer:
        if recipient == self.greylisted:
            return Answer(DEFERRED, f"the server refused {recipient}: 451 4.7.1 Greylisted", None)
        return Answer(ACCEPTED, "", None)


def test_a_reporter_given_up_at_the_deadline_is_told_how_often_they_were_deferred(composer):
    config, messages = composer(thehive4_case("Spam", ("grey@example.org", "alice@example.org")), smtp_retries=3)
    # After the 1st session (grey deferred, alice taken) a 1 s pause and a 10 s wait for an answer fit in 11.9 s, if
    # that session took less than 0.9 s; after the 2nd (grey deferred again, 1 s later) they no longer do.
    delivery = deliver(
        messages, _Greylists("grey@example.org"), config.limits, time.monotonic() + 11.9, lambda item, at: None
    )

    assert [item.recipient for item in delivery.sent] == ["alice@example.org"]
    [failure] = delivery.failed
    assert failure.address == "grey@example.org"
    assert failure.reason.endswith("(after 2 attempt(s))"), failure.reason


def test_an_unexpected_error_after_a_message_went_out_keeps_its_record(composer):
    reporters = ("alice@example.org", "bob@example.org", "carol@example.org")
    config, messages = composer(thehive4_case("Spam", reporters))
    transport = _BreaksAfterFirst()

    delivery = deliver(messages, transport, config.limits, time.monotonic() + 30, lambda item, at: None)

    assert [item.recipient for item in delivery.sent] == transport.taken == ["alice@example.org"]
    assert [f.address for f in delivery.failed] == ["bob@example.org", "carol@example.org"]
    assert all("unexpected KeyError" in f.reason for f in delivery.failed)


@contextmanager
def cortexs_signals():
    """The job's own handlers of SIGTERM and SIGINT while the block runs, the test's own back after it."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    stopping.install()
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def delivered_to_three(composer, transport):
    """Alice's, bob's and carol's messages through `transport`, with the job's handlers of Cortex's signals."""
    config, messages = composer(thehive4_case("Spam", ("alice@example.org", "bob@example.org", "carol@example.org")))
    with cortexs_signals():
        return deliver(messages, transport, config.limits, time.monotonic() + 30, lambda item, at: None)


def test_a_sigterm_after_an_unexpected_error_cannot_drop_the_record_of_who_was_mailed(composer):
    config, messages = composer(thehive4_case("Spam", ("alice@example.org", "bob@example.org")))
    with cortexs_signals():
        delivery = deliver(messages, _BreaksAfterFirst(), config.limits, time.monotonic() + 30, lambda item, at: None)
        # Cortex's SIGTERM while the report of that delivery is written: it must wait for the report.
        os.kill(os.getpid(), signal.SIGTERM)

    assert [item.recipient for item in delivery.sent] == ["alice@example.org"]


class _RefusedForGoodAsSigtermComes(_AtOnce):
    """Takes the first message; at the second, Cortex's SIGTERM comes while the way out fails for good."""

    def send(self, message, recipient: str) -> Answer:
        if recipient == "alice@example.org":
            return Answer(ACCEPTED, "", None)
        os.kill(os.getpid(), signal.SIGTERM)
        raise Permanent("The certificate of the way out could not be verified. Put its CA in cacerts.")


def test_a_failure_for_good_that_comes_with_cortexs_sigterm_keeps_its_reason(composer):
    """No run mends it: its advice, not jobTimeout's, is what the analyst must read."""
    delivery = delivered_to_three(composer, _RefusedForGoodAsSigtermComes())

    assert [item.recipient for item in delivery.sent] == ["alice@example.org"]
    assert [f.address for f in delivery.failed] == ["bob@example.org", "carol@example.org"]
    assert all(f.reason.startswith("The certificate of the way out") for f in delivery.failed), delivery.failed


class _QuotaAsSigtermComesThenSigtermAsItCloses(_AtOnce):
    """Takes the first message; at the second, Cortex's SIGTERM comes while the service answers its quota, and again
    while the channel closes."""

    def send(self, message, recipient: str) -> Answer:
        if recipient == "alice@example.org":
            return Answer(ACCEPTED, "", None)
        os.kill(os.getpid(), signal.SIGTERM)
        return stop("The mailbox is past its sending quota. Run the responder again tomorrow.")

    def __exit__(self, *failure) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


def test_a_second_sigterm_as_the_channel_closes_after_the_quota_leaves_the_quota_as_the_reason(composer):
    """The quota ended the sending while Cortex's first stop was held, which settles the account: Cortex asking again
    does not put its stop in the quota's place."""
    delivery = delivered_to_three(composer, _QuotaAsSigtermComesThenSigtermAsItCloses())

    assert [item.recipient for item in delivery.sent] == ["alice@example.org"]
    assert [f.address for f in delivery.failed] == ["bob@example.org", "carol@example.org"]
    assert all(f.reason.startswith("The mailbox is past its sending quota") for f in delivery.failed), delivery.failed


class _StopDroppedInAFinalizer(_AtOnce):
    """As the channel opens, Cortex's SIGTERM comes while Python runs a finalizer (a module lock's callback, as a
    module loads): what the handler raises there, Python prints and drops."""

    def __init__(self) -> None:
        self.taken: list[str] = []

    def __enter__(self):
        _RaisesTheSignalAsItGoes()
        return self

    def send(self, message, recipient: str) -> Answer:
        self.taken.append(recipient)
        return Answer(ACCEPTED, "", None)


class _RaisesTheSignalAsItGoes:
    def __del__(self) -> None:
        signal.raise_signal(signal.SIGTERM)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the drop this test is about
def test_a_stop_that_python_dropped_in_a_finalizer_still_stops_the_sending_before_the_next_message(composer):
    transport = _StopDroppedInAFinalizer()

    with pytest.raises(
        DeliveryError, match=r"No feedback was sent\. Cortex stopped the job \(its jobTimeout ran out\)"
    ):
        delivered_to_three(composer, transport)

    assert transport.taken == []


class _StopDroppedThenRefused(_StopDroppedInAFinalizer):
    """As the first channel opens, the stop is dropped as above; then the connection is refused, every time."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0

    def __enter__(self):
        self.opened += 1
        super().__enter__()
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the drop this test is about
def test_a_stop_dropped_as_a_channel_fails_to_open_ends_the_sending_there_with_cortexs_reason(composer):
    """No channel after Cortex's stop, and the advice is jobTimeout's, not the connection's."""
    transport = _StopDroppedThenRefused()

    with pytest.raises(DeliveryError, match=r"Cortex stopped the job \(its jobTimeout ran out\)"):
        delivered_to_three(composer, transport)

    assert transport.opened == 1


class _NoAnswerThenBreaks(_AtOnce):
    """Has alice's message whole and never answers; at the next message, fails on a bug."""

    def __init__(self) -> None:
        self.had: list[str] = []

    def send(self, message, recipient: str) -> Answer:
        if self.had:
            raise KeyError("a bug")
        self.had.append(recipient)
        return unsure(self.name, "did not answer within 10 s", "the sent folder")


def test_an_unexpected_error_after_only_a_message_that_may_have_gone_keeps_its_record_where_the_report_keeps_it(
    composer,
):
    """The verdict's report records a message that may have gone (feedback_unsure), so that no run mails it again: a
    bug at the next message must not turn the job into an error that records nobody."""
    reporters = ("alice@example.org", "bob@example.org", "carol@example.org")
    config, messages = composer(thehive4_case("Spam", reporters))
    transport = _NoAnswerThenBreaks()

    delivery = deliver(
        messages, transport, config.limits, time.monotonic() + 30, lambda item, at: None, records_unsure=True
    )

    assert delivery.sent == ()
    assert [f.address for f in delivery.unsure] == transport.had == ["alice@example.org"]
    assert [f.address for f in delivery.failed] == ["bob@example.org", "carol@example.org"]
    assert all("unexpected KeyError" in f.reason for f in delivery.failed)
