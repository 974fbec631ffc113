"""Every reporter exactly once: campaigns, re-runs, partial failures and hostile input."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from feedback.unreached import DeliveryError
from testkit.cases import thehive4_case, thehive5_alert, thehive5_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST, apply_operations

# How the job words a reporter outside the allowed domains, listed or left empty.
from testkit.delivered import text_and_html

# How the job words a reporter outside the allowed domains, listed or left empty.
from testkit.raw_tcp import RawTcpServer
from testkit.records import notified, told, untimed
from testkit.smtp_server import LoopbackSmtp

# How the job words a reporter outside the allowed domains, listed or left empty.
OUTSIDE = "its domain is not in allowed_recipient_domains"
OUTSIDE_FROM = f"{OUTSIDE}, which, left empty, allows example.org alone (the domain of from)"

CAMPAIGN = ["alice@example.org", "bob@example.org", "carol@example.org"]


def test_every_reporter_of_a_campaign_gets_a_message_of_their_own(cortex, smtp):
    result = cortex(thehive4_case("Phishing", CAMPAIGN))

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(CAMPAIGN, one_per_message=True)
    for delivered in smtp.delivered:
        assert delivered.message["To"] == delivered.rcpt_tos[0]
    assert sorted(n["address"] for n in result.output["full"]["notified"]) == CAMPAIGN
    assert set(untimed(result)) == {*told("Phishing", *CAMPAIGN), "mail sent"}


def test_every_tag_form_theHive_writes_is_read_and_duplicates_are_mailed_once(cortex, smtp):
    case = thehive4_case(
        "Spam",
        reporters=(),
        tags=[
            "user_email:alice@example.org",
            'user_email="bob@example.org"',
            "user_email=carol@example.org",
            "  USER_EMAIL:Alice@Example.org  ",
            'user_email="alice@example.org"',
        ],
    )
    result = cortex(case)

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(CAMPAIGN, one_per_message=True)


def test_rerun_mails_nobody_twice_and_says_so(cortex, smtp):
    case = thehive4_case("Spam", CAMPAIGN)
    first = cortex(case)
    second = cortex(apply_operations(case, first))

    assert second.success
    assert "already notified; nothing was sent" in second.output["full"]["message"]
    assert second.operations == []
    smtp.assert_each_got_exactly_one(CAMPAIGN, one_per_message=True)


def test_a_reporter_whose_message_may_have_gone_is_mailed_only_once_the_analyst_removes_that_record(cortex, smtp):
    case = thehive4_case("Spam", CAMPAIGN[:2])
    case["tags"].append("feedback_unsure:alice@example.org")
    first = cortex(case)
    case = apply_operations(case, first)
    second = cortex(case)
    case["tags"].remove("feedback_unsure:alice@example.org")
    third = cortex(case)

    assert notified(first) == ["bob@example.org"] and first.output["full"]["maybe_notified"] == ["alice@example.org"]
    assert "remove their feedback_unsure tag and run the responder again" in first.output["full"]["warnings"][-1]
    assert second.output["full"]["message"] == (
        "Nothing was sent to the 2 reporter(s) of this case: 1 already notified, 1 whom an earlier run's message may"
        " have reached (feedback_unsure). See the 1 warning(s)."
    )
    assert notified(third) == ["alice@example.org"]
    smtp.assert_each_got_exactly_one(["bob@example.org", "alice@example.org"], one_per_message=True)


def test_a_case_whose_only_reporter_may_have_been_reached_counts_nobody_as_already_notified(cortex, smtp):
    case = thehive4_case("Spam", CAMPAIGN[:1])
    case["tags"].append("feedback_unsure:alice@example.org")
    result = cortex(case)

    assert result.success, result.error
    assert result.output["full"]["message"] == (
        "Nothing was sent to the 1 reporter(s) of this case: 1 whom an earlier run's message may have reached"
        " (feedback_unsure). See the 1 warning(s)."
    )
    assert smtp.delivered == []


def test_reporter_added_after_a_run_is_mailed_on_the_next_run(cortex, smtp):
    case = thehive4_case("Spam", CAMPAIGN[:2])
    case = apply_operations(case, cortex(case))
    case["tags"].append("user_email:carol@example.org")
    second = cortex(case)

    assert notified(second) == ["carol@example.org"]
    assert second.output["full"]["already_notified"] == CAMPAIGN[:2]
    smtp.assert_each_got_exactly_one(CAMPAIGN, one_per_message=True)


def test_refused_recipient_is_reported_tagged_and_retried_alone_on_the_next_run(cortex, smtp):
    smtp.faults.refuse["bob@example.org"] = "550 5.1.1 <bob@example.org>: mailbox unavailable"
    case = thehive4_case("Spam", CAMPAIGN)
    first = cortex(case)

    assert first.success, first.error
    assert first.output["full"]["failed"] == [
        {
            "address": "bob@example.org",
            "reason": "the server refused bob@example.org: 550 5.1.1 <bob@example.org>: mailbox unavailable",
        }
    ]
    assert "1 could not be reached: bob@example.org" in first.output["full"]["message"]
    assert {"feedback_failed:bob@example.org", "mail failed", "mail sent"} <= set(first.tags)
    assert "feedback_sent:bob@example.org" not in first.tags

    smtp.faults.refuse.clear()
    second = cortex(apply_operations(case, first))

    assert notified(second) == ["bob@example.org"]
    smtp.assert_each_got_exactly_one(CAMPAIGN, one_per_message=True)


def test_every_recipient_refused_is_an_error_that_tags_nothing(cortex, smtp):
    smtp.faults.refuse.update(dict.fromkeys(CAMPAIGN[:2], "550 5.7.1 Relaying denied"))
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]))

    assert not result.success
    assert "No feedback was sent: the server refused alice@example.org: 550 5.7.1 Relaying denied" in result.error
    assert smtp.delivered == []


def test_a_campaign_refused_whole_names_ten_reporters_and_counts_the_others(cortex, smtp):
    reporters = [f"reporter{n:02}@example.org" for n in range(25)]
    smtp.faults.refuse.update(dict.fromkeys(reporters, "550 5.7.1 Relaying denied"))
    result = cortex(thehive4_case("Spam", reporters))

    assert not result.success
    assert "the server refused reporter09@example.org: 550 5.7.1 Relaying denied; and 15 more." in result.error
    assert "reporter10@" not in result.error


def test_thousands_of_unusable_reporter_values_name_ten_in_the_error_and_count_the_others(cortex, smtp):
    junk = [f"Employee {n} <not-an-address-{n}>" for n in range(2_000)]
    result = cortex(thehive5_case("Spam", junk))

    assert not result.success
    assert result.error.startswith("No reporter address can be mailed ('Employee 0 <not-an-address-0>': it has no")
    assert "'Employee 9 <not-an-address-9>': it has no '@' (an address is name@domain); and 1990 more)." in result.error
    assert len(result.error) < 2_000


def test_temporary_refusal_of_the_message_is_retried_in_the_same_job(cortex, smtp):
    smtp.faults.defer_data = 1
    result = cortex(thehive4_case("Spam", CAMPAIGN[:1]), smtp_retries=1)

    assert result.success, result.error
    assert result.output["full"]["failed"] == []
    smtp.assert_each_got_exactly_one(CAMPAIGN[:1], one_per_message=True)


def test_greylisted_recipient_is_retried_without_holding_back_the_others(cortex, smtp):
    smtp.faults.defer_rcpt["bob@example.org"] = 1
    result = cortex(thehive4_case("Spam", CAMPAIGN), smtp_retries=1)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org", "carol@example.org", "bob@example.org"]


def test_temporary_refusal_that_lasts_ends_as_a_reported_failure(cortex, smtp):
    smtp.faults.defer_rcpt["bob@example.org"] = 99
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), smtp_retries=1)

    assert result.success
    assert result.output["full"]["failed"][0]["address"] == "bob@example.org"
    assert "451 4.7.1 Greylisted" in result.output["full"]["failed"][0]["reason"]
    assert "(after 2 attempt(s))" in result.output["full"]["failed"][0]["reason"]
    smtp.assert_each_got_exactly_one(["alice@example.org"], one_per_message=True)


def test_connection_dropped_during_data_is_resumed_without_duplicates(cortex, smtp):
    smtp.faults.drop_data = 1
    result = cortex(thehive4_case("Spam", CAMPAIGN), smtp_retries=1)

    assert result.success, result.error
    assert result.output["full"]["failed"] == []
    smtp.assert_each_got_exactly_one(CAMPAIGN, one_per_message=True)


def test_a_message_whose_end_the_server_twice_took_without_answering_is_not_sent_a_third_time(cortex, smtp):
    """Closed once after the whole message, the server most likely lost it; closed again, it may keep each copy it
    never answers for: the message may have gone, and is not sent again nor said unsent."""
    smtp.faults.drop_data = 5
    result = cortex(thehive4_case("Spam", ["alice@example.org"]), smtp_retries=4)

    assert smtp.said.count("DATA") == 2
    assert result.success, result.error
    assert result.output["full"]["message"].startswith(
        "No feedback is known to have been sent. 1 may have been reached: alice@example.org (The SMTP server"
        f" 127.0.0.1:{smtp.port} had the whole message but closed the connection without answering, for the second"
        " time: it may have gone out all the same"
    )
    assert result.tags == ["feedback_unsure:alice@example.org"]


def test_a_reply_that_comes_before_the_message_is_no_verdict_on_it(cortex, smtp):
    """A server out of step with SMTP answers the message before it came, then defers it at its end: the early 250
    was read as its verdict, and every reply after it one command late."""
    smtp.faults.early_reply, smtp.faults.defer_data = "250 2.0.0 Ok: queued as EARLY", 1
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), smtp_retries=2)

    assert result.success, result.error
    assert result.output["full"]["failed"] == []
    smtp.assert_each_got_exactly_one(["alice@example.org", "bob@example.org"], one_per_message=True)


def test_a_server_that_keeps_replying_before_the_message_is_never_sent_it_and_is_said_out_of_step(cortex, smtp):
    smtp.faults.early_reply, smtp.faults.early_replies = "250 2.0.0 Ok: queued as EARLY", 99
    result = cortex(thehive4_case(), smtp_retries=1)

    assert not result.success and smtp.delivered == []
    assert (
        f"the SMTP server 127.0.0.1:{smtp.port} replied before the message was sent, out of step with SMTP, so the"
        " message was not sent (after 2 attempt(s))" in result.error
    )


def test_a_message_larger_than_the_send_buffer_waits_for_a_server_slow_to_read_it_and_arrives_whole_once(
    deliver_within, smtp, monkeypatch
):
    """The look for a reply just before the message must leave the socket waiting as before, or a message that fills
    the send buffer fails at every attempt. Over a network that buffer holds some 100 KB; over loopback, megabytes."""
    connect = socket.create_connection

    def with_a_networks_send_buffer(*args, **kwargs):
        sock = connect(*args, **kwargs)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        return sock

    monkeypatch.setattr(socket, "create_connection", with_a_networks_send_buffer)
    smtp.faults.read_delay = 1
    title = "Phishing report: " + "A" * 980  # quoted whole: a thousand characters at most
    case = thehive4_case("Spam", ["alice@example.org"], title=title)
    delivery = deliver_within(case, 30, template_spam="{case_title}\n" * 420)

    assert [item.recipient for item in delivery.sent] == ["alice@example.org"]
    [delivered] = smtp.delivered
    assert text_and_html(delivered.message)[0].count(title) == 420, "the message whole"
    assert smtp.said.count("DATA") == 1


def test_a_message_whose_end_the_server_takes_with_another_2xx_than_250_counts_as_sent(cortex, smtp):
    """RFC 5321 has clients read a reply's first digit; smtplib takes 250 alone."""
    smtp.faults.accepted_reply = "252 2.0.0 Ok: queued as 4F2B1"
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert result.success, result.error
    assert notified(result) == ["alice@example.org", "bob@example.org"]
    smtp.assert_each_got_exactly_one(["alice@example.org", "bob@example.org"], one_per_message=True)


def test_a_250_to_data_is_told_as_a_server_out_of_step_not_as_a_refusal(cortex, smtp):
    smtp.faults.data_reply = "250 2.0.0 Ok"
    result = cortex(thehive4_case(), smtp_retries=1, smtp_timeout=2)

    assert not result.success and smtp.delivered == []
    assert f"the SMTP server 127.0.0.1:{smtp.port} answered DATA with 250 2.0.0 Ok where SMTP has 354" in result.error
    assert "refused" not in result.error


def test_a_250_to_data_in_a_later_transaction_is_no_message_sent(cortex, smtp):
    """What the message's end was answered with before counts for that message alone."""
    smtp.faults.on_data = lambda: setattr(smtp.faults, "data_reply", "250 2.0.0 Ok")
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), smtp_retries=1, smtp_timeout=2)

    assert smtp.recipients() == ["alice@example.org"]
    assert notified(result) == ["alice@example.org"]


def test_server_closing_at_the_greeting_is_retried_a_bounded_number_of_times(cortex):
    with RawTcpServer("hangup") as server:
        result = cortex(thehive4_case(), smtp_port=server.port, smtp_retries=2)

    assert not result.success
    assert "closed the connection (after 3 attempt(s))" in result.error
    assert server.connections == 3


def test_silent_server_is_given_up_on_after_the_timeout_and_the_retries(cortex):
    with RawTcpServer("mute") as server:
        result = cortex(thehive4_case(), smtp_port=server.port, smtp_timeout=1, smtp_retries=1)

    assert not result.success
    assert "did not answer within 1 s (after 2 attempt(s))" in result.error
    assert server.connections == 2


@pytest.mark.slow
def test_a_server_silent_after_a_message_it_took_is_given_up_on_after_the_timeout_not_the_wait_for_a_message(
    cortex, smtp
):
    """The reply to a message's end is awaited ten minutes; the commands after it, smtp_timeout again."""
    smtp.faults.rcpt_delay_for = {"bob@example.org": 6}
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), smtp_timeout=2, smtp_retries=0)

    assert result.success, result.error
    assert notified(result) == ["alice@example.org"]
    [failed] = result.output["full"]["failed"]
    assert failed["address"] == "bob@example.org" and "did not answer within 2 s" in failed["reason"], failed
    assert [d.rcpt_tos for d in smtp.delivered] == [["alice@example.org"]]


def test_refused_connection_is_retried_until_the_server_is_up(cortex, certificates):
    late = LoopbackSmtp(certificates)
    starting = threading.Timer(0.4, late.controller.start)
    starting.start()
    try:
        result = cortex(thehive4_case(), smtp_port=late.port, smtp_retries=1)
    finally:
        starting.join()
        late.controller.stop()

    assert result.success, result.error
    late.assert_each_got_exactly_one(["alice@example.org"], one_per_message=True)


def test_an_address_longer_before_the_at_than_mail_takes_is_refused_and_the_others_mailed(cortex, smtp):
    long = '"jean baptiste de la fontaine direction des ressources humaines et formation"@example.org'
    result = cortex(thehive4_case("Spam", ["alice@example.org", long]))

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(["alice@example.org"], one_per_message=True)
    [refused] = result.output["full"]["refused"]
    assert refused["value"] == long and "longer than the 64 characters" in refused["reason"]


def test_one_reporters_full_mailbox_fails_them_alone_and_the_others_are_mailed(cortex, smtp):
    smtp.faults.refuse["bob@example.org"] = "552 Mailbox quota exceeded"
    reporters = ["alice@example.org", "bob@example.org", "carol@example.org"]

    result = cortex(thehive4_case("Spam", reporters))

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(["alice@example.org", "carol@example.org"], one_per_message=True)
    [failed] = result.output["full"]["failed"]
    assert failed["address"] == "bob@example.org" and "552 Mailbox quota exceeded" in failed["reason"]


def test_an_allowed_domain_of_one_label_covers_the_domains_under_it(cortex, smtp):
    result = cortex(
        thehive4_case("Spam", ["alice@acme.internal", "bob@example.org"]), allowed_recipient_domains=["internal"]
    )

    assert result.success, result.error
    assert smtp.recipients() == ["alice@acme.internal"]


@pytest.mark.parametrize("entries", [[None], [], [None, ""]], ids=["untouched", "saved_empty", "emptied_entries"])
def test_allowed_domains_left_empty_in_cortex_allow_the_domain_of_from_alone(cortex, smtp, entries):
    """Cortex's form saves an untouched list item as [null], and an entry added and left empty as null. A report filed
    under a forged sender in another domain, an attacker's, is not answered."""
    reporters = ["alice@example.org", "bob@it.example.org", "eve@evil.example", "mallory@example.org.evil.example"]
    result = cortex(thehive4_case("Spam", reporters), allowed_recipient_domains=entries)

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(["alice@example.org", "bob@it.example.org"], one_per_message=True)
    assert result.output["full"]["refused"] == [
        {"value": "eve@evil.example", "reason": OUTSIDE_FROM},
        {"value": "mallory@example.org.evil.example", "reason": OUTSIDE_FROM},
    ]


def test_the_domain_of_from_is_allowed_whatever_its_capitals(cortex, smtp):
    result = cortex(thehive4_case("Spam", ["alice@example.org"]), **{"from": "SOC <soc@Example.ORG>"})

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]


def test_allowed_domains_of_a_star_allow_every_domain(cortex, smtp):
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@corp.example"]), allowed_recipient_domains=["*"])

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(["alice@example.org", "bob@corp.example"], one_per_message=True)


def test_reporters_outside_the_allowed_domains_are_refused_and_reported(cortex, smtp):
    case = thehive4_case("Spam", ["alice@example.org", "mallory@evil.example", "dave@corp.example.org"])
    result = cortex(case, allowed_recipient_domains=["example.org"])

    assert result.success
    assert result.output["full"]["refused"] == [{"value": "mallory@evil.example", "reason": OUTSIDE}]
    smtp.assert_each_got_exactly_one(["alice@example.org", "dave@corp.example.org"], one_per_message=True)


def test_a_reporter_value_not_mailed_is_counted_and_named_in_the_message_beside_those_mailed(cortex, smtp):
    """'Sent to 2 reporter(s)' alone reads as every reporter answered: the analyst reads the message first."""
    case = thehive4_case("Spam", ["alice@example.org", "mallory@evil.example", "dave@corp.example.org"])
    result = cortex(case, allowed_recipient_domains=["example.org"])

    assert result.success, result.error
    assert result.output["full"]["message"] == (
        f"Feedback 'Spam' sent to 2 reporter(s). 1 reporter value(s) not mailed: mallory@evil.example ({OUTSIDE})"
        " (listed under refused)."
    )


def test_addresses_that_differ_by_a_plus_part_are_two_reporters_each_mailed(cortex, smtp):
    """On-premises Exchange, and Postfix without recipient_delimiter, deliver it+security@ to a mailbox of its own: a
    reporter dropped as the same mailbox would never be answered, where two messages to one mailbox only repeat."""
    result = cortex(thehive4_case("Spam", ["it@example.org", "it+security@example.org", "+alerts@example.org"]))

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(
        ["it@example.org", "it+security@example.org", "+alerts@example.org"], one_per_message=True
    )


@pytest.mark.parametrize(
    ("own", "named"),
    [
        ("soc@example.org", "in 'from', which"),
        ("SOC@Example.org", "in 'from', which"),
        ("soc+loop@example.org", "in 'from' (a '+' tag reaches the same mailbox), which"),
        ("desk@example.org", "in reply_to, which"),
        ("relay@example.org", "in smtp_user, which"),
    ],
    ids=["from", "from-in-capitals", "from-with-a-tag", "reply_to", "smtp_user"],
)
def test_the_responders_own_mailboxes_are_never_mailed_so_its_message_cannot_come_back_as_a_report(
    cortex, smtp, own, named
):
    """Where `from` is the reporting mailbox and the acknowledgement runs on every new alert, each message the job sent
    itself would become the next report, without end."""
    smtp.faults.user = "relay@example.org"
    alert = thehive5_alert(None, [own, "alice@example.org"])
    result = cortex(
        alert,
        data_type="thehive:alert",
        manifest=ACKNOWLEDGE_MANIFEST,
        reply_to="SOC desk <desk@example.org>",
        smtp_user="relay@example.org",
    )

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    [refused] = result.output["full"]["refused"]
    assert refused["value"] == own and f"the responder's own mailbox {named}" in refused["reason"]


def test_a_reporter_whose_mailbox_from_names_in_capitals_is_refused_as_the_responders_own(cortex, smtp):
    result = cortex(
        thehive4_case("Spam", ["soc@example.org", "alice@example.org"]), **{"from": "SOC <SOC@Example.org>"}
    )

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    [refused] = result.output["full"]["refused"]
    assert refused["value"] == "soc@example.org" and "the responder's own mailbox in 'from'" in refused["reason"]


def test_a_reporter_whose_mailbox_a_tagged_from_reaches_is_refused_and_told_that_a_tag_reached_it(cortex, smtp):
    result = cortex(
        thehive4_case("Spam", ["soc@example.org", "alice@example.org"]), **{"from": "SOC <soc+fb@example.org>"}
    )

    assert result.success, result.error
    [refused] = result.output["full"]["refused"]
    assert "own mailbox in 'from' (a '+' tag reaches the same mailbox)" in refused["reason"]


def test_tags_that_smuggle_headers_or_recipients_never_reach_smtp(cortex, smtp):
    case = thehive4_case(
        "Spam",
        reporters=(),
        tags=[
            "user_email:alice@example.org\r\nBcc: eve@evil.example",
            "user_email:bob@example.org, eve@evil.example",
            "user_email:Carol <carol@example.org>",
            "user_email:dave@example.org",
        ],
    )
    result = cortex(case)

    assert result.success
    assert len(result.output["full"]["refused"]) == 3
    smtp.assert_each_got_exactly_one(["dave@example.org"], one_per_message=True)
    assert "eve@evil.example" not in smtp.delivered[0].content.decode()


def test_thousands_of_junk_reporter_tags_list_the_first_thousand_refused_and_count_the_rest(cortex, smtp):
    junk = [f"user_email:not-an-address-{n}" for n in range(1_500)]
    result = cortex(thehive4_case("Spam", ["alice@example.org"], tags=junk))

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(["alice@example.org"], one_per_message=True)
    refused = result.output["full"]["refused"]
    assert [r["value"] for r in refused] == [f"not-an-address-{n}" for n in range(1_000)]
    [warning] = result.output["full"]["warnings"]
    assert warning.startswith("1500 reporter values were refused; full.refused lists the first 1000.")


def test_a_thousand_junk_reporter_tags_are_all_listed_with_no_warning_of_others(cortex, smtp):
    junk = [f"user_email:not-an-address-{n}" for n in range(1_000)]
    result = cortex(thehive4_case("Spam", ["alice@example.org"], tags=junk))

    assert result.success, result.error
    assert len(result.output["full"]["refused"]) == 1_000
    assert result.output["full"]["warnings"] == []


def test_a_refused_reporter_value_of_a_hundred_thousand_characters_is_shown_cut(cortex, smtp):
    long = "A" * 100_000
    result = cortex(thehive4_case("Spam", ["alice@example.org"], tags=[f"user_email:{long}@example.org"]))

    assert result.success, result.error
    [refused] = result.output["full"]["refused"]
    assert refused["value"] == "A" * 999 + "…"
    assert len(json.dumps(result.output)) < 10_000


def test_attacker_title_never_breaks_a_header(cortex, smtp):
    title = "Phishing report: Urgent\r\nBcc: eve@evil.example\r\nX-Evil: 1"
    result = cortex(thehive4_case("Spam", title=title), subject="Re: {reported_subject}")

    assert result.success, result.error
    message = smtp.delivered[0].message
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Re: Urgent Bcc: eve@evil[.]example X-Evil: 1"
    smtp.assert_each_got_exactly_one(["alice@example.org"], one_per_message=True)


def test_retries_end_within_the_time_budget_cortex_allows(deliver_within):
    """The shell alone, with a budget of 2.5 s: after one 1-second timeout, a pause and another could not fit."""
    with RawTcpServer("mute") as silent, pytest.raises(DeliveryError) as failure:
        deliver_within(thehive4_case(), 2.5, smtp_port=silent.port, smtp_timeout=1, smtp_retries=10)

    assert silent.connections == 1
    assert "did not answer within 1 s (after 1 attempt(s))" in str(failure.value)


@pytest.mark.slow
def test_cortex_stopping_the_job_midway_still_records_who_was_mailed(cortex, smtp):
    # Cortex's SIGTERM at 2 s, while the server holds bob's message for 5 s: its answer is awaited, then the job stops.
    smtp.faults.stall_after, smtp.faults.stall_for = 1, 5
    case = thehive4_case("Spam", CAMPAIGN)
    first = cortex(case, smtp_timeout=30, stop_after=2)

    assert first.success, first.everything_printed()
    assert notified(first) == ["alice@example.org"]
    assert {f["address"] for f in first.output["full"]["failed"]} == {"bob@example.org", "carol@example.org"}
    assert "Cortex stopped the job" in first.output["full"]["failed"][0]["reason"]
    assert {"feedback_sent:alice@example.org", "feedback_failed:bob@example.org", "mail failed"} <= set(first.tags)

    smtp.faults.stall_after = -1
    cortex(apply_operations(case, first))
    smtp.assert_each_got_exactly_one(CAMPAIGN, one_per_message=True)


def test_cortex_stopping_the_job_before_any_mail_is_an_error_that_tags_nothing(cortex):
    with RawTcpServer("silent") as silent:
        result = cortex(thehive4_case(), smtp_port=silent.port, smtp_timeout=30, stop_after=1.5)

    assert not result.success
    assert "No feedback was sent. Cortex stopped the job (its jobTimeout ran out)" in result.error
    assert "Traceback" not in result.everything_printed()


@pytest.mark.parametrize("unknown", ["quota@example.org", "SendAsDenied@example.org"])
def test_a_reporter_whose_address_holds_a_servers_word_fails_alone(cortex, smtp, unknown):
    """The reply quotes the address back: its words are the server's, not the reporter's address."""
    smtp.faults.refuse = {unknown.lower(): f"550 5.1.1 <{unknown}>: Recipient address rejected: User unknown"}
    result = cortex(thehive4_case("Spam", ["alice@example.org", unknown, "bob@example.org"]))

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(["alice@example.org", "bob@example.org"], one_per_message=True)
    assert [f["address"] for f in result.output["full"]["failed"]] == [unknown]
    assert "User unknown" in result.output["full"]["failed"][0]["reason"]


def test_the_analysts_message_names_ten_unreached_reporters_and_counts_the_others(cortex, smtp):
    refused = [f"user{n:02}@example.org" for n in range(12)]
    smtp.faults.refuse = dict.fromkeys(refused, "550 5.1.1 No such user")
    result = cortex(thehive4_case("Spam", ["alice@example.org", *refused]), smtp_retries=0)

    assert result.success, result.error
    message = result.output["full"]["message"]
    assert "12 could not be reached" in message and "; and 2 more, listed under failed." in message
    assert refused[9] in message and refused[10] not in message
    assert len(result.output["full"]["failed"]) == 12


def test_a_part_before_the_at_of_exactly_64_characters_is_mailed(cortex, smtp):
    longest = "a" * 64 + "@example.org"
    result = cortex(thehive4_case("Spam", [longest]))

    assert result.success, result.error
    assert smtp.recipients() == [longest]


def test_a_partly_failed_job_tells_the_analyst_to_run_again_later_for_a_reporter_the_server_put_off(cortex, smtp):
    smtp.faults.defer_rcpt["bob@example.org"] = 1
    result = cortex(thehive4_case("Spam", CAMPAIGN), smtp_retries=0)

    assert result.success, result.error
    assert result.output["full"]["message"].endswith(" Run the responder again later: it retries only those.")


def test_a_partly_failed_job_asks_the_analyst_to_check_an_address_the_server_refused_before_running_again(cortex, smtp):
    smtp.faults.refuse["bob@example.org"] = "550 5.1.1 <bob@example.org>: User unknown in virtual mailbox table"
    smtp.faults.defer_rcpt["carol@example.org"] = 1
    result = cortex(thehive4_case("Spam", CAMPAIGN), smtp_retries=0)

    assert result.success, result.error
    assert result.output["full"]["message"].endswith(
        " Check the addresses the mail service refused (a typo in a tag, a mailbox that is gone), then run the"
        " responder again: it retries only those."
    )
