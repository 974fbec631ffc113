"""Sending limits: the pace an admin sets, a server's quota, throttling, and what fits in the job's time."""

from __future__ import annotations

import os
import time
from collections import Counter

import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from feedback import pacing
from feedback.unreached import DeliveryError
from testkit.cases import thehive4_case
from testkit.cortex import apply_operations
from testkit.records import failed, notified
from testkit.smtp_faults import CLOSING_REPLY, QUOTA_REPLY, THROTTLE_REPLY, Faults

CAMPAIGN = [f"reporter{n}@example.org" for n in range(6)]
USERS = [f"user{n}@example.org" for n in range(12)]
EXAMPLES = int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "150")) // 5


def gaps(smtp) -> list[float]:
    arrivals = [d.arrived for d in smtp.delivered]
    return [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]


def test_each_message_of_a_paced_campaign_is_dated_when_it_goes_out(cortex, smtp):
    reporters = ["alice@example.org", "bob@example.org", "carol@example.org"]
    result = cortex(thehive4_case("Spam", reporters), smtp_max_per_minute=60)

    assert result.success, result.error
    dates = [delivered.message["Date"].datetime for delivered in smtp.delivered]
    assert dates == sorted(dates) and len(set(dates)) == 3


def test_messages_reach_the_server_no_faster_than_the_limit(cortex, smtp):
    result = cortex(thehive4_case("Spam", CAMPAIGN[:4]), smtp_max_per_minute=120)

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(CAMPAIGN[:4])
    assert min(gaps(smtp)) >= 60 / 120


@pytest.mark.slow
def test_the_pace_holds_across_a_reconnection(cortex, smtp):
    smtp.faults.per_session = 2
    result = cortex(thehive4_case("Spam", CAMPAIGN[:4]), smtp_max_per_minute=40)

    assert result.success, result.error
    assert len(smtp.logins) == 2
    assert min(gaps(smtp)) >= 60 / 40


def test_quota_reply_stops_the_job_and_the_next_run_mails_only_the_rest(cortex, smtp):
    smtp.faults.limit_after = 2
    case = thehive4_case("Spam", CAMPAIGN[:5])
    first = cortex(case)

    assert first.success, first.error
    assert notified(first) == CAMPAIGN[:2]
    assert [f["address"] for f in first.output["full"]["failed"]] == CAMPAIGN[2:5]
    reason = first.output["full"]["failed"][0]["reason"]
    assert f"answered with a sending quota ({QUOTA_REPLY})" in reason
    assert "once the quota resets" in reason
    assert smtp.refused == [CAMPAIGN[2]], "after a quota reply nothing more may be tried"
    assert {f"feedback_failed:{a}" for a in CAMPAIGN[2:5]} | {"mail failed", "mail sent"} <= set(first.tags)

    smtp.faults.limit_after = -1  # the quota resets
    second = cortex(apply_operations(case, first))

    assert second.success, second.error
    assert notified(second) == CAMPAIGN[2:5]
    assert second.output["full"]["failed"] == []
    smtp.assert_each_got_exactly_one(CAMPAIGN[:5])


def test_reporters_a_quota_left_unreached_are_named_together_with_the_reason_said_once(cortex, smtp):
    smtp.faults.limit_after = 1
    reporters = [f"reporter{n}@example.org" for n in range(14)]
    result = cortex(thehive4_case("Spam", reporters))

    assert result.success, result.error
    message = result.output["full"]["message"]
    assert message.count(QUOTA_REPLY) == 1
    assert f"13 could not be reached: {', '.join(reporters[1:11])} (" in message
    assert "; and 3 more, listed under failed." in message


def test_quota_reply_in_a_4xx_to_mail_from_stops_the_job_too(cortex, smtp):
    smtp.faults.refuse_sender = "450 4.7.1 Daily sending quota exceeded for soc@example.org"
    result = cortex(thehive4_case("Spam", CAMPAIGN[:3]))

    assert not result.success
    assert "No feedback was sent. The SMTP server" in result.error
    assert "answered with a sending quota (450 4.7.1 Daily sending quota exceeded" in result.error
    assert len(smtp.logins) == 1, "a quota is not retried within the job"


def test_quota_reply_before_any_message_is_an_error_that_tags_nothing(cortex, smtp):
    smtp.faults.limit_after = 0
    result = cortex(thehive4_case("Spam", CAMPAIGN[:3]))

    assert not result.success
    assert result.error.startswith("No feedback was sent. The SMTP server")
    assert "SubmissionQuotaExceededException" in result.error
    assert "operations" not in result.output
    assert smtp.refused == [CAMPAIGN[0]]


def test_a_refused_reporter_then_a_quota_reads_as_the_refusal_with_its_advice_and_the_quota_sentences_whole(
    cortex, smtp
):
    smtp.faults.refuse = {CAMPAIGN[0]: "550 5.1.1 User unknown"}
    smtp.faults.limit_after = 0
    result = cortex(thehive4_case("Spam", CAMPAIGN[:3]))

    assert not result.success
    assert result.error.startswith(f"No feedback was sent: the server refused {CAMPAIGN[0]}: 550 5.1.1 User unknown.")
    assert "accepts the reporters' addresses. The SMTP server" in result.error, "the advice comes after the refusal"
    assert result.error.endswith("see smtp_max_per_minute)."), "the quota's sentences come whole, last"


def test_throttling_reply_is_retried_after_a_pause_and_everyone_is_reached(cortex, smtp):
    smtp.faults.throttle_after, smtp.faults.throttled = 2, 2
    result = cortex(thehive4_case("Spam", CAMPAIGN[:5]), smtp_retries=2)

    assert result.success, result.error
    assert result.output["full"]["failed"] == []
    assert [d.rcpt_tos[0] for d in smtp.delivered] == CAMPAIGN[:5]
    assert len(smtp.logins) == 3
    assert gaps(smtp)[1] >= 1.0, "the server asked to slow down: the next session waits"


def test_postfixs_recipient_rate_limit_stops_the_job_and_names_smtp_max_per_minute(cortex, smtp):
    """smtpd_client_recipient_rate_limit refuses every recipient past it until its time unit (a minute) is over: the
    reply is about the client, not about the reporter it comes to, and no pause within the back-off lifts it."""
    smtp.faults.rcpt_rate = (2, 60.0)
    result = cortex(thehive4_case("Spam", CAMPAIGN[:5]), smtp_retries=2)

    assert result.success, result.error
    assert notified(result) == CAMPAIGN[:2]
    reasons = failed(result)
    assert list(reasons) == CAMPAIGN[2:5]
    assert all("Set smtp_max_per_minute below the server's rate" in reason for reason in reasons.values()), reasons
    assert smtp.said.count(f"RCPT {CAMPAIGN[2]}") == 1, "asked once"


def test_throttling_that_lasts_ends_with_the_servers_reply(cortex, smtp):
    smtp.faults.throttle_after, smtp.faults.throttled = 1, 99
    result = cortex(thehive4_case("Spam", CAMPAIGN[:3]), smtp_retries=1)

    assert result.success, result.error
    assert notified(result) == CAMPAIGN[:1]
    reasons = [f["reason"] for f in result.output["full"]["failed"]]
    assert reasons == [f"the SMTP server {smtp.host}:{smtp.port} answered {THROTTLE_REPLY} (after 2 attempt(s))"] * 2
    assert len(smtp.logins) == 3


def test_reporters_beyond_what_the_pace_allows_in_the_budget_are_left_for_the_next_run(deliver_within, smtp):
    # A turn comes 2 s after the previous message ended: the 3rd about 4 s in, the 4th after 6 s. Each exchange may
    # take up to 0.35 s on a busy machine and the 3rd still fit, with twice the longest, in 5.5 s.
    delivery = deliver_within(thehive4_case("Spam", CAMPAIGN), 5.5, smtp_max_per_minute=30)

    assert [item.recipient for item in delivery.sent] == CAMPAIGN[:3]
    assert [f.address for f in delivery.failed] == CAMPAIGN[3:]
    assert delivery.failed[0].reason.startswith(
        "At smtp_max_per_minute 30, this job's 6 message(s) need 0.2 min; its time budget (80% of Cortex's"
        " jobTimeout) ended before this reporter's turn. Run the responder again"
    )
    smtp.assert_each_got_exactly_one(CAMPAIGN[:3])
    assert min(gaps(smtp)) >= 2.0


@pytest.mark.slow
def test_a_server_slower_than_smtp_timeout_to_judge_a_message_is_waited_for_and_each_reporter_mailed_once(cortex, smtp):
    """A content filter under load: RFC 5321 gives the reply to a message's end ten minutes, smtp_timeout is 2 s."""
    smtp.faults.verdict_delay = 3
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), smtp_timeout=2, smtp_retries=2)

    assert result.success, result.error
    assert notified(result) == CAMPAIGN[:2] and failed(result) == {}
    smtp.assert_each_got_exactly_one(CAMPAIGN[:2], one_per_message=True)


def test_a_message_the_server_still_holds_at_the_deadline_is_not_sent_again_nor_said_unsent(deliver_within, smtp):
    smtp.faults.verdict_delay = 3
    with pytest.raises(DeliveryError) as nothing_known:
        deliver_within(thehive4_case("Spam", CAMPAIGN[:1]), 1.5, smtp_retries=2)
    time.sleep(2)  # the server delivers what it held

    assert str(nothing_known.value).startswith(
        f"No feedback is known to have been sent. The SMTP server 127.0.0.1:{smtp.port} had the whole message but"
        " the job's time budget ran out before it answered: it may have gone out all the same"
    )
    assert f"Look in the log of the SMTP server 127.0.0.1:{smtp.port} before" in str(nothing_known.value)
    smtp.assert_each_got_exactly_one(CAMPAIGN[:1], one_per_message=True)


def test_no_message_is_left_in_flight_at_the_deadline_with_the_server_still_deciding(deliver_within, smtp):
    # The server takes 0.4 s per message; the second one's turn comes about 0.15 s before the deadline.
    smtp.faults.verdict_delay = 0.4
    delivery = deliver_within(thehive4_case("Spam", CAMPAIGN[:3]), 1.7, smtp_max_per_minute=60)
    time.sleep(0.5)  # what a server still deciding at the deadline would deliver, it has by now

    assert [item.recipient for item in delivery.sent] == CAMPAIGN[:1]
    assert "ended before this reporter's turn" in delivery.failed[0].reason
    smtp.assert_each_got_exactly_one(CAMPAIGN[:1])


def test_without_a_pace_a_message_starts_only_if_the_server_has_time_to_answer_it(deliver_within, smtp):
    # Four messages of 0.4 s each do not fit in 1.7 s: the last ones wait for the next run, none is cut.
    smtp.faults.verdict_delay = 0.4
    delivery = deliver_within(thehive4_case("Spam", CAMPAIGN[:4]), 1.7)
    time.sleep(0.5)

    assert delivery.sent and delivery.failed
    assert "had too little left for the server to answer one more message" in delivery.failed[0].reason
    smtp.assert_each_got_exactly_one([item.recipient for item in delivery.sent])


def test_cortex_stopping_the_job_while_it_waits_for_the_pace_still_records_who_was_mailed(cortex, smtp):
    result = cortex(thehive4_case("Spam", CAMPAIGN[:3]), smtp_max_per_minute=6, stop_after=2)

    assert result.success, result.everything_printed()
    assert notified(result) == CAMPAIGN[:1]
    assert [f["address"] for f in result.output["full"]["failed"]] == CAMPAIGN[1:3]
    assert "Cortex stopped the job" in result.output["full"]["failed"][0]["reason"]
    smtp.assert_each_got_exactly_one(CAMPAIGN[:1])


def test_a_limit_that_is_not_a_number_of_messages_names_the_setting(cortex, smtp):
    result = cortex(thehive4_case(), smtp_max_per_minute=-30)

    assert not result.success
    assert "smtp_max_per_minute must be a number from 0 to 6000" in result.error
    assert smtp.delivered == []


@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(1, 12),
    retries=st.integers(0, 2),
    faults=st.builds(
        Faults,
        defer_rcpt=st.dictionaries(st.sampled_from(USERS), st.integers(1, 3), max_size=2),
        defer_data=st.integers(0, 2),
        drop_data=st.integers(0, 1),
        per_session=st.integers(0, 4),
        drop_after=st.integers(-1, 8),
        throttle_after=st.integers(-1, 8),
        throttled=st.integers(0, 3),
        limit_after=st.integers(-1, 10),
        limit_reply=st.sampled_from([QUOTA_REPLY, CLOSING_REPLY, "451 4.3.0 Temporary failure, try again later"]),
    ),
)
def test_any_mix_of_limits_and_faults_mails_nobody_twice_and_loses_nobody(
    deliver_within, smtp, monkeypatch, count, retries, faults
):
    monkeypatch.setattr(pacing, "FIRST_PAUSE", 0.01)  # the back-off's length is not what this checks
    smtp.faults, smtp.delivered[:], smtp.refused[:] = faults, [], []
    reporters = USERS[:count]
    try:
        delivery = deliver_within(thehive4_case("Spam", reporters), 30, smtp_retries=retries)
    except DeliveryError:
        assert smtp.delivered == []
        return
    finally:
        if faults.limit_reply == QUOTA_REPLY:
            assert len(smtp.refused) <= 1, "after a quota reply nothing more may be tried"
    sent = [item.recipient for item in delivery.sent]
    assert Counter(smtp.recipients()) == Counter(sent)
    assert Counter(sent + [f.address for f in [*delivery.failed, *delivery.unsure]]) == Counter(reporters)


@hypothesis.settings(
    max_examples=max(EXAMPLES // 2, 5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(1, 8),
    pace=st.sampled_from([0, 60, 120, 240]),
    verdict_delay=st.floats(0.1, 0.3),
    budget=st.floats(1.0, 2.5),
    per_session=st.integers(0, 3),
)
def test_any_pace_server_speed_and_budget_records_exactly_what_the_server_accepted(
    deliver_within, smtp, monkeypatch, count, pace, verdict_delay, budget, per_session
):
    monkeypatch.setattr(pacing, "FIRST_PAUSE", 0.01)
    smtp.faults, smtp.delivered[:] = Faults(per_session=per_session, verdict_delay=verdict_delay), []
    reporters = USERS[:count]
    try:
        delivery = deliver_within(thehive4_case("Spam", reporters), budget, smtp_max_per_minute=pace)
        sent = [item.recipient for item in delivery.sent]
        failed = [f.address for f in [*delivery.failed, *delivery.unsure]]
    except DeliveryError:
        sent, failed = [], reporters
    time.sleep(verdict_delay + 0.1)  # a message cut while the server decided on it is delivered by now

    assert Counter(smtp.recipients()) == Counter(sent)
    assert Counter(sent + failed) == Counter(reporters)


def test_a_quota_stop_says_the_next_run_mails_only_those_not_reached(cortex, smtp):
    smtp.faults.limit_after = 1
    result = cortex(thehive4_case("Spam", CAMPAIGN[:3]))

    assert result.success, result.error
    reason = result.output["full"]["failed"][0]["reason"]
    assert "Run the responder again once the quota resets: it mails only those not reached" in reason
