"""A dry run checks the whole way to the server and sends nothing.

Over SMTP it opens the session a send opens (connect, verify TLS, log in), then asks MAIL FROM the
sender and RCPT TO each reporter, RSET and QUIT, without DATA. A preview that passes must mean the
real run can log in and the server takes the sender; a failure is the sentence a real run gives,
and each reporter's refusal is worded as the real run words it.
"""

from __future__ import annotations

import time

import pytest

from feedback.settings import read_settings
from feedback.smtp.transport import SmtpTransport
from testkit.cases import thehive4_case
from testkit.cortex import cortex_config
from testkit.ports import free_port
from testkit.smtp_faults import PASSWORD, USER
from testkit.token_endpoint import MAILBOX

REPORTERS = ["alice@example.org", "bob@example.org", "carol@example.org"]
UNKNOWN = "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in virtual mailbox table"


def assert_dry_run_fails_like_a_real_run(cortex, smtp, says: str, **items):
    dry = cortex(thehive4_case(), dry_run=True, **items)
    real = cortex(thehive4_case(), **items)

    assert not dry.success and not real.success
    assert says in dry.error, dry.error
    assert dry.error in real.error, (dry.error, real.error)
    assert smtp.delivered == []
    return dry


def statuses(result) -> dict[str, str]:
    return {checked["address"]: checked["status"] for checked in result.output["full"]["checked"]}


def transactions(said: list[str]) -> list[list[str]]:
    """The recipients the client asked for in each MAIL FROM … RSET of the server's log."""
    found = []
    for command in said:
        if command.startswith("MAIL"):
            found.append([])
        elif command.startswith("RCPT"):
            found[-1].append(command.split(" ", 1)[1])
    return found


def test_dry_run_asks_about_the_sender_and_each_reporter_and_sends_nothing(cortex, smtp):
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), dry_run=True)

    assert result.success, result.error
    assert smtp.logins == [(USER, True)]
    assert smtp.said == ["MAIL soc@example.org", "RCPT alice@example.org", "RCPT bob@example.org", "RSET", "QUIT"]
    assert smtp.delivered == []
    assert statuses(result) == {"alice@example.org": "accepted", "bob@example.org": "accepted"}
    assert "The server would accept 2 of the 2 reporter(s)" in result.output["full"]["message"]
    assert [p["to"] for p in result.output["full"]["preview"]] == ["alice@example.org", "bob@example.org"]
    assert result.operations == []


def test_dry_run_reports_a_refused_reporter_as_the_real_run_words_it(cortex, smtp):
    smtp.faults.refuse = {"bob@example.org": UNKNOWN}
    dry = cortex(thehive4_case("Spam", REPORTERS), dry_run=True)
    real = cortex(thehive4_case("Spam", REPORTERS))

    assert dry.success, dry.error
    assert statuses(dry) == {
        "alice@example.org": "accepted",
        "bob@example.org": "refused",
        "carol@example.org": "accepted",
    }
    refused = [c for c in dry.output["full"]["checked"] if c["status"] == "refused"]
    assert [(c["address"], c["reason"]) for c in refused] == [
        (f["address"], f["reason"]) for f in real.output["full"]["failed"]
    ]
    assert UNKNOWN in dry.output["full"]["message"]
    assert "would accept 2 of the 3 reporter(s)" in dry.output["full"]["message"]
    assert "; refused by the server: bob@example.org" in dry.output["full"]["message"], "not the list named refused"


def test_dry_run_says_a_greylisted_reporter_would_be_tried_again(cortex, smtp):
    smtp.faults.defer_rcpt = {"bob@example.org": 1}
    result = cortex(thehive4_case("Spam", REPORTERS), dry_run=True)

    assert result.success, result.error
    assert statuses(result)["bob@example.org"] == "deferred"
    assert "deferred for now (a real run tries them again): bob@example.org" in result.output["full"]["message"]
    assert "451 4.7.1 Greylisted" in result.output["full"]["message"]


@pytest.mark.parametrize(
    "fault, reply, says",
    [
        ("refuse_rcpt", "553 5.7.1 <{sender}>: Sender address rejected: not owned by user " + USER, "set 'from'"),
        ("refuse_sender", "550 5.7.60 SMTP; Client does not have permissions to send as this sender", "Send As"),
    ],
    ids=["at-rcpt-as-postfix", "at-mail-from-as-exchange"],
)
def test_dry_run_with_a_refused_sender_fails_as_a_real_run_and_points_at_from(cortex, smtp, fault, reply, says):
    setattr(smtp.faults, fault, reply)

    dry = assert_dry_run_fails_like_a_real_run(cortex, smtp, "refused the sender soc@example.org")
    assert says in dry.error


def test_dry_run_of_a_500_reporter_campaign_asks_in_one_session_and_at_most_100_per_transaction(cortex, smtp):
    reporters = [f"reporter{i}@example.org" for i in range(500)]
    result = cortex(thehive4_case("Spam", reporters), dry_run=True)

    assert result.success, result.error
    assert smtp.logins == [(USER, True)]
    assert [len(asked) for asked in transactions(smtp.said)] == [100] * 5
    assert set(statuses(result).values()) == {"accepted"} and len(statuses(result)) == 500
    assert smtp.delivered == []


def test_dry_run_starts_a_new_transaction_when_the_server_takes_fewer_recipients(cortex, smtp):
    smtp.faults.max_recipients = 2
    reporters = [*REPORTERS, "dave@example.org", "erin@example.org"]
    result = cortex(thehive4_case("Spam", reporters), dry_run=True)

    assert result.success, result.error
    assert set(statuses(result).values()) == {"accepted"}
    assert [asked[-1] if len(asked) > 2 else None for asked in transactions(smtp.said)] == [
        "carol@example.org",
        "erin@example.org",
        None,
    ]


def test_dry_run_says_a_reporter_whose_mailbox_is_full_would_be_tried_again_and_asks_the_others(certificates, smtp):
    # 452 to the first RCPT TO of a transaction is about that reporter: only after another was taken does it say the
    # transaction is full.
    smtp.faults.refuse = {"alice@example.org": "452 4.2.2 <alice@example.org>: Mailbox full"}

    check = check_within(smtp, certificates, 6, REPORTERS)

    assert [(c.address, c.status) for c in check.checked] == [
        ("alice@example.org", "deferred"),
        ("bob@example.org", "accepted"),
        ("carol@example.org", "accepted"),
    ]
    assert smtp.said.count("RCPT alice@example.org") == 1


def test_dry_run_goes_on_over_a_new_session_when_the_server_ends_one_for_too_many_errors(cortex, smtp):
    smtp.faults.refuse = {
        a: UNKNOWN.replace("bob@", a.split("@")[0] + "@") for a in ("bob@example.org", "carol@example.org")
    }
    smtp.faults.hard_errors = 2
    result = cortex(thehive4_case("Spam", [*REPORTERS, "dave@example.org", "erin@example.org"]), dry_run=True)

    assert result.success, result.error
    assert statuses(result) == {
        "alice@example.org": "accepted",
        "bob@example.org": "refused",
        "carol@example.org": "refused",
        "dave@example.org": "accepted",
        "erin@example.org": "accepted",
    }
    assert len(smtp.logins) == 2
    assert smtp.said.count("RCPT dave@example.org") == 2


def test_a_dry_run_the_server_leaves_half_way_keeps_the_answers_it_had(cortex, smtp):
    """The server shuts down once it answered about some reporters, and stays down: the dry run reports what it
    learnt of those, and the others as not checked for the server's reply, not that it could open no session."""
    down = "421 4.3.2 Service shutting down, try again later"
    smtp.faults.refuse = {"carol@example.org": down}
    smtp.faults.ehlo = lambda lines, tls: [down] if "RCPT carol@example.org" in smtp.said else lines
    result = cortex(thehive4_case("Spam", REPORTERS), dry_run=True, smtp_retries=1)

    assert result.success, result.error
    assert statuses(result) == {
        "alice@example.org": "accepted",
        "bob@example.org": "accepted",
        "carol@example.org": "not checked",
    }
    message = result.output["full"]["message"]
    assert "would accept 2 of the 3 reporter(s)" in message and "not checked: carol@example.org" in message
    assert down in message
    assert len(smtp.ehlo_names) > 2 and smtp.delivered == []  # sessions were tried again after it went down


def check_within(smtp, certificates, seconds: float, reporters: list[str], **items):
    """The dry run's check in-process, with `seconds` of time budget left: a job's smallest is 48 s."""
    config = cortex_config({"from": "soc@example.org", "smtp_host": smtp.host, "smtp_port": smtp.port, **items})
    settings = read_settings(
        {**config, "smtp_user": USER, "smtp_password": PASSWORD, "cacerts": certificates.ca_pem}, {}
    )
    transport = SmtpTransport(settings.way_out, settings.message.sender_address, time.monotonic() + seconds)
    return transport.check(reporters, settings.limits)


def test_dry_run_stops_asking_when_the_time_budget_runs_out_and_says_who_was_not_checked(certificates, smtp):
    smtp.faults.rcpt_delay = 0.5

    check = check_within(smtp, certificates, 4, [f"reporter{i}@example.org" for i in range(20)])

    statuses = [checked.status for checked in check.checked]
    assert "accepted" in statuses and "not checked" in statuses
    assert statuses == sorted(statuses)  # those asked first, then the rest
    assert "time budget ran out" in check.checked[-1].reason
    assert smtp.said[-2:] == ["RSET", "QUIT"]


def test_dry_run_spaces_its_transactions_at_the_pace_and_leaves_unchecked_those_the_budget_cannot_reach(
    certificates, smtp
):
    reporters = [f"reporter{i}@example.org" for i in range(150)]

    check = check_within(smtp, certificates, 6, reporters, smtp_max_per_minute=10)  # one transaction every 6 s

    assert [c.status for c in check.checked] == ["accepted"] * 100 + ["not checked"] * 50
    assert "time budget ran out" in check.checked[-1].reason
    assert [len(asked) for asked in transactions(smtp.said)] == [100]


def test_dry_run_tries_a_login_the_server_could_not_check_for_now_again_as_a_real_run_does(cortex, smtp):
    smtp.faults.defer_auth = 1
    result = cortex(thehive4_case(), dry_run=True)

    assert result.success, result.error
    assert smtp.logins == [(USER, True), (USER, True)]
    assert statuses(result) == {"alice@example.org": "accepted"}


def test_dry_run_reports_a_template_error_before_a_login_error(cortex, smtp):
    result = cortex(thehive4_case(), dry_run=True, smtp_password="not-the-password", template_spam="Hello {name}")

    assert not result.success
    assert "template_spam uses the unknown placeholder {name}" in result.error
    assert smtp.logins == []


def test_a_dry_run_of_a_case_whose_reporters_were_all_notified_still_reports_a_broken_subject(cortex, smtp):
    """A dry run tried on a case already answered checks the configuration all the same."""
    case = thehive4_case("Spam", tags=["feedback_sent:alice@example.org"])
    result = cortex(case, dry_run=True, subject="About {0}")

    assert not result.success
    assert "subject uses the unknown placeholder {0}" in result.error
    assert smtp.logins == []


@pytest.mark.parametrize(
    ("signature", "says"),
    [
        ("Regards, {name}", "signature uses the unknown placeholder {name}"),
        ("{signature}", "signature uses the unknown placeholder {signature}"),
    ],
)
def test_a_dry_run_of_a_case_whose_reporters_were_all_notified_still_reports_a_broken_signature(
    cortex, smtp, signature, says
):
    """The signature is checked as the settings are read, as the subject is, whether any message is written or not."""
    case = thehive4_case("Spam", tags=["feedback_sent:alice@example.org"])
    result = cortex(case, dry_run=True, signature=signature)

    assert not result.success
    assert says in result.error
    assert smtp.logins == []


def test_dry_run_with_a_wrong_password(cortex, smtp):
    assert_dry_run_fails_like_a_real_run(
        cortex, smtp, f"refused the login of '{USER}': 535", smtp_password="not-the-password"
    )


def test_dry_run_with_a_certificate_it_cannot_verify(cortex, smtp):
    assert_dry_run_fails_like_a_real_run(cortex, smtp, "could not be verified", cacerts=None)


def test_dry_run_with_cacerts_that_is_not_a_certificate(cortex, smtp):
    result = cortex(thehive4_case(), dry_run=True, cacerts="-----BEGIN CERTIFICATE-----\nnot base64\n")

    assert not result.success
    assert "The cacerts setting holds no valid PEM certificate" in result.error


def test_dry_run_with_no_server_listening(cortex, smtp):
    result = cortex(thehive4_case(), dry_run=True, smtp_port=free_port())

    assert not result.success
    assert "refused the connection" in result.error and "smtp_port" in result.error


def test_dry_run_with_oauth2_gets_a_token_and_logs_in_with_it(cortex, smtp, entra, oauth):
    result = cortex(thehive4_case(), dry_run=True, **oauth)

    assert result.success, result.error
    assert len(entra.log) == 1
    assert smtp.xoauth2_logins == [(MAILBOX, True)]
    assert smtp.delivered == []


def test_dry_run_with_a_refused_client_secret(cortex, smtp, entra, oauth):
    assert_dry_run_fails_like_a_real_run(
        cortex, smtp, "AADSTS7000215", **{**oauth, "oauth_client_secret": "Expired~Secret.Value"}
    )


def test_dry_run_over_graph_says_neither_the_sender_nor_the_reporters_could_be_checked(cortex, graph, graph_items):
    result = cortex(thehive4_case("Spam", REPORTERS), **graph_items, dry_run=True)

    assert result.success, result.error
    [unchecked] = result.output["full"]["not_checked"]
    assert "whether it may send as soc@example.org" in unchecked and "each reporter's address" in unchecked
    assert result.output["full"]["checked"] == [] and graph.received == []


def test_dry_run_with_everyone_already_notified_still_says_what_it_could_not_check(cortex, gmail_items, google_oauth):
    result = cortex(thehive4_case(tags=["feedback_sent:alice@example.org"]), dry_run=True, **gmail_items)

    assert result.success, result.error
    assert len(google_oauth.requests) == 1
    assert "daily sending limit" in result.output["full"]["not_checked"][0]
    assert "Not checked: " in result.output["full"]["message"]
    assert "Not checked: the dry run got a token" in result.output["full"]["message"], "no capital mid-sentence"


def test_dry_run_checks_the_login_when_everyone_was_already_notified(cortex, smtp):
    case = thehive4_case(tags=["feedback_sent:alice@example.org"])
    result = cortex(case, dry_run=True, smtp_password="not-the-password")

    assert not result.success
    assert f"refused the login of '{USER}': 535" in result.error
    assert smtp.delivered == []
