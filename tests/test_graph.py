"""Delivery through Microsoft Graph's sendMail: every promise SMTP keeps, with Graph's own replies.

A real HTTPS server on loopback answers as Graph does (testkit/graph_api.py), with a token from the
loopback Entra ID; each job runs as Cortex runs it. What every HTTP way out promises (a retry over a new
connection, an answer cut short, a proxy's page, a redirect) is tested for Graph in tests/test_http_ways_out.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import trustme

from feedback.http_way_out import Reply as Answered
from feedback.microsoft.graph import GraphTransport
from feedback.microsoft.settings import GraphSettings
from feedback.reach import Reach
from feedback.way_out import RECONNECT
from testkit.cases import thehive4_case
from testkit.cortex import apply_operations, finish_job, start_job, write_job
from testkit.graph_api import (
    ACCESS_DENIED,
    BAD_TOKEN,
    INVALID_RECIPIENTS,
    INVALID_USER,
    NOT_ENABLED,
    NOT_FOUND,
    QUOTA,
    SEND_AS_DENIED,
    THROTTLED,
    TIMED_OUT,
    TOO_LARGE,
    GraphApi,
    entra_for,
    error,
)
from testkit.http_faults import AS_USUAL, page, stalled
from testkit.https_server import Reply
from testkit.ports import free_port
from testkit.proxy import ConnectProxy
from testkit.records import failed, notified, told, untimed
from testkit.secret_forms import leaked
from testkit.token_endpoint import CLIENT_SECRET, MAILBOX, TOKEN, issue_short_lived_tokens

CAMPAIGN = ["alice@example.org", "bob@example.org", "carol@example.org"]


def assert_no_secret(result) -> None:
    for secret in (TOKEN, CLIENT_SECRET):
        assert leaked(result.everything_printed(), secret, MAILBOX) == []


def test_each_reporter_gets_one_mime_message_sent_as_the_from_mailbox(cortex, smtp, graph, entra, graph_items):
    result = cortex(thehive4_case("Phishing", CAMPAIGN), **graph_items)

    assert result.success, result.error
    graph.assert_each_got_exactly_one(CAMPAIGN)
    assert {r.headers["Content-Type"] for r in graph.received} == {"text/plain"}
    for message in graph.accepted:
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["X-Auto-Response-Suppress"] == "All"
        assert message["From"].addresses[0].addr_spec == MAILBOX
    assert notified(result) == CAMPAIGN
    assert set(untimed(result)) == {*told("Phishing", *CAMPAIGN), "mail sent"}
    assert smtp.delivered == [] and smtp.logins == []
    assert_no_secret(result)


def test_one_token_per_job_for_graph_though_the_saved_scope_is_outlooks(cortex, graph, entra, graph_items):
    result = cortex(
        thehive4_case("Spam", CAMPAIGN), **graph_items, oauth_scope="https://outlook.office365.com/.default"
    )

    assert result.success, result.error
    assert [request.form["scope"] for request, _ in entra.log] == [f"{graph.url}/.default"]


def test_an_oauth_scope_the_admin_changed_is_asked_for_as_set(cortex, graph, entra, graph_items):
    result = cortex(thehive4_case(), **graph_items, oauth_scope="https://graph.example/.default")

    assert not result.success
    assert "AADSTS1002012" in result.error and "Check oauth_scope" in result.error
    assert graph.received == []


@pytest.mark.parametrize(
    "reply", [TIMED_OUT, (500, "InternalServerError", "An internal server error occurred.")], ids=["408", "500"]
)
def test_a_request_graph_failed_for_now_is_tried_again_after_the_back_off(cortex, graph, graph_items, reply):
    """Graph's request timeout and its 5xx from 500 on pass: the message goes again, not listed as not reached."""
    graph.script = [error(reply)]
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), **graph_items)

    assert result.success, result.error
    graph.assert_each_got_exactly_one(CAMPAIGN[:2])
    assert failed(result) == {}


def test_a_message_too_large_stops_the_job_at_the_first_refusal(cortex, graph, graph_items):
    graph.script = [error(TOO_LARGE)] * len(CAMPAIGN)
    result = cortex(thehive4_case("Spam", CAMPAIGN), **graph_items)

    assert not result.success
    assert "ErrorMessageSizeExceeded" in result.error and "shorten the templates" in result.error
    assert len(graph.received) == 1 and graph.accepted == []


@pytest.mark.parametrize(
    ("reply", "advice"),
    [
        (SEND_AS_DENIED, 'New-ManagementRoleAssignment -Role "Application Mail.Send"'),
        (ACCESS_DENIED, "Test-ServicePrincipalAuthorization"),
        (NOT_ENABLED, "Exchange Online mailbox with a license"),
        (INVALID_USER, "Set 'from' to the address of the sending mailbox"),
        (NOT_FOUND, "Set 'from' to the address of the sending mailbox"),
        (BAD_TOKEN, "same cloud as graph_url"),
        ((403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."), "Mail.Send"),
        ((404, "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."), "Set 'from'"),
    ],
    ids=[
        "send_as_denied",
        "access_denied",
        "not_enabled",
        "invalid_user",
        "not_found",
        "bad_token",
        "another_403",
        "another_404",
    ],
)
def test_a_reply_about_the_sender_stops_the_job_at_the_first_message(cortex, graph, graph_items, reply, advice):
    graph.script = [error(reply)]
    result = cortex(thehive4_case("Spam", CAMPAIGN), **graph_items)

    assert not result.success
    assert result.operations == []
    assert f"({reply[0]} {reply[1]}: " in result.error and advice in result.error, result.error
    assert len(graph.received) == 1 and graph.accepted == []
    assert_no_secret(result)


def test_a_reply_about_the_sender_after_some_were_sent_keeps_their_record(cortex, graph, graph_items):
    graph.script = [AS_USUAL, error(SEND_AS_DENIED)]
    result = cortex(thehive4_case("Spam", CAMPAIGN), **graph_items)

    assert result.success, result.error
    assert notified(result) == CAMPAIGN[:1]
    assert set(failed(result)) == set(CAMPAIGN[1:])
    assert "feedback_sent:alice@example.org" in result.tags
    assert len(graph.received) == 2


def test_a_job_whose_only_reporter_graph_refuses_says_what_to_check(cortex, graph, graph_items):
    graph.script = [error(INVALID_RECIPIENTS)]
    result = cortex(thehive4_case("Spam", CAMPAIGN[:1]), **graph_items)

    assert not result.success
    assert result.error.startswith(f"No feedback was sent: the message was refused by Microsoft Graph at {graph.url}")
    assert result.error.endswith(
        "Check the addresses the mail service refused (a typo in a tag, a mailbox that is gone), then run the"
        " responder again."
    )
    assert "graph_url" not in result.error, "Graph answered: its address is not in question"


def test_an_invalid_recipient_fails_that_reporter_only_and_is_not_tried_again(cortex, graph, graph_items):
    graph.script = [error(INVALID_RECIPIENTS)]
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), **graph_items)

    assert result.success, result.error
    assert notified(result) == ["bob@example.org"]
    assert "ErrorInvalidRecipients" in failed(result)["alice@example.org"]
    assert len(graph.received) == 2
    assert "feedback_failed:alice@example.org" in result.tags


def test_a_quota_stops_sending_and_the_next_run_mails_only_those_not_reached(cortex, graph, graph_items):
    case = thehive4_case("Spam", CAMPAIGN)
    graph.script = [AS_USUAL, error(QUOTA)]
    first = cortex(case, **graph_items)

    assert first.success, first.error
    assert len(graph.received) == 2
    assert set(failed(first)) == set(CAMPAIGN[1:])
    assert "sending quota" in failed(first)["carol@example.org"]
    second = cortex(apply_operations(case, first), **graph_items)

    assert second.success, second.error
    assert sorted(notified(second)) == CAMPAIGN[1:]


def test_the_token_and_the_messages_go_through_cortex_proxy(cortex, graph, entra, graph_items, monkeypatch):
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    proxy = ConnectProxy()
    try:
        result = cortex(thehive4_case("Spam", CAMPAIGN), **graph_items, proxy_https=proxy.url)
    finally:
        proxy.close()

    assert result.success, result.error
    assert proxy.tunnels == [f"127.0.0.1:{entra.port}", f"127.0.0.1:{graph.port}"]
    graph.assert_each_got_exactly_one(CAMPAIGN)


def test_an_untrusted_graph_certificate_gets_no_request_and_no_token(cortex, certificates, entra, graph_items):
    stranger = trustme.CA().issue_cert("127.0.0.1")
    impostor = GraphApi(certificates, certificate=stranger)
    entra_for(entra, f"{impostor.url}/.default")
    try:
        result = cortex(thehive4_case(), **{**graph_items, "graph_url": impostor.url})
    finally:
        impostor.close()

    assert not result.success
    assert f"The certificate of Microsoft Graph at {impostor.url} could not be verified" in result.error
    assert impostor.received == []


@pytest.mark.parametrize(
    "echoed",
    [f"Invalid header 'Authorization: Bearer {TOKEN}' ({CLIENT_SECRET})", f"Token part {TOKEN[40:90]} is not valid."],
    ids=["whole", "a_piece"],
)
def test_a_token_graph_echoes_in_a_reply_is_kept_out_of_the_report(cortex, graph, graph_items, echoed):
    """Whole or any long piece of it: a piece of a token is as good as the token to whoever can guess the rest."""
    graph.script = [error((400, "BadRequest", echoed))]
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), **graph_items)

    assert result.success, result.error
    assert "BadRequest" in failed(result)["alice@example.org"]
    assert_no_secret(result)
    assert TOKEN[40:90] not in result.everything_printed()


def test_dry_run_gets_a_token_sends_nothing_and_says_what_it_could_not_check(cortex, graph, entra, graph_items):
    result = cortex(thehive4_case("Spam", CAMPAIGN), **graph_items, dry_run=True)

    assert result.success, result.error
    assert len(entra.log) == 1 and graph.received == []
    assert "Mail.Send" in result.output["full"]["not_checked"][0]
    assert "Not checked:" in result.output["full"]["message"]
    assert result.operations == []


def test_a_500_reporter_campaign_goes_over_one_tls_connection(cortex, graph, graph_items):
    reporters = [f"reporter{i}@example.org" for i in range(500)]
    result = cortex(thehive4_case("Spam", reporters), **graph_items)

    assert result.success, result.error
    graph.assert_each_got_exactly_one(reporters)
    assert graph.connections == 1


def test_a_job_that_outlives_its_token_gets_the_next_one(cortex, graph, entra, graph_items):
    issued = issue_short_lived_tokens(entra, graph, lifetime=2.5)
    reporters = [f"reporter{i}@example.org" for i in range(4)]
    result = cortex(thehive4_case("Spam", reporters), **graph_items, smtp_max_per_minute=60)

    assert result.success, result.error
    # Renewed, and kept for the messages after: 2 tokens, 3 on a machine slow enough to spread 4 messages over 5 s.
    assert 2 <= len(issued) < len(reporters)
    graph.assert_each_got_exactly_one(reporters)
    for token in issued:
        assert token not in result.everything_printed()


@pytest.mark.slow
def test_a_renewal_the_token_endpoint_fails_for_now_is_tried_again_and_the_campaign_goes_on(
    cortex, graph, entra, graph_items
):
    issued = issue_short_lived_tokens(entra, graph, lifetime=2.5, unavailable_at=2)
    reporters = [f"reporter{i}@example.org" for i in range(4)]
    result = cortex(thehive4_case("Spam", reporters), **graph_items, smtp_max_per_minute=60)

    assert result.success, result.error
    assert 2 <= len(issued) < len(reporters) and failed(result) == {}
    graph.assert_each_got_exactly_one(reporters)


def test_cortex_stopping_the_job_while_graph_decides_lets_that_message_finish_and_records_it(
    graph, graph_items, job_config, tmp_path
):
    graph.script = [stalled(2)]
    folder = write_job(tmp_path, thehive4_case("Spam", CAMPAIGN), job_config(**graph_items))
    process = start_job(folder)
    waited = time.monotonic() + 60
    while not graph.received and time.monotonic() < waited:
        time.sleep(0.05)
    process.terminate()  # Cortex's SIGTERM at jobTimeout, while Graph holds the first message
    result = finish_job(process, folder)

    assert result.success, result.everything_printed()
    assert notified(result) == CAMPAIGN[:1]
    assert set(failed(result)) == set(CAMPAIGN[1:])
    assert "Cortex stopped the job" in failed(result)["bob@example.org"]
    graph.assert_each_got_exactly_one(CAMPAIGN[:1])


def test_no_graph_listening_names_graph_url(cortex, entra, graph_items):
    url = f"https://127.0.0.1:{free_port()}"
    entra_for(entra, f"{url}/.default")
    result = cortex(thehive4_case(), **{**graph_items, "graph_url": url})

    assert not result.success
    assert f"Microsoft Graph at {url} could not be reached (the connection was refused)" in result.error
    assert result.error.endswith("Check graph_url, that Cortex can reach it, and Cortex's proxy settings. Attempts: 2.")


def graph_transport(graph) -> GraphTransport:
    settings = GraphSettings(graph.url, None, Reach(None, {}, 5.0))
    return GraphTransport(settings, MAILBOX, time.monotonic() + 60)


def throttled(retry_after: str) -> Answered:
    """Graph's 429, as the transport reads it."""
    status, code, text = THROTTLED
    return Answered(status, {"Retry-After": retry_after}, {"error": {"code": code, "message": text}}, False, False)


def test_graph_waits_what_retry_after_says_in_seconds_or_as_a_date(graph):
    transport = graph_transport(graph)
    in_a_minute = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=60), usegmt=True)

    assert transport.answer(throttled("7"), CAMPAIGN[0]).after == 7
    assert 50 < transport.answer(throttled(in_a_minute), CAMPAIGN[0]).after <= 60


@pytest.mark.parametrize(
    ("retry_after", "after"),
    [("²", None), ("soon", None), ("9" * 400, 86400.0), ("Thu, 01 Jan 2015 00:00:00 +99999999999999999999", None)],
    ids=["superscript", "word", "huge", "zone-past-any-offset"],
)
def test_a_retry_after_graph_cannot_mean_is_the_back_off_or_a_day_at_most(graph, retry_after, after):
    answer = graph_transport(graph).answer(throttled(retry_after), CAMPAIGN[0])

    assert answer.kind == RECONNECT and answer.after == after


def test_a_refusal_with_a_huge_code_is_cut_in_the_report(cortex, graph, graph_items):
    graph.script = [error((400, "E" * 60_000, "Bad request."))]
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), **graph_items)

    assert result.success, result.error
    assert notified(result) == ["bob@example.org"]
    assert "Bad request." in failed(result)["alice@example.org"]
    assert len(failed(result)["alice@example.org"]) < 400


def test_a_refusal_reaches_the_analyst_without_the_controls_that_would_reorder_its_words(cortex, graph, graph_items):
    graph.script = [error((400, "BadRequest", "Recipient \u2067\u202ebad\u202c\u2069 refused.\nSee the log."))]
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), **graph_items)

    assert result.success, result.error
    assert "Recipient bad refused. See the log." in failed(result)["alice@example.org"]


@pytest.mark.parametrize(
    "value", [{"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}, [], "queued", {}]
)
def test_a_202_with_any_body_is_not_counted_as_sent(cortex, graph, graph_items, value):
    graph.script = [Reply.json(202, value)]
    result = cortex(thehive4_case("Spam", CAMPAIGN[:1]), **graph_items)

    assert not result.success and result.operations == []
    assert f"Microsoft Graph at {graph.url} answered HTTP 202, application/json; charset=UTF-8, which is not" in (
        result.error
    )


def test_a_202_whose_body_is_a_line_break_alone_is_counted_as_sent(cortex, graph, graph_items):
    """A front end may end even an empty answer with a line break: that body says nothing, as an empty one."""
    graph.script = [Reply(202, b"\r\n")]
    result = cortex(thehive4_case("Spam", CAMPAIGN[:1]), **graph_items)

    assert result.success, result.error
    assert notified(result) == CAMPAIGN[:1]


def test_a_refusal_cut_in_the_middle_of_a_secret_keeps_no_piece_of_it(cortex, graph, graph_items):
    graph.script = [error((400, "BadRequest", "y " * 145 + CLIENT_SECRET))]  # 300 characters cut 10 of the secret
    result = cortex(thehive4_case("Spam", CAMPAIGN[:2]), **graph_items)

    assert result.success, result.error
    assert "y y y" in failed(result)["alice@example.org"]
    assert CLIENT_SECRET[:8] not in result.everything_printed()


def test_a_quota_graph_names_only_in_its_message_stops_sending_too(cortex, graph, graph_items):
    graph.script = [AS_USUAL, error((400, "BadRequest", "Message submission rate limit exceeded for this mailbox."))]
    result = cortex(thehive4_case("Spam", CAMPAIGN), **graph_items)

    assert result.success, result.error
    assert len(graph.received) == 2, "nothing more is tried past a quota"
    assert set(failed(result)) == set(CAMPAIGN[1:])
    assert "answered with a sending quota" in failed(result)["carol@example.org"]


def test_a_bare_413_stops_the_job_as_a_message_too_large(cortex, graph, graph_items):
    graph.script = [page(413, "<html><body><h1>413 Request Entity Too Large</h1></body></html>")] * 3
    result = cortex(thehive4_case("Spam", CAMPAIGN), **graph_items)

    assert not result.success
    assert "larger than Graph takes (4 MB): shorten the templates" in result.error, result.error
    assert len(graph.received) == 1 and graph.accepted == []
