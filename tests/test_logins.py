"""One way in per job: the mechanism chosen once, a long token after the 334, a temporary refusal retried.

Every failed login counts against the account's lockout threshold (Active Directory, Exchange,
Dovecot's auth penalty): a job tries one mechanism, and a refusal is never retried with another.
"""

from __future__ import annotations

from testkit.cases import thehive4_case
from testkit.smtp_faults import USER
from testkit.token_endpoint import LONG_TOKEN, MAILBOX, issue_token

LONG_PASSWORD = "Corr3ct-" + "horse-battery-staple-" * 30


def test_an_oauth2_token_too_long_for_the_auth_line_is_sent_after_the_servers_334(cortex, smtp, entra, oauth):
    issue_token(entra, LONG_TOKEN)
    smtp.xoauth2.tokens[LONG_TOKEN] = MAILBOX
    result = cortex(thehive4_case(), **oauth)

    assert result.success, result.error
    assert smtp.xoauth2_logins == [(MAILBOX, True)]
    assert smtp.recipients() == ["alice@example.org"]
    assert LONG_TOKEN not in result.everything_printed()


def test_a_long_token_google_refuses_after_its_334_challenge_is_a_refused_oauth2_login(cortex, smtp, entra, oauth):
    issue_token(entra, LONG_TOKEN)
    smtp.xoauth2.style = "google"
    result = cortex(thehive4_case(), **oauth)

    assert not result.success
    assert f"refused the OAuth2 login (XOAUTH2) of '{MAILBOX}': 535 5.7.8" in result.error
    assert smtp.xoauth2_logins == [(MAILBOX, False)]
    assert LONG_TOKEN not in result.everything_printed()


def test_a_password_too_long_for_the_auth_line_logs_in_with_plain_after_the_servers_334(cortex, smtp):
    smtp.faults.password = LONG_PASSWORD
    result = cortex(thehive4_case(), smtp_password=LONG_PASSWORD)

    assert result.success, result.error
    assert smtp.mechanisms == ["PLAIN"]
    assert smtp.recipients() == ["alice@example.org"]


def test_a_wrong_password_costs_one_failed_login_although_the_server_offers_plain_and_login(cortex, smtp):
    result = cortex(thehive4_case(), smtp_password="Wr0ng-password")

    assert not result.success
    assert f"refused the login of '{USER}': 535" in result.error
    assert smtp.logins == [(USER, False)]
    assert smtp.mechanisms == ["PLAIN"]


def test_a_server_offering_only_login_gets_login(cortex, smtp):
    smtp.controller.SMTP_kwargs["auth_exclude_mechanism"] = ["PLAIN", "XOAUTH2"]
    result = cortex(thehive4_case())

    assert result.success, result.error
    assert smtp.mechanisms == ["LOGIN"]
    assert smtp.recipients() == ["alice@example.org"]


def test_a_temporary_login_failure_is_tried_again_and_the_mail_goes(cortex, smtp):
    smtp.faults.defer_auth = 1
    result = cortex(thehive4_case(), smtp_retries=1)

    assert result.success, result.error
    assert smtp.logins == [(USER, True), (USER, True)]
    assert smtp.mechanisms == ["PLAIN", "PLAIN"]
    assert smtp.recipients() == ["alice@example.org"]


def test_a_lasting_temporary_login_failure_is_reported_as_temporary_not_as_a_wrong_password(cortex, smtp):
    smtp.faults.defer_auth = 5
    result = cortex(thehive4_case(), smtp_retries=1)

    assert not result.success
    assert "could not check the login for now (454 4.7.0 Temporary authentication failure)" in result.error
    assert "(after 2 attempt(s))" in result.error, result.error
    assert "smtp_password" not in result.error
    assert len(smtp.logins) == 2 and smtp.delivered == []
