"""Microsoft 365's way in: a token from Entra ID's client-credentials grant, then SASL XOAUTH2.

A real HTTPS token endpoint on loopback answers in Entra ID's JSON shapes; the loopback SMTP
server offers XOAUTH2 beside LOGIN and PLAIN, so that a fall-back to a password would be seen.
"""

from __future__ import annotations

import json
import time
from base64 import b64encode
from urllib.parse import quote, quote_plus

import pytest

from feedback.microsoft.token import OAuthError, request_token
from feedback.settings import read_settings
from feedback.trust import trust_context
from testkit.cases import thehive4_case
from testkit.cortex import MANIFEST, cortex_config
from testkit.ports import free_port
from testkit.proxy import ConnectProxy
from testkit.records import notified
from testkit.secret_forms import leaked
from testkit.smtp_faults import PASSWORD
from testkit.smtp_server import LoopbackSmtp
from testkit.token_endpoint import (
    CLIENT_ID,
    CLIENT_SECRET,
    MAILBOX,
    SCOPE,
    TOKEN,
    TOKEN_PATH,
    entra_error,
    issue_short_lived_tokens,
)
from testkit.trickler import Trickler

XOAUTH2_STRING = b64encode(f"user={MAILBOX}\x01auth=Bearer {TOKEN}\x01\x01".encode()).decode()
SECRETS = (TOKEN, CLIENT_SECRET, XOAUTH2_STRING, PASSWORD)


def assert_refused(result, *says):
    assert not result.success, result.raw_output
    assert result.operations == []
    for text in says:
        assert text in result.error, result.error
    for secret in SECRETS:
        assert secret not in result.everything_printed()


def token_requests(entra) -> list[dict]:
    return [dict(request.form) for request, _ in entra.log]


def test_oauth2_job_logs_in_with_xoauth2_using_the_token_entra_issued(cortex, smtp, entra, oauth):
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), **oauth)

    assert result.success, result.error
    assert smtp.xoauth2_logins == [(MAILBOX, True)]
    assert [d.login for d in smtp.delivered] == [MAILBOX, MAILBOX]
    assert token_requests(entra) == [
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "scope": SCOPE}
    ]
    assert entra.log[0][0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    for secret in SECRETS:
        assert secret not in result.everything_printed()


def test_one_token_serves_every_session_of_the_job(cortex, smtp, entra, oauth):
    smtp.faults.drop_data = 1
    result = cortex(thehive4_case("Spam"), **oauth)

    assert result.success, result.error
    assert smtp.xoauth2_logins == [(MAILBOX, True), (MAILBOX, True)]
    assert len(entra.log) == 1


# Five reporters at one a second, three per session: the second session starts about 3 s after the first
# token was issued, once a token of 2.5 s has expired (and is past the 90 % at which it is renewed).
LONG_CAMPAIGN = [f"reporter{i}@example.org" for i in range(5)]


def long_campaign(cortex, smtp, oauth):
    smtp.faults.per_session = 3
    return cortex(thehive4_case("Spam", LONG_CAMPAIGN), **oauth, smtp_max_per_minute=60)


@pytest.mark.slow
def test_a_job_that_outlives_its_token_gets_the_next_one_for_its_next_session(cortex, smtp, entra, oauth):
    issued = issue_short_lived_tokens(entra, smtp.xoauth2, lifetime=2.5)
    result = long_campaign(cortex, smtp, oauth)

    assert result.success, result.error
    assert len(issued) == 2
    assert smtp.xoauth2_logins == [(MAILBOX, True), (MAILBOX, True)]
    assert sorted(smtp.recipients()) == LONG_CAMPAIGN
    assert result.output["full"]["failed"] == []
    for token in issued:
        assert token not in result.everything_printed()


@pytest.mark.slow
def test_a_refused_renewal_keeps_the_record_of_what_was_sent_and_names_the_item(cortex, smtp, entra, oauth):
    issue_short_lived_tokens(entra, smtp.xoauth2, lifetime=2.5, refused_from=2)
    result = long_campaign(cortex, smtp, oauth)

    assert result.success, result.error
    assert notified(result) == LONG_CAMPAIGN[:3]
    failed = result.output["full"]["failed"]
    assert [f["address"] for f in failed] == LONG_CAMPAIGN[3:]
    assert "outlived its OAuth2 token" in failed[0]["reason"]
    assert "AADSTS7000222" in failed[0]["reason"]
    assert "Check oauth_client_secret (it has expired: make a new one)" in failed[0]["reason"]
    assert {"type": "AddTagToCase", "tag": f"feedback_sent:{LONG_CAMPAIGN[0]}"} in result.operations


def test_token_request_goes_through_cortex_proxy(cortex, smtp, entra, oauth, monkeypatch):
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    proxy = ConnectProxy()
    try:
        result = cortex(thehive4_case(), **oauth, proxy_https=proxy.url)
    finally:
        proxy.close()

    assert result.success, result.error
    assert proxy.tunnels == [f"127.0.0.1:{entra.port}"]
    assert smtp.xoauth2_logins == [(MAILBOX, True)]


def test_a_proxy_spoken_to_over_tls_carries_the_token_request_with_its_credentials_encrypted(
    cortex, smtp, entra, oauth, certificates
):
    """urllib, which spares an OAuth2 login loading requests, cannot speak TLS to a proxy: it would send the
    CONNECT and the proxy's login in clear text. An https:// proxy takes the HTTP client's other way."""
    proxy = ConnectProxy(certificates.server_context())
    try:
        result = cortex(thehive4_case(), **oauth, proxy_https=proxy.url.replace("://", "://proxyuser:Pr0xy-Pass@"))
    finally:
        proxy.close()

    assert result.success, result.error
    assert proxy.refused == [] and proxy.tunnels == [f"127.0.0.1:{entra.port}"]
    assert smtp.xoauth2_logins == [(MAILBOX, True)]


def test_refused_client_secret_shows_entra_code_and_names_the_item(cortex, smtp, entra, oauth):
    wrong = "Old~Secret.Value-That-Expired_0"
    result = cortex(thehive4_case(), **{**oauth, "oauth_client_secret": wrong})

    assert_refused(
        result, "refused the token request (HTTP 401, invalid_client: AADSTS7000215: Invalid client secret provided."
    )
    assert "Check oauth_client_secret" in result.error
    assert "Trace ID" not in result.error
    assert wrong not in result.everything_printed()
    assert smtp.xoauth2_logins == [] and smtp.logins == [] and smtp.delivered == []


def test_unknown_client_id_names_it(cortex, smtp, entra, oauth):
    result = cortex(thehive4_case(), **{**oauth, "oauth_client_id": "00000000-0000-0000-0000-000000000000"})

    assert_refused(result, "unauthorized_client: AADSTS700016", "Check oauth_client_id")
    assert smtp.delivered == []


def test_a_token_endpoint_failing_for_now_says_to_run_again_later_not_what_to_check(cortex, smtp, entra, oauth):
    """Entra ID's 503 with AADSTS90033, "A transient error": no item is wrong, and none is named."""
    entra.clear()
    entra.expect_request(TOKEN_PATH, method="POST").respond_with_response(
        entra_error(503, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
    )
    result = cortex(thehive4_case(), **oauth)

    assert_refused(result, "(HTTP 503, temporarily_unavailable: AADSTS90033", "run the responder again in a few")
    assert "Check oauth" not in result.error
    assert smtp.delivered == []


def test_unreachable_token_endpoint(cortex, smtp, oauth):
    url = f"https://127.0.0.1:{free_port()}{TOKEN_PATH}"
    result = cortex(thehive4_case(), **{**oauth, "oauth_token_url": url})

    assert_refused(result, "The OAuth2 token endpoint https://127.0.0.1:", "could not be reached", "oauth_token_url")
    assert smtp.xoauth2_logins == [] and smtp.logins == []


def test_token_endpoint_answering_something_else_than_oauth2_json(cortex, smtp, entra, oauth):
    entra.expect_request("/sign-in", method="POST").respond_with_data("<html>Sign in</html>", content_type="text/html")
    result = cortex(thehive4_case(), **{**oauth, "oauth_token_url": entra.url_for("/sign-in")})

    assert_refused(result, "answered something other than JSON (HTTP 200)", "oauth_token_url")
    assert smtp.delivered == []


def test_a_token_longer_than_any_issuer_gives_is_refused_and_never_sent(cortex, smtp, entra, oauth):
    entra.clear()
    entra.expect_request(TOKEN_PATH).respond_with_json({"token_type": "Bearer", "access_token": "x" * 20_000})
    result = cortex(thehive4_case(), **oauth)

    assert_refused(result, "a token of 20,000 characters, longer than any token Entra ID or Google issues")
    assert smtp.xoauth2_logins == [] and smtp.delivered == []


def test_token_endpoint_certificate_is_verified(cortex, smtp, entra, oauth):
    result = cortex(thehive4_case(), **oauth, cacerts=None)

    assert_refused(result, "The certificate of the OAuth2 token endpoint", "could not be verified", "cacerts")
    assert len(entra.log) == 0


def test_exchange_refusing_the_token_says_what_the_admin_checks(cortex, smtp, entra, oauth):
    smtp.xoauth2.tokens.clear()
    result = cortex(thehive4_case(), **oauth)

    assert_refused(
        result,
        f"refused the OAuth2 login (XOAUTH2) of '{MAILBOX}': 535 5.7.3 Authentication unsuccessful",
        "SMTP.SendAsApp",
        "New-ServicePrincipal",
        "Add-MailboxPermission",
    )
    assert smtp.logins == [], "fell back to a password login"
    assert smtp.delivered == []


def test_smtp_auth_disabled_for_the_mailbox_says_how_to_enable_it(cortex, smtp, entra, oauth):
    smtp.xoauth2.tokens.clear()
    smtp.xoauth2.reply = (
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."
    )
    result = cortex(thehive4_case(), **oauth)

    assert_refused(result, "535 5.7.139 Authentication unsuccessful", "SmtpClientAuthenticationDisabled $false")


def test_exchange_not_counting_the_login_at_mail_from_says_what_the_admin_checks(cortex, smtp, entra, oauth):
    smtp.faults.refuse_sender = "530 5.7.57 Client not authenticated to send mail. [AM0PR10CA0001.outlook.com]"
    result = cortex(thehive4_case(), **oauth)

    assert_refused(result, "530 5.7.57 Client not authenticated", "SMTP AUTH is enabled", "SMTP.SendAsApp")
    assert smtp.delivered == []


def test_google_style_challenge_gets_its_empty_line_and_the_final_refusal_is_shown(cortex, smtp, entra, oauth):
    smtp.xoauth2.tokens.clear()
    smtp.xoauth2.style = "google"
    result = cortex(thehive4_case(), **oauth)

    assert_refused(result, "535 5.7.8 Username and Password not accepted")
    assert smtp.xoauth2_logins == [(MAILBOX, False)]
    assert smtp.logins == [] and smtp.delivered == []


def test_refusal_that_quotes_the_xoauth2_string_leaks_neither_it_nor_the_token(cortex, smtp, entra, oauth):
    smtp.xoauth2.tokens.clear()
    smtp.xoauth2.echo = True
    result = cortex(thehive4_case(), **oauth)

    assert_refused(result, "535 5.7.3 Authentication unsuccessful")


@pytest.mark.parametrize(
    "encoded",
    [
        lambda secret: quote(secret, safe=""),
        lambda secret: quote_plus(secret, safe="*").replace("~", "%7E"),
        lambda secret: quote_plus(secret, safe="!*()").replace("~", "%7E"),
        lambda secret: quote(secret, safe="!~*'()"),
    ],
    ids=["rfc3986", "java-urlencoder", "dotnet-webutility", "javascript-encodeuricomponent"],
)
def test_a_token_endpoint_quoting_the_client_secret_url_encoded_shows_none_of_it(cortex, smtp, entra, oauth, encoded):
    """Each encoder escapes its own set of a secret's characters ('~', '*', "!'()", a space): each one's form is
    blotted out whole, not only the pieces between its escapes."""
    secret = "P@ss w*rd!it's(~)"  # shorter than the pieces found alone (23): each form is found whole or not at all

    def refusal(request):
        said = f"AADSTS7000215: Invalid client secret provided: {encoded(request.form['client_secret'])}."
        return entra_error(401, "invalid_client", 7000215, said)

    entra.clear()
    entra.expect_request(TOKEN_PATH, method="POST").respond_with_handler(refusal)
    result = cortex(thehive4_case(), **{**oauth, "oauth_client_secret": secret})

    assert_refused(result, "AADSTS7000215: Invalid client secret provided: ********.")
    assert leaked(result.everything_printed(), secret, MAILBOX) == []


def test_server_without_xoauth2_is_not_given_the_password(cortex, certificates, entra, oauth):
    with LoopbackSmtp(certificates, xoauth2=False) as server:
        result = cortex(thehive4_case(), **{**oauth, "smtp_port": server.port, "smtp_password": PASSWORD})

    assert_refused(result, "does not offer XOAUTH2 (it offers LOGIN, PLAIN)", "never falls back to a password")
    assert server.logins == [] and server.delivered == []


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("oauth_token_url", "oauth_token_url"),
        ("oauth_client_id", "oauth_client_id"),
        ("oauth_client_secret", "oauth_client_certificate (or oauth_client_secret)"),
        ("smtp_user", "smtp_user"),
    ],
)
def test_oauth2_with_an_item_missing_names_it_and_never_falls_back(cortex, smtp, entra, oauth, item, named):
    result = cortex(thehive4_case(), **{**oauth, item: None, "smtp_password": PASSWORD})

    assert_refused(result, f"smtp_auth is 'oauth2' but {named} is empty", "never falls back")
    assert entra.log == [] and smtp.logins == [] and smtp.delivered == []


def test_token_url_must_be_https(cortex, smtp, oauth):
    result = cortex(thehive4_case(), **{**oauth, "oauth_token_url": "http://login.example.org/t/oauth2/v2.0/token"})

    assert_refused(result, "oauth_token_url must be an https URL")


def test_smtp_auth_none_sends_without_a_login_even_with_smtp_user_set(cortex, certificates):
    with LoopbackSmtp(certificates, tls="none", auth=False) as relay:
        result = cortex(thehive4_case(), smtp_port=relay.port, smtp_security="none", smtp_auth="none")

    assert result.success, result.error
    assert relay.recipients() == ["alice@example.org"]
    assert relay.logins == [] and relay.delivered[0].login is None


def test_token_endpoint_that_trickles_its_answer_is_cut_at_the_deadline(certificates, oauth):
    """In-process, as the session's deadline test: Cortex's smallest jobTimeout is a minute."""
    server = Trickler(b"HTTP/1.1 200 OK\r\n", pace=0.5, lasting=15, tls=certificates.server_context())
    url = f"https://127.0.0.1:{server.port}{TOKEN_PATH}"
    config = cortex_config({"from": "soc@example.org", **oauth, "oauth_token_url": url})
    smtp = read_settings(config, {}).way_out
    started = time.monotonic()
    try:
        with pytest.raises(OAuthError) as cut:
            request_token(smtp.oauth, trust_context(certificates.ca_pem), deadline=started + 2, timeout=1)
    finally:
        server.close()

    assert time.monotonic() - started < 5
    assert "could not be reached (the job's time budget ran out)" in str(cut.value)


def test_manifest_offers_the_oauth2_items_after_the_password_with_the_secret_hidden_by_cortexutils():
    items = [item for item in json.loads(MANIFEST.read_text(encoding="utf-8"))["configurationItems"]]
    names = [item["name"] for item in items]
    start = names.index("smtp_password") + 1
    assert names[start : start + 6] == [
        "smtp_auth",
        "oauth_token_url",
        "oauth_client_id",
        "oauth_client_certificate",
        "oauth_client_secret",
        "oauth_scope",
    ]
    oauth = {item["name"]: item for item in items[start : start + 6]}
    assert oauth["smtp_auth"]["defaultValue"] == "password" and oauth["oauth_scope"]["defaultValue"] == SCOPE
    assert not any(item["required"] for item in oauth.values())
    assert oauth["oauth_client_certificate"]["type"] == "text"  # the PEM's lines, pasted as they are
    assert all(item["type"] == "string" for name, item in oauth.items() if name != "oauth_client_certificate")
