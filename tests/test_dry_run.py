"""A dry run checks the whole way to the server: connect, verify TLS, log in, quit, and send nothing.

A preview that passes must mean the real run can log in; a failure is the sentence a real run gives.
"""

from __future__ import annotations

from testkit.cases import thehive4_case
from testkit.smtp_server import USER, free_port
from testkit.token_endpoint import MAILBOX


def assert_dry_run_fails_like_a_real_run(cortex, smtp, says: str, **items):
    dry = cortex(thehive4_case(), dry_run=True, **items)
    real = cortex(thehive4_case(), **items)

    assert not dry.success and not real.success
    assert says in dry.error, dry.error
    assert dry.error in real.error, (dry.error, real.error)
    assert smtp.delivered == []


def test_dry_run_logs_in_and_quits_without_sending(cortex, smtp):
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), dry_run=True)

    assert result.success, result.error
    assert smtp.logins == [(USER, True)]
    assert smtp.delivered == []
    assert [p["to"] for p in result.output["full"]["preview"]] == ["alice@example.org", "bob@example.org"]
    assert result.operations == []


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


def test_dry_run_checks_the_login_when_everyone_was_already_notified(cortex, smtp):
    case = thehive4_case(tags=["feedback_sent:alice@example.org"])
    result = cortex(case, dry_run=True, smtp_password="not-the-password")

    assert not result.success
    assert f"refused the login of '{USER}': 535" in result.error
    assert smtp.delivered == []
