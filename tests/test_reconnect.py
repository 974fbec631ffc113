"""A relay that ends sessions midway: the responder reconnects, goes on, and mails everyone exactly once."""

from __future__ import annotations

from testkit.cases import thehive4_case
from testkit.cortex import apply_operations
from testkit.records import notified
from testkit.smtp_faults import CLOSING_REPLY

CAMPAIGN = [f"reporter{n:02}@example.org" for n in range(50)]


def test_relay_closing_the_session_after_10_messages_still_reaches_all_50(cortex, smtp):
    smtp.faults.per_session = 10
    result = cortex(thehive4_case("Spam", CAMPAIGN), smtp_retries=1)

    assert result.success, result.error
    assert result.output["full"]["failed"] == []
    assert len(result.output["full"]["notified"]) == 50
    smtp.assert_each_got_exactly_one(CAMPAIGN)
    assert len(smtp.logins) == 5


def test_connection_closed_without_a_word_mid_campaign_is_resumed_where_it_stopped(cortex, smtp):
    smtp.faults.drop_after = 3
    result = cortex(thehive4_case("Spam", CAMPAIGN[:6]), smtp_retries=1)

    assert result.success, result.error
    assert result.output["full"]["failed"] == []
    assert [d.rcpt_tos[0] for d in smtp.delivered] == CAMPAIGN[:6]
    assert len(smtp.logins) == 2


def test_progress_starts_the_retry_count_again(cortex, smtp):
    """No retry at all, yet a session that got messages through may be followed by another."""
    smtp.faults.per_session = 2
    result = cortex(thehive4_case("Spam", CAMPAIGN[:7]), smtp_retries=0)

    assert result.success, result.error
    assert result.output["full"]["failed"] == []
    smtp.assert_each_got_exactly_one(CAMPAIGN[:7])
    assert len(smtp.logins) == 4


def test_relay_that_keeps_closing_is_named_as_such_not_as_a_refused_sender(cortex, smtp):
    smtp.faults.limit_after, smtp.faults.limit_reply = 2, CLOSING_REPLY
    case = thehive4_case("Spam", CAMPAIGN[:5])
    first = cortex(case, smtp_retries=1)

    assert first.success, first.error
    assert notified(first) == CAMPAIGN[:2]
    reasons = {f["address"]: f["reason"] for f in first.output["full"]["failed"]}
    assert list(reasons) == CAMPAIGN[2:5]
    assert reasons[CAMPAIGN[2]] == (
        f"the SMTP server {smtp.host}:{smtp.port} closed the session ({CLOSING_REPLY}) (after 2 attempt(s))"
    )
    assert not any("'from'" in reason for reason in reasons.values())
    assert len(smtp.logins) == 3

    smtp.faults.limit_after = -1
    second = cortex(apply_operations(case, first))
    assert notified(second) == CAMPAIGN[2:5]
    smtp.assert_each_got_exactly_one(CAMPAIGN[:5])


def test_relay_that_closes_before_any_message_is_an_error_that_says_so(cortex, smtp):
    smtp.faults.limit_after, smtp.faults.limit_reply = 0, CLOSING_REPLY
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), smtp_retries=1)

    assert not result.success
    assert f"closed the session ({CLOSING_REPLY}) (after 2 attempt(s))" in result.error
    assert "'from'" not in result.error
    assert smtp.delivered == []
