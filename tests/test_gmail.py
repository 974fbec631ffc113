"""Delivery through the Gmail API: a service account's token (domain-wide delegation), then messages.send.

The transport runs against real HTTPS servers on loopback answering as Google's token endpoint and
the Gmail API do (testkit/google_oauth.py, testkit/gmail_api.py): the endpoint verifies the JWT's signature with the
account's public key, the API takes only the tokens it issued. The end-to-end tests at the end run
the job as Cortex does; they need the `delivery` item wired to this transport. What every HTTP way out
promises (a retry over a new connection, an answer cut short, a proxy's page, a redirect) is tested for the Gmail
API in tests/test_http_ways_out.py.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from feedback.google.gmail import GmailTransport
from feedback.google.settings import GmailSettings
from feedback.google.token import SCOPE, read_key
from feedback.items import ConfigError
from feedback.pacing import Limits
from feedback.reach import Reach
from feedback.redaction import scrub
from feedback.tokens import OAuthError
from feedback.way_out import ACCEPTED, RECONNECT, REFUSED, STOP, UNSURE, Permanent, Trouble
from testkit import keys
from testkit.cases import thehive4_case
from testkit.cortex import finish_job, package_version, start_job, write_job
from testkit.gmail_api import GmailApi, daily_limit, google_error, invalid_to, rate_limited
from testkit.google_oauth import CLIENT_EMAIL, CLIENT_ID, MAILBOX, oauth_error
from testkit.http_faults import stalled
from testkit.https_server import Reply
from testkit.proxy import ConnectProxy
from testkit.records import notified, told, untimed
from testkit.secret_forms import leaked

ALICE, BOB = "alice@example.org", "bob@example.org"
LIMITS = Limits(retries=1, max_per_minute=0)


def message(recipient: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"SOC <{MAILBOX}>"
    mail["To"] = recipient
    mail["Subject"] = "Your report: Invoice overdue"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content("The message you reported was spam.\n")
    mail.add_alternative("<p>The message you reported was <b>spam</b>.</p>", subtype="html")
    return mail


@pytest.fixture
def make_transport(google_oauth, gmail_api, certificates):
    """The Gmail transport as a job builds it; keyword arguments change its inputs."""

    def build(**changes) -> GmailTransport:
        inputs = {
            "service_account": json.dumps(google_oauth.key()),
            "mailbox": MAILBOX,
            "gmail_url": gmail_api.url,
            "proxies": {},
            "cacerts": certificates.ca_pem,
            "timeout": 5,
            "deadline": time.monotonic() + 60,
            **changes,
        }
        reach = Reach(inputs["cacerts"], inputs["proxies"], inputs["timeout"])
        settings = GmailSettings(read_key(inputs["service_account"]), inputs["gmail_url"], reach)
        return GmailTransport(settings, inputs["mailbox"], inputs["deadline"])

    return build


def send_all(transport: GmailTransport, *recipients: str) -> list:
    with transport.channel() as channel:
        return [channel.send(message(recipient), recipient) for recipient in recipients]


def test_an_accepted_message_is_in_gmail_with_its_mime_unchanged(make_transport, gmail_api):
    mail = message(ALICE)
    with make_transport().channel() as channel:
        answer = channel.send(mail, ALICE)

    assert answer.kind == ACCEPTED
    [sent] = gmail_api.sent
    assert sent.user == MAILBOX
    assert sent.recipients == [ALICE]
    assert sent.raw == mail.as_bytes()
    assert sent.message.get_body(("html",)).get_content().startswith("<p>The message you reported")


def test_the_assertion_is_signed_and_asks_for_gmail_send_alone_as_the_from_mailbox(make_transport, google_oauth):
    send_all(make_transport(), ALICE)

    [claims] = google_oauth.claims  # the endpoint verified the RS256 signature with the account's public key
    assert claims["iss"] == CLIENT_EMAIL
    assert claims["sub"] == MAILBOX
    assert claims["scope"] == SCOPE == "https://www.googleapis.com/auth/gmail.send"
    assert claims["aud"] == google_oauth.url
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert google_oauth.requests[0].form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


def test_one_token_and_one_connection_carry_every_message_of_a_job(make_transport, google_oauth, gmail_api):
    transport = make_transport()
    recipients = [f"reporter{i}@example.org" for i in range(6)]
    answers = send_all(transport, *recipients[:3]) + send_all(transport, *recipients[3:])

    assert [a.kind for a in answers] == [ACCEPTED] * 6
    assert gmail_api.recipients() == recipients
    assert len(google_oauth.requests) == 1
    assert len({sent.connection for sent in gmail_api.sent[:3]}) == 1


def test_a_job_that_outlives_its_token_gets_the_next_one(make_transport, google_oauth, gmail_api):
    google_oauth.lifetime = 1
    transport = make_transport()
    with transport.channel() as channel:
        first = channel.send(message(ALICE), ALICE)
        time.sleep(1.2)
        second = channel.send(message(BOB), BOB)

    assert (first.kind, second.kind) == (ACCEPTED, ACCEPTED)
    assert len(google_oauth.requests) == 2
    assert gmail_api.recipients() == [ALICE, BOB]


def test_a_renewal_google_fails_for_now_is_trouble_the_policy_tries_again(make_transport, google_oauth, gmail_api):
    google_oauth.lifetime = 1
    transport = make_transport()
    with transport.channel() as channel:
        first = channel.send(message(ALICE), ALICE)
    time.sleep(1.2)
    google_oauth.refusal = oauth_error(503, "backendError", "Backend Error")
    with pytest.raises(Trouble) as passing, transport.channel() as channel:
        channel.send(message(BOB), BOB)
    google_oauth.refusal = None
    with transport.channel() as channel:
        second = channel.send(message(BOB), BOB)

    assert "asking for the next one failed" in str(passing.value) and "HTTP 503" in str(passing.value)
    assert (first.kind, second.kind) == (ACCEPTED, ACCEPTED)
    assert gmail_api.recipients() == [ALICE, BOB]


def test_too_many_requests_asks_the_policy_to_wait_what_retry_after_says(make_transport, gmail_api):
    gmail_api.script.append(rate_limited(retry_after="7"))
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == RECONNECT
    assert answer.after == 7
    assert "429 rateLimitExceeded: User-rate limit exceeded" in answer.reason
    assert gmail_api.sent == []


def test_a_retry_time_given_only_in_words_is_the_wait(make_transport, gmail_api):
    gmail_api.script.append(rate_limited())
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == RECONNECT
    assert answer.after is not None and 0 <= answer.after <= 2


def test_user_rate_limit_403_is_a_wait_not_a_refusal(make_transport, gmail_api):
    gmail_api.script.append(
        google_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded", "PERMISSION_DENIED", "usageLimits")
    )
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == RECONNECT
    assert answer.after is None


def test_the_daily_sending_limit_stops_the_job_as_a_quota(make_transport, gmail_api):
    gmail_api.faults.daily_limit_after = 1
    answers = send_all(make_transport(), ALICE, BOB)

    assert [a.kind for a in answers] == [ACCEPTED, STOP]
    assert f"{MAILBOX} reached a sending limit (HTTP 429 rateLimitExceeded: User-rate limit" in answers[1].reason
    assert "(Mail sending)" in answers[1].reason and "UTC, when Google takes more" in answers[1].reason
    assert "mails only those not reached" in answers[1].reason and "2,000 messages a day" in answers[1].reason


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (daily_limit(), "HTTP 403 dailyLimitExceeded: Daily user sending limit exceeded."),
        (
            google_error(403, "quotaExceeded", "Daily user sending quota exceeded.", "RESOURCE_EXHAUSTED"),
            "HTTP 403 quotaExceeded: Daily user sending quota exceeded.",
        ),
    ],
    ids=["daily_limit", "sending_quota_in_words"],
)
def test_the_projects_daily_limit_stops_the_job_as_a_quota(make_transport, gmail_api, reply, said):
    gmail_api.script.append(reply)
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert f"sending limit ({said})" in answer.reason and "mails only those not reached" in answer.reason


def test_a_wait_past_the_time_budget_stops_the_job_rather_than_wait(make_transport, gmail_api):
    """Two minutes asked of a job with one left: past its budget, on a machine up for hours as on one just started."""
    gmail_api.script.append(rate_limited(retry_after="120"))
    [answer] = send_all(make_transport(deadline=time.monotonic() + 60), ALICE)

    assert answer.kind == STOP
    assert "nothing more went out in this job" in answer.reason


@pytest.mark.parametrize(
    "reply",
    [
        google_error(500, "backendError", "Backend Error", "INTERNAL"),
        google_error(408, "requestTimeout", "The request timed out.", "DEADLINE_EXCEEDED"),
    ],
    ids=["500", "408"],
)
def test_a_gmail_api_failing_for_now_is_asked_again_over_a_new_connection(make_transport, gmail_api, reply):
    """Google's own trouble (a 5xx from 500 on, a request timeout) passes: the message is sent again."""
    gmail_api.script.append(reply)
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == RECONNECT, answer.reason
    assert f"HTTP {reply.status}" in answer.reason
    assert gmail_api.sent == []


def test_an_invalid_recipient_fails_only_that_reporter(make_transport, gmail_api):
    gmail_api.faults.refuse[ALICE] = invalid_to()
    answers = send_all(make_transport(), ALICE, BOB)

    assert [a.kind for a in answers] == [REFUSED, ACCEPTED]
    assert f"refused the message to {ALICE}: HTTP 400 invalidArgument: Invalid To header" in answers[0].reason
    assert gmail_api.recipients() == [BOB]


def test_a_mailbox_without_gmail_stops_the_job(make_transport, gmail_api):
    gmail_api.script.append(google_error(400, "failedPrecondition", "Mail service not enabled", "FAILED_PRECONDITION"))
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert "Mail service not enabled" in answer.reason and "turns Gmail on" in answer.reason


def test_a_project_without_the_gmail_api_stops_the_job_and_says_to_enable_it(make_transport, gmail_api):
    gmail_api.script.append(
        google_error(
            403,
            "accessNotConfigured",
            "Gmail API has not been used in project 431207 before or it is disabled.",
            "PERMISSION_DENIED",
            "usageLimits",
        )
    )
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert "Enable the Gmail API" in answer.reason


def test_a_refusal_without_a_reason_is_named_by_googles_status(make_transport, gmail_api):
    """Google's newer error shape has no errors list: its status still tells the analyst what was refused, and a 401
    is the job's token, whatever the shape."""
    unauthenticated = {
        "code": 401,
        "message": "Request had invalid authentication credentials.",
        "status": "UNAUTHENTICATED",
    }
    gmail_api.script.append(Reply.json(401, {"error": unauthenticated}))
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert "(HTTP 401 UNAUTHENTICATED: Request had invalid authentication credentials.)" in answer.reason
    assert "Google refused the job's own token: check gmail_service_account" in answer.reason


def test_a_token_without_gmail_send_stops_the_job_and_names_the_scope(make_transport, gmail_api):
    gmail_api.script.append(
        google_error(
            403, "insufficientPermissions", "Request had insufficient authentication scopes.", "PERMISSION_DENIED"
        )
    )
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert SCOPE in answer.reason and CLIENT_ID in answer.reason


def test_an_answer_too_deep_or_too_long_is_read_as_no_json(make_transport, gmail_api):
    gmail_api.script += [
        Reply(403, b"[" * 200_000, {"Content-Type": "application/json"}),
        Reply(400, b" " * 10_000_000, {"Content-Type": "application/json"}),
    ]
    deep, long = send_all(make_transport(), ALICE, BOB)

    assert deep.kind == STOP and f"send as {MAILBOX} (HTTP 403)" in deep.reason
    assert long.kind == REFUSED and long.reason.endswith(f"to {BOB}: HTTP 400")


def test_missing_delegation_is_a_clear_error_and_no_message_is_sent(make_transport, google_oauth, gmail_api):
    google_oauth.delegated = set()
    with pytest.raises(Permanent) as refused:
        send_all(make_transport(), ALICE)

    error = str(refused.value)
    assert "unauthorized_client: Client is unauthorized to retrieve access tokens" in error
    assert "API controls → Domain-wide delegation" in error and f"client ID {CLIENT_ID}" in error
    assert f"scope {SCOPE} alone" in error and "up to 24 hours" in error
    assert gmail_api.requests == []


def test_a_from_address_google_does_not_know_is_named(make_transport, google_oauth):
    with pytest.raises(Permanent, match="Invalid email or User ID.*Google knows no user nobody@example.org"):
        send_all(make_transport(mailbox="nobody@example.org"), ALICE)


def test_a_cortex_host_whose_clock_is_off_is_told_so(make_transport, google_oauth):
    google_oauth.skew = 2 * 3600
    with pytest.raises(Permanent, match="Check your iat and exp.*Cortex host's clock is off"):
        send_all(make_transport(), ALICE)


def test_a_key_google_no_longer_has_says_to_make_a_new_one(make_transport, google_oauth):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = {**google_oauth.key(), "private_key": other.decode()}
    with pytest.raises(Permanent, match="Invalid JWT Signature.*make a new JSON key"):
        send_all(make_transport(service_account=json.dumps(key)), ALICE)


@pytest.mark.parametrize("lifetime", [86400, True], ids=["a_day", "not_a_number"])
def test_a_token_lifetime_google_cannot_mean_is_read_as_the_hour(make_transport, google_oauth, lifetime):
    """No Google token lives past an hour (its assertion cannot ask for more): a job still sending then asks for the
    next one in time, whatever the endpoint said; and a lifetime that is no number asks for no token every second."""
    google_oauth.lifetime = lifetime
    transport = make_transport()
    asked = time.monotonic()
    send_all(transport, ALICE)

    assert asked + 3000 < transport.token.renew_at <= asked + 3600 * 0.9 + 5


def test_a_token_endpoint_that_trickles_its_answer_past_the_time_budget_says_the_budget_ran_out(
    make_transport, google_oauth, gmail_api
):
    """The analyst is told the job ran out of time while asking for its token, not that Google failed."""
    token = json.dumps({"access_token": "ya29." + "x" * 200, "expires_in": 3599}).encode()
    google_oauth.refusal = Reply(200, token, {"Content-Type": "application/json"}, pace=0.05)
    transport = make_transport(deadline=time.monotonic() + 2)
    started = time.monotonic()
    with pytest.raises(OAuthError) as spent, transport.channel():
        pass

    assert time.monotonic() - started < 6
    assert "time budget ran out while asking Google's token endpoint for a token" in str(spent.value)
    assert gmail_api.requests == []


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----", "not a JSON object"),
        ('{"installed": {"client_id": "1.apps.googleusercontent.com"}}', "no client_email and no private_key"),
        ('{"type": "authorized_user", "client_id": "1", "refresh_token": "x"}', "of type 'authorized_user'"),
        ('{"client_email": "a@b.iam.gserviceaccount.com", "private_key": "MIIEvQ"}', "no private key in PEM"),
        ("[" * 100_000, "not a JSON object"),
        ("[" * 60_000, "not a JSON object"),
    ],
)
def test_a_malformed_key_is_a_configuration_error_naming_the_item(make_transport, key, says):
    with pytest.raises(ConfigError) as wrong:
        send_all(make_transport(service_account=key), ALICE)

    assert says in str(wrong.value)
    assert "gmail_service_account" in str(wrong.value) and "Keys → Add key → JSON" in str(wrong.value)


def test_a_token_uri_in_plain_http_is_refused_before_anything_is_signed(make_transport, google_oauth):
    key = {**google_oauth.key(), "token_uri": google_oauth.url.replace("https:", "http:")}
    with pytest.raises(ConfigError, match="token_uri in gmail_service_account must be an https URL"):
        make_transport(service_account=json.dumps(key))


def test_a_redirect_from_the_token_endpoint_is_not_followed(make_transport, google_oauth, gmail_api):
    google_oauth.refusal = Reply(307, headers={"Location": "http://127.0.0.1:9/token"})
    with pytest.raises(
        Permanent,
        match=r"answered with a redirect \(HTTP 307\) to http://127.0.0.1, which is never followed",
    ):
        send_all(make_transport(), ALICE)

    assert gmail_api.requests == []


def test_token_and_messages_go_through_cortex_proxy(make_transport, google_oauth, gmail_api):
    proxy = ConnectProxy()
    try:
        [answer] = send_all(make_transport(proxies={"https": proxy.url}), ALICE)
    finally:
        proxy.close()

    assert answer.kind == ACCEPTED
    assert proxy.tunnels == [f"127.0.0.1:{google_oauth.server.port}", f"127.0.0.1:{gmail_api.server.port}"]


def test_an_untrusted_certificate_stops_before_any_request_carries_the_assertion(
    make_transport, google_oauth, gmail_api
):
    with pytest.raises(Permanent, match="certificate of Google's token endpoint .* could not be verified.*cacerts"):
        send_all(make_transport(cacerts=None), ALICE)

    assert google_oauth.requests == [] and gmail_api.requests == []


def test_an_untrusted_gmail_certificate_stops_before_the_token_is_sent(
    make_transport, google_oauth, gmail_api, certificates
):
    impostor_certificates = type(certificates)()
    impostor = GmailApi(impostor_certificates, google_oauth)
    with impostor.server, pytest.raises(Permanent, match="certificate of the Gmail API at .* could not be verified"):
        send_all(make_transport(gmail_url=impostor.url), ALICE)

    assert len(google_oauth.requests) == 1
    assert impostor.requests == []


def test_the_time_budget_cuts_a_gmail_api_that_trickles_its_answer_and_the_message_may_have_gone(
    make_transport, gmail_api
):
    gmail_api.script.append(Reply(200, b"{}" * 100, pace=0.2))
    transport = make_transport(deadline=time.monotonic() + 2, timeout=5)
    [answer] = send_all(transport, ALICE)

    assert answer.kind == UNSURE
    assert "had the whole message but the job's time budget ran out before it answered" in answer.reason


def test_no_form_of_the_assertion_or_token_is_in_a_refusal_that_quotes_them(make_transport, google_oauth, gmail_api):
    google_oauth.refusal = None
    transport = make_transport()
    with transport.channel() as channel:
        token = transport.token.value
        gmail_api.script.append(
            google_error(403, "forbidden", f"Bearer {token} may not send; you sent {token.upper()} {token}", "DENIED")
        )
        answer = channel.send(message(ALICE), ALICE)
    assertion = google_oauth.requests[0].form["assertion"]
    google_oauth.refusal = oauth_error(400, "invalid_grant", f"Bad assertion {assertion}")
    transport.token = None
    with pytest.raises(Permanent) as refused:
        send_all(transport, ALICE)

    assert answer.kind == STOP
    for secret, text in ((token, answer.reason), (assertion, str(refused.value))):
        assert leaked(text, secret, MAILBOX) == []


def test_every_form_of_the_private_key_is_kept_out_of_output(make_transport, google_oauth):
    key_json = json.dumps(google_oauth.key())
    make_transport(service_account=key_json)
    pem = google_oauth.key()["private_key"]
    body_line = pem.splitlines()[5]

    for form in (pem, json.dumps(pem)[1:-1], " ".join(pem.split()), "".join(pem.split()), body_line):
        assert scrub(f"echo: {form.strip()} :end") == "echo: ******** :end"
    # The whole key echoed: its private key goes, what an analyst needs to read (the account, the client ID) stays.
    echoed = scrub(f"echo: {key_json} :end")
    assert leaked(echoed, pem, MAILBOX) == [] and CLIENT_ID in echoed


def test_the_dry_run_gets_a_token_sends_nothing_and_says_what_it_could_not_check(
    make_transport, google_oauth, gmail_api
):
    [unchecked] = make_transport().check([ALICE], LIMITS).unchecked

    assert len(google_oauth.requests) == 1
    assert gmail_api.requests == []
    assert "daily sending limit" in unchecked and "sent nothing" in unchecked


def test_a_failed_job_echoes_no_part_of_the_service_account_key(cortex, gmail_items):
    result = cortex(thehive4_case(), tlp=3, **gmail_items)

    assert not result.success
    assert result.output["input"]["config"]["gmail_service_account"] == "REMOVED"
    pem = json.loads(gmail_items["gmail_service_account"])["private_key"]
    assert all(line not in result.everything_printed() for line in pem.splitlines()[1:-1])


def test_a_201_with_the_sent_messages_id_is_accepted(make_transport, gmail_api):
    gmail_api.script.append(Reply.json(201, {"id": "18c2a3b4d5e6f709", "threadId": "18c2a3b4d5e6f709"}))
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == ACCEPTED


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Reply(204), "HTTP 204"),
        (Reply.json(200, {"kind": "something else"}), "HTTP 200, application/json"),
    ],
    ids=["no_content", "json_without_id"],
)
def test_a_2xx_that_is_not_the_gmail_apis_answer_is_not_counted_as_sent(make_transport, gmail_api, reply, said):
    gmail_api.script.append(reply)
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert answer.reason.startswith(f"The Gmail API at {gmail_api.url} answered {said}")
    assert "which is not its answer to a message (the sent message's id in JSON)" in answer.reason


def rate_limited_with(message: str, **headers: str) -> Reply:
    return google_error(429, "rateLimitExceeded", message, "RESOURCE_EXHAUSTED", "usageLimits", **headers)


def test_an_unreadable_retry_after_is_the_back_off_not_a_failure(make_transport, gmail_api):
    gmail_api.script.append(rate_limited_with("User-rate limit exceeded.", **{"Retry-After": "²"}))
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == RECONNECT and answer.after is None


def test_a_retry_after_of_400_digits_is_a_wait_past_the_job_and_stops_it_as_a_quota(make_transport, gmail_api):
    gmail_api.script.append(rate_limited_with("User-rate limit exceeded.", **{"Retry-After": "9" * 400}))
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert "reached a sending limit" in answer.reason and "UTC, when Google takes more" in answer.reason


def test_a_retry_time_without_a_zone_is_read_as_utc(make_transport, gmail_api, monkeypatch):
    """UTC as HTTP's dates are, whatever the Cortex host's own time zone (nine hours ahead here)."""
    soon = (datetime.now(timezone.utc) + timedelta(seconds=30)).replace(tzinfo=None)
    gmail_api.script += [
        rate_limited_with("User-rate limit exceeded.", **{"Retry-After": format_datetime(soon)}),  # "… -0000"
        rate_limited_with(f"User-rate limit exceeded.  Retry after {soon.isoformat()}"),
    ]
    transport = make_transport()
    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    try:
        waits = [send_all(transport, ALICE)[0], send_all(transport, ALICE)[0]]
    finally:
        monkeypatch.undo()
        time.tzset()

    assert [a.kind for a in waits] == [RECONNECT, RECONNECT]
    assert all(20 < a.after <= 30 for a in waits), waits


def test_a_refusal_cut_in_the_middle_of_the_token_keeps_no_piece_of_it(make_transport, gmail_api):
    transport = make_transport()
    with transport.channel() as channel:
        token = transport.token.value
        gmail_api.script.append(google_error(403, "forbidden", "y " * 145 + token, "PERMISSION_DENIED"))
        answer = channel.send(message(ALICE), ALICE)

    assert answer.kind == STOP and "y y y" in answer.reason
    assert token[:8] not in answer.reason


def test_a_token_refusal_cut_in_the_middle_of_the_assertion_keeps_no_piece_of_it(make_transport, google_oauth):
    transport = make_transport()
    send_all(transport, ALICE)
    assertion = google_oauth.requests[0].form["assertion"]
    google_oauth.refusal = oauth_error(400, "invalid_grant", "y " * 145 + assertion)
    transport.token = None
    with pytest.raises(Permanent) as refused:
        send_all(transport, ALICE)

    assert "y y y" in str(refused.value)
    assert assertion[:10] not in str(refused.value)


# End to end, as Cortex runs the job with `delivery` set to gmail.


def test_a_gmail_job_mails_each_reporter_once_and_records_them(cortex, smtp, gmail_items, gmail_api, google_oauth):
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **gmail_items)

    assert result.success, result.error
    assert sorted(gmail_api.recipients()) == [ALICE, BOB]
    assert all(len(sent.recipients) == 1 for sent in gmail_api.sent)
    message = gmail_api.sent[0].message
    assert message.get_body(("plain",)) and message.get_body(("html",))
    assert message["X-Auto-Response-Suppress"] == "All"
    assert set(untimed(result)) == {*told("Spam", ALICE, BOB), "mail sent"}
    assert len(google_oauth.requests) == 1 and len(gmail_api.connections()) == 1
    assert smtp.delivered == []


@pytest.mark.slow
def test_a_500_reporter_campaign_goes_over_one_connection_with_one_token(cortex, gmail_items, gmail_api, google_oauth):
    campaign = [f"reporter{i:03}@example.org" for i in range(500)]
    result = cortex(thehive4_case("Phishing", campaign), **gmail_items)

    assert result.success, result.error
    assert sorted(gmail_api.recipients()) == campaign
    assert len(google_oauth.requests) == 1 and len(gmail_api.connections()) == 1
    assert result.output["full"]["failed"] == []


def test_a_gmail_job_killed_while_google_holds_a_message_says_to_look_in_the_mailboxs_sent_folder(
    tmp_path, job_config, gmail_items, gmail_api
):
    gmail_api.script.append(stalled(30))
    job = write_job(tmp_path, thehive4_case("Spam", [ALICE]), job_config(**gmail_items))
    process = start_job(job)
    deadline = time.monotonic() + 30
    while not any(request.path.endswith("/messages/send") for request in gmail_api.requests):
        assert time.monotonic() < deadline, "the job sent nothing"
        time.sleep(0.05)
    process.kill()
    result = finish_job(process, job)

    assert not result.success
    assert f"Look in the Sent folder of {MAILBOX} before running the responder again." in result.error
    assert "SMTP" not in result.error


def test_a_gmail_job_keeps_the_key_and_token_out_of_its_report(cortex, gmail_items, gmail_api, google_oauth):
    result = cortex(thehive4_case("Spam", [ALICE]), **gmail_items)

    assert result.success, result.error
    pem = json.loads(gmail_items["gmail_service_account"])["private_key"]
    token = next(iter(google_oauth.issued))
    assertion = google_oauth.requests[0].form["assertion"]
    for secret in (pem.splitlines()[3], token, assertion):
        assert leaked(result.everything_printed(), secret, MAILBOX) == []


def test_a_gmail_job_past_the_daily_limit_records_who_got_it_and_stops(cortex, gmail_items, gmail_api):
    gmail_api.faults.daily_limit_after = 1
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **gmail_items)

    assert result.success, result.error
    assert notified(result) == [ALICE]
    [failed] = result.output["full"]["failed"]
    assert failed["address"] == BOB and "reached a sending limit" in failed["reason"]
    assert {f"feedback_sent:{ALICE}", f"feedback_failed:{BOB}", "mail sent", "mail failed"} <= set(result.tags)


def test_a_gmail_job_without_delegation_fails_naming_it(cortex, gmail_items, gmail_api, google_oauth):
    google_oauth.delegated = set()
    result = cortex(thehive4_case("Spam", [ALICE]), **gmail_items)

    assert not result.success
    assert "Domain-wide delegation" in result.error and CLIENT_ID in result.error
    assert gmail_api.requests == [] and result.operations == []


def test_a_gmail_project_without_the_api_fails_the_job_with_googles_words_and_the_steps_to_enable_it(
    cortex, gmail_items, gmail_api
):
    disabled = "Gmail API has not been used in project 431207 before or it is disabled."
    gmail_api.script.append(google_error(403, "accessNotConfigured", disabled, "PERMISSION_DENIED"))
    result = cortex(thehive4_case("Spam", [ALICE]), **gmail_items)

    assert not result.success and result.operations == []
    assert result.error == (
        f"No feedback was sent. The Gmail API at {gmail_api.url} refused to send as {MAILBOX} (HTTP 403"
        f" accessNotConfigured: {disabled}). Enable the Gmail API in the Google Cloud project of the service account"
        " (APIs & Services → Library → Gmail API → Enable), then wait a few minutes."
    )


def test_a_gmail_dry_run_gets_a_token_and_sends_nothing(cortex, gmail_items, gmail_api, google_oauth):
    result = cortex(thehive4_case("Spam", [ALICE]), dry_run=True, **gmail_items)

    assert result.success, result.error
    assert len(google_oauth.requests) == 1 and gmail_api.requests == []
    assert any("daily sending limit" in unchecked for unchecked in result.output["full"]["not_checked"])


def test_a_gmail_rate_limit_with_an_unreadable_wait_is_waited_out(cortex, gmail_items, gmail_api):
    gmail_api.script.append(rate_limited(retry_after="²"))
    result = cortex(thehive4_case("Spam", [ALICE]), **gmail_items)

    assert result.success, result.error
    assert gmail_api.recipients() == [ALICE]


@pytest.mark.parametrize(
    ("private_key", "bits"),
    [(lambda: keys.pem(keys.rsa_key(384)), 384), (lambda: keys.sized_key(9216), 9215)],
    ids=["384_bits", "9216_bits"],
)
def test_a_service_account_key_outside_2048_to_8192_bits_ends_the_job_at_the_start(
    cortex, gmail_items, google_oauth, gmail_api, private_key, bits
):
    key = {**json.loads(gmail_items["gmail_service_account"]), "private_key": private_key()}
    result = cortex(thehive4_case("Spam", [ALICE]), **{**gmail_items, "gmail_service_account": json.dumps(key)})

    assert not result.success
    if bits > 8192 and package_version("cryptography") < (39,):
        # A cryptography before 39 checks a key's numbers as it loads it: this key's, made cheaply, do not agree.
        assert "gmail_service_account holds no private key in PEM that can be read" in result.error
    else:
        assert f"The RSA key in gmail_service_account has {bits} bits; the responder takes 2048 to 8192" in result.error
    assert "Keys → Add key → JSON" in result.error
    assert google_oauth.requests == [] and gmail_api.requests == []


def test_the_mail_sending_limit_without_a_time_to_retry_stops_the_job_as_a_quota(make_transport, gmail_api):
    gmail_api.script.append(rate_limited_with("User-rate limit exceeded. (Mail sending)"))
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert "once the limit resets (Gmail counts a rolling 24 hours)" in answer.reason


def test_a_page_answering_2xx_cut_short_is_not_counted_as_sent(make_transport, gmail_api):
    page = b"<html>" + b"Blocked by policy. " * 50 + b"</html>"
    gmail_api.script.append(Reply(200, page, {"Content-Type": "text/html"}, cut=10))
    [answer] = send_all(make_transport(), ALICE)

    assert answer.kind == STOP
    assert f"Gmail API at {gmail_api.url} answered HTTP 200, text/html" in answer.reason
