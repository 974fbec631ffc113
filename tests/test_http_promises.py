"""What the HTTP client and the token sources promise beyond each failure's one sentence: when a token is taken and
renewed, which failures of a renewal are tried again and which end the campaign, how long the job waits (a
Retry-After, a party that takes no connection), where a proxy's failure is laid, what of an answer is believed, and
what of a signed assertion an endpoint echoes stays out of the report."""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from email.message import EmailMessage

import pytest
from werkzeug import Response

from feedback.api_session import open_session
from feedback.google.gmail import GmailTransport
from feedback.google.settings import GmailSettings
from feedback.google.token import read_key
from feedback.http_exchange import exchange
from feedback.http_failures import TimedOut, TooLarge, Unreachable
from feedback.reach import Reach
from feedback.retry_after import retry_after
from feedback.tokens import OAuthError, endpoint_shown, issued
from feedback.trust import system_store, trust_context
from feedback.way_out import ACCEPTED, Trouble
from testkit.cases import thehive4_case, thehive5_case
from testkit.google_oauth import MAILBOX, oauth_error
from testkit.https_server import HttpsServer, Reply
from testkit.ports import free_port
from testkit.proxy import ConnectProxy
from testkit.thehive_api import v1_observable
from testkit.token_endpoint import TOKEN, TOKEN_PATH, certificate_item, entra_error, issue_short_lived_tokens


def test_a_token_is_renewed_once_nine_tenths_of_its_lifetime_have_passed_counted_from_the_request():
    token = issued(200, {"access_token": "eyJ0eXAiOiJKV1QifQ.e30.sig", "expires_in": 3600}, 100.0, float)

    assert token.renew_at == 100.0 + 3240.0, "renewed before it ends, so that no session starts with a dying token"


def test_errors_name_the_token_endpoint_without_its_credentials_query_or_fragment():
    url = "https://app:Pa55-w0rd@login.example.org:8443/tenant/oauth2/v2.0/token?sig=Zm9vYmFy&code=1#frag"

    assert endpoint_shown(url) == "https://login.example.org:8443/tenant/oauth2/v2.0/token"


def test_a_retry_after_date_already_past_is_no_wait_at_all():
    assert retry_after("Thu, 01 Jan 2015 00:00:00 GMT") == 0.0


def test_a_token_endpoint_error_that_carries_a_token_is_a_refusal_not_a_login(cortex, smtp, entra, oauth):
    entra.clear()
    answer = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
    body = json.dumps({**answer, "access_token": TOKEN, "expires_in": 3599})
    entra.expect_request(TOKEN_PATH).respond_with_response(Response(body, 401, content_type="application/json"))
    result = cortex(thehive4_case(), **oauth)

    assert not result.success
    assert "refused the token request (HTTP 401, invalid_client" in result.error
    assert smtp.xoauth2_logins == [] and smtp.delivered == []


REPORTERS = [f"reporter{i}@example.org" for i in range(5)]


def renewals_answered(entra, graph, later) -> list:
    """Tokens that live 2.5 s: the first issued as usual, each renewal answered by `later(request, first, asked)`;
    the requests the token endpoint was sent."""
    issue_short_lived_tokens(entra, graph, lifetime=2.5)
    first = entra.handlers[0].request_handler
    asked = []

    def answer(request):
        asked.append(request)
        return first(request) if len(asked) == 1 else later(request, first, asked)

    entra.clear()
    entra.expect_request(TOKEN_PATH).respond_with_handler(answer)
    return asked


def test_a_renewal_redirected_elsewhere_ends_the_campaign_at_once_instead_of_being_tried_again(
    cortex, graph, entra, graph_items
):
    """A redirect is no passing trouble: the credential goes to oauth_token_url alone, and another try gets the same."""
    asked = renewals_answered(
        entra, graph, lambda *_: Response(status=307, headers={"Location": "https://else.example"})
    )
    result = cortex(thehive4_case("Spam", REPORTERS), **graph_items, smtp_max_per_minute=60, smtp_retries=2)

    reasons = [entry["reason"] for entry in result.output["full"]["failed"]]
    assert reasons, result.error
    assert "outlived its OAuth2 token" in reasons[0] and "which is never followed" in reasons[0]
    assert len(asked) == 2, "the redirected renewal was not asked again"


def test_a_renewal_answered_past_a_megabyte_ends_the_campaign_at_once_instead_of_being_tried_again(
    cortex, graph, entra, graph_items
):
    """An answer larger than any token answer is another party's, not a passing failure of the endpoint's."""
    huge = json.dumps({"access_token": TOKEN, "padding": "x" * (2 << 20)})
    asked = renewals_answered(entra, graph, lambda *_: Response(huge, 200, content_type="application/json"))
    result = cortex(thehive4_case("Spam", REPORTERS), **graph_items, smtp_max_per_minute=60, smtp_retries=2)

    reasons = [entry["reason"] for entry in result.output["full"]["failed"]]
    assert reasons, result.error
    assert "outlived its OAuth2 token" in reasons[0] and "answered more than 1 MB" in reasons[0]
    assert len(asked) == 2, "the renewal was not asked again"


def test_a_renewal_whose_certificate_cannot_be_verified_ends_the_campaign_at_once_instead_of_being_tried_again(
    cortex, graph, entra, graph_items, certificates
):
    """A certificate the job does not trust (a TLS-inspecting proxy put on the way meanwhile, say) is no passing
    trouble: another try meets the same certificate."""
    another_ca = type(certificates)()

    def showing_another_ca() -> None:
        another_ca.server.configure_cert(entra.ssl_context)

    reason = first_reason_once_the_token_endpoint_changed(cortex, entra, graph, graph_items, showing_another_ca)

    assert "outlived its OAuth2 token" in reason and "could not be verified" in reason
    assert "Attempts" not in reason, "the renewal was tried again"


def test_a_renewal_whose_tls_handshake_fails_ends_the_campaign_at_once_instead_of_being_tried_again(
    cortex, graph, entra, graph_items
):
    """TLS that fails for another reason than the certificate (a server at that address that refuses every handshake,
    or speaks no TLS) is no passing trouble: another try meets the same server."""

    def refusing_every_handshake() -> None:
        entra.ssl_context.sni_callback = lambda *_: ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE

    reason = first_reason_once_the_token_endpoint_changed(cortex, entra, graph, graph_items, refusing_every_handshake)

    assert "outlived its OAuth2 token" in reason and "TLS failed" in reason
    assert "Attempts" not in reason, "the renewal was tried again"


def first_reason_once_cortexs_proxy_refuses_the_token_endpoint(
    cortex, entra, graph, graph_items, monkeypatch, refusal: bytes
) -> str:
    """The first reporter's failure in a campaign through Cortex's proxy that outlives its tokens, the proxy refusing
    the token endpoint's tunnel with `refusal` once the first token came."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = ConnectProxy()

    def refusing() -> None:
        proxy.refusing[f"127.0.0.1:{entra.port}"] = refusal

    try:
        items = {**graph_items, "proxy_https": proxy.url}
        return first_reason_once_the_token_endpoint_changed(cortex, entra, graph, items, refusing)
    finally:
        proxy.close()


def test_a_renewal_the_proxy_wants_a_login_for_ends_the_campaign_at_once_instead_of_being_tried_again(
    cortex, graph, entra, graph_items, monkeypatch
):
    """A proxy that asks for a user and password asks again at every try: only its URL in Cortex's settings helps."""
    refusal = b"407 Proxy Authentication Required"
    reason = first_reason_once_cortexs_proxy_refuses_the_token_endpoint(
        cortex, entra, graph, graph_items, monkeypatch, refusal
    )

    assert (
        "outlived its OAuth2 token" in reason and "the proxy answered HTTP 407: it wants a user and password" in reason
    )
    assert "Attempts" not in reason, "the renewal was tried again"


def test_a_renewal_the_proxy_cannot_open_a_tunnel_for_is_tried_again(cortex, graph, entra, graph_items, monkeypatch):
    """A proxy's 502 to CONNECT says the party was out of its reach for now, as a connection that failed does."""
    refusal = b"502 Bad Gateway"
    reason = first_reason_once_cortexs_proxy_refuses_the_token_endpoint(
        cortex, entra, graph, graph_items, monkeypatch, refusal
    )

    assert (
        "outlived its OAuth2 token" in reason
        and "the proxy answered HTTP 502: it could not open a tunnel to it" in reason
    )
    assert re.search(r"\. Attempts: \d+\.$", reason), reason


def test_a_renewal_that_keeps_failing_for_now_is_told_in_the_token_endpoints_words_and_how_often_it_was_tried(
    cortex, graph, entra, graph_items
):
    """The token endpoint's sentence carries its own advice (oauth_token_url's), not Graph's, then the attempts."""

    def unavailable(*_):
        return entra_error(503, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")

    renewals_answered(entra, graph, unavailable)
    result = cortex(thehive4_case("Spam", REPORTERS), **graph_items, smtp_max_per_minute=60, smtp_retries=2)

    reasons = [entry["reason"] for entry in result.output["full"]["failed"]]
    assert reasons, result.error
    assert "outlived its OAuth2 token" in reasons[0] and "AADSTS90033" in reasons[0]
    assert re.search(r"\. Attempts: \d+\.$", reasons[0]), reasons[0]


def first_reason_once_the_token_endpoint_changed(cortex, entra, graph, graph_items, change) -> str:
    """The first reporter's failure in a campaign that outlives its tokens, the token endpoint changed by `change` for
    the connections that come after it gave the first."""
    issue_short_lived_tokens(entra, graph, lifetime=2.5)
    first = entra.handlers[0].request_handler

    def answer_then_change(request):
        change()
        return first(request)

    entra.clear()
    entra.expect_request(TOKEN_PATH).respond_with_handler(answer_then_change)
    result = cortex(thehive4_case("Spam", REPORTERS), **graph_items, smtp_max_per_minute=60, smtp_retries=2)

    reasons = [entry["reason"] for entry in result.output["full"]["failed"]]
    assert reasons, result.error
    return reasons[0]


def gmail_transport(google_oauth, gmail_api, certificates) -> GmailTransport:
    reach = Reach(certificates.ca_pem, {}, 5)
    settings = GmailSettings(read_key(json.dumps(google_oauth.key())), gmail_api.url, reach)
    return GmailTransport(settings, MAILBOX, time.monotonic() + 60)


def message(recipient: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"SOC <{MAILBOX}>", recipient, "Your report"
    mail.set_content("The message you reported was spam.\n")
    return mail


def renewed(google_oauth, gmail_api, certificates) -> GmailTransport:
    """A Gmail transport whose token lives 1 s, once it has sent alice's message: its next send renews the token."""
    google_oauth.lifetime = 1
    transport = gmail_transport(google_oauth, gmail_api, certificates)
    with transport.channel() as channel:
        assert channel.send(message("alice@example.org"), "alice@example.org").kind == ACCEPTED
    time.sleep(1.2)
    return transport


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        (
            oauth_error(500, "internal_failure", "Internal error encountered."),
            "(HTTP 500, internal_failure: Internal error encountered.). The endpoint is failing for now",
        ),
        (Reply(200, drop=True), "Google's token endpoint"),
    ],
    ids=["internal_error", "dropped"],
)
def test_a_renewal_google_fails_for_now_is_trouble_the_policy_tries_again(
    google_oauth, gmail_api, certificates, refusal, said
):
    transport = renewed(google_oauth, gmail_api, certificates)
    google_oauth.refusal = refusal
    with pytest.raises(Trouble) as passing, transport.channel() as channel:
        channel.send(message("bob@example.org"), "bob@example.org")
    google_oauth.refusal = None
    with transport.channel() as channel:
        second = channel.send(message("bob@example.org"), "bob@example.org")

    assert second.kind == ACCEPTED
    assert "outlived its OAuth2 token" in str(passing.value) and said in str(passing.value)
    assert gmail_api.recipients() == ["alice@example.org", "bob@example.org"]


def late(request, first):
    time.sleep(2.5)  # past smtp_timeout: no answer in time, for now
    return first(request)


def gateway_error(request, first):
    return Response(json.dumps({"message": "upstream request timeout"}), 500, content_type="application/json")


@pytest.mark.slow
@pytest.mark.parametrize("failing", [late, gateway_error], ids=["too_slow", "gateway_error_500"])
def test_a_renewal_the_token_endpoint_fails_for_now_once_is_tried_again_and_the_campaign_goes_on(
    cortex, graph, entra, graph_items, failing
):
    """Too slow for smtp_timeout, or a 5xx from 500 on without a token: another try later gets the token."""

    def failing_once(request, first, asked):
        return failing(request, first) if len(asked) == 2 else first(request)

    renewals_answered(entra, graph, failing_once)
    reporters = [f"reporter{i}@example.org" for i in range(4)]
    result = cortex(thehive4_case("Spam", reporters), **graph_items, smtp_max_per_minute=60, smtp_timeout=1)

    assert result.success, result.error
    assert result.output["full"]["failed"] == []
    graph.assert_each_got_exactly_one(reporters)


def test_a_renewal_google_redirects_ends_the_campaign_instead_of_being_tried_again(
    google_oauth, gmail_api, certificates
):
    transport = renewed(google_oauth, gmail_api, certificates)
    google_oauth.refusal = Reply(307, headers={"Location": "https://elsewhere.example/token"})
    with pytest.raises(OAuthError) as final, transport.channel() as channel:
        channel.send(message("bob@example.org"), "bob@example.org")

    assert "outlived its OAuth2 token" in str(final.value) and "which is never followed" in str(final.value)
    assert gmail_api.recipients() == ["alice@example.org"]


@pytest.fixture
def full_listener():
    """The port of a listener with no room for another connection: a connection to it is never made."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        with socket.create_connection(listener.getsockname()):
            yield listener.getsockname()[1]


def test_a_party_that_takes_no_connection_is_waited_for_once_not_once_per_retry(full_listener):
    started = time.monotonic()
    with pytest.raises(TimedOut) as late:
        exchange(open_session(trust_context(None), {}), "POST", f"https://127.0.0.1:{full_listener}/x", 1024, 1)

    assert not late.value.sent
    assert time.monotonic() - started < 3, "one wait of 1 s, as smtp_timeout says"


def test_a_cortex_proxy_that_is_down_is_named_as_the_proxy_not_as_the_party():
    proxies = {"https": f"http://127.0.0.1:{free_port()}"}
    with pytest.raises(Unreachable) as failure:
        exchange(open_session(trust_context(None), proxies), "GET", "https://thehive.example.org/api/case", 1024, 5)

    assert failure.value.sentence("TheHive at https://thehive.example.org") == (
        "TheHive at https://thehive.example.org could not be reached (the proxy refused the connection)."
        " Check that Cortex can reach it, and Cortex's proxy settings."
    )


def test_an_answer_longer_than_the_caller_reads_is_refused_not_cut_to_size(certificates):
    reply = Reply.json(200, {"observables": "x" * 4096})
    with HttpsServer(certificates.server_context(), lambda _: reply) as server, pytest.raises(TooLarge) as refused:
        exchange(open_session(trust_context(certificates.ca_pem), {}), "GET", server.url, 1024, 5, decoded=True)

    assert refused.value.told() == "answered more than 1 kB: no more than that is read from it"


def test_an_answer_as_long_as_the_caller_reads_is_read_whole(certificates):
    """The bound is the most the caller takes: only an answer past it is refused."""
    reply = Reply(200, b"x" * 1024, {"Content-Type": "text/plain"})
    with HttpsServer(certificates.server_context(), lambda _: reply) as server:
        _, _, body = exchange(open_session(trust_context(certificates.ca_pem), {}), "GET", server.url, 1024, 5)

    assert body == reply.body


def test_json_nested_as_deep_as_the_client_decodes_is_read(certificates):
    """32 levels are read; only deeper JSON is refused as nested too deep."""
    reply = Reply(200, b"[" * 32 + b"]" * 32, {"Content-Type": "application/json"})
    with HttpsServer(certificates.server_context(), lambda _: reply) as server:
        session = open_session(trust_context(certificates.ca_pem), {})
        _, _, value = exchange(session, "GET", server.url, 1024, 5, decoded=True)

    assert json.dumps(value) == reply.body.decode()


def test_a_token_endpoint_slower_than_smtp_timeout_is_said_not_to_answer_not_to_be_unreachable(
    cortex, smtp, entra, oauth
):
    entra.clear()

    def slow(request):
        time.sleep(2.5)
        return Response(json.dumps({"access_token": TOKEN, "expires_in": 3599}), 200, content_type="application/json")

    entra.expect_request(TOKEN_PATH).respond_with_handler(slow)
    result = cortex(thehive4_case(), **oauth, smtp_timeout=1)

    assert not result.success
    assert "The OAuth2 token endpoint https://127.0.0.1:" in result.error
    assert "did not answer within 1 s" in result.error and "could not be reached" not in result.error
    assert smtp.delivered == []


def test_the_signature_of_an_assertion_the_token_endpoint_echoes_is_kept_out_of_the_report(cortex, smtp, entra, oauth):
    entra.clear()

    def echoing(request):
        signature = request.form["client_assertion"].rpartition(".")[2]
        said = f"AADSTS700027: Client assertion failed signature validation. Signature: {signature}"
        body = json.dumps({"error": "invalid_client", "error_description": said})
        return Response(body, 401, content_type="application/json")

    entra.expect_request(TOKEN_PATH).respond_with_handler(echoing)
    credential = {"oauth_client_secret": None, "oauth_client_certificate": certificate_item()}
    result = cortex(thehive4_case(), **{**oauth, **credential})

    [(request, _)] = entra.log
    signature = request.form["client_assertion"].rpartition(".")[2]
    assert not result.success and "AADSTS700027" in result.error
    assert signature[:100] not in result.everything_printed()


@pytest.mark.parametrize("token", [f"{TOKEN}\r\nX-Injected: 1", ""], ids=["control_characters", "empty"])
def test_a_token_that_is_no_printable_text_is_no_token_and_never_reaches_the_mail_server(
    cortex, smtp, entra, oauth, token
):
    entra.clear()
    body = json.dumps({"token_type": "Bearer", "access_token": token, "expires_in": 3599})
    entra.expect_request(TOKEN_PATH).respond_with_response(Response(body, 200, content_type="application/json"))
    result = cortex(thehive4_case(), **oauth)

    assert not result.success
    assert "answered HTTP 200 without a token (no OAuth2 JSON)" in result.error
    assert smtp.xoauth2_logins == [] and smtp.delivered == []


def test_a_renewal_answered_by_a_gateway_error_without_a_token_is_trouble_the_policy_tries_again(
    google_oauth, gmail_api, certificates
):
    transport = renewed(google_oauth, gmail_api, certificates)
    google_oauth.refusal = Reply.json(502, {"message": "upstream connect error or disconnect/reset before headers"})
    with pytest.raises(Trouble) as passing, transport.channel() as channel:
        channel.send(message("bob@example.org"), "bob@example.org")

    assert "outlived its OAuth2 token" in str(passing.value) and "answered HTTP 502 without a token" in str(
        passing.value
    )


def test_a_ca_bundle_named_by_ssl_cert_file_is_read_beside_the_systems_directory(tmp_path, monkeypatch, certificates):
    bundle = tmp_path / "internal-ca.pem"
    bundle.write_text(certificates.ca_pem)
    monkeypatch.setenv(ssl.get_default_verify_paths().openssl_cafile_env, str(bundle))

    assert system_store()[1] == str(bundle)


def endless_page():
    """A 5xx page that goes on for 20 s, slowly enough for no read to time out."""
    stop = time.monotonic() + 20
    while time.monotonic() < stop:
        yield b"<p>Busy</p>".ljust(1 << 16)
        time.sleep(0.01)


@pytest.mark.parametrize(
    "busy",
    [lambda: Response("busy", 503, headers={"Retry-After": "20"}), lambda: Response(endless_page(), 503)],
    ids=["asking-for-20-s", "with-a-page-that-never-ends"],
)
def test_a_thehive_busy_for_now_is_asked_again_soon(cortex, smtp, thehive, api, busy):
    """The back-off of the client's own retries, not the wait TheHive (or the balancer before it) asks for; and before
    the retry the connection is closed, not read to the end of its answer as urllib3 would, which would hold the job
    as long as the page goes on."""
    thehive.expect_oneshot_request("/api/v1/query").respond_with_response(busy())
    thehive.expect_request("/api/v1/query").respond_with_json([v1_observable("mail", "bob@example.org", ["reporter"])])
    started = time.monotonic()
    result = cortex(thehive5_case("Spam", ()), **api)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert time.monotonic() - started < 15, "asked again after the back-off, not after 20 s nor the page's end"
