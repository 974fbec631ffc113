"""Each reporter's message under their own report: In-Reply-To and References naming the report's Message-ID.

An alert's `sourceRef` is the Message-ID where TheHive 5's mail intake made the alert; a case reads the
`sourceRef` of the alerts merged into it from the loopback TheHive (pytest-httpserver, TheHive 5's v1 shapes).
"""

from __future__ import annotations

import json
import time

import pytest
from werkzeug import Response

from testkit.cases import thehive5_alert, thehive5_case
from testkit.http_faults import stalled
from testkit.smtp_faults import PASSWORD
from testkit.thehive_api import v1_alert, v1_observable

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
REPORT_ID = "<CAKx5Yq2p+Lw0vQ=9hZr@mail.gmail.com>"
EXCHANGE_ID = "<AM6PR02MB4423B1C8D3E3F1F5A1E4F1C5D9A70@AM6PR02MB4423.eurprd02.prod.outlook.com>"


def alert_job(cortex, source_ref, **items):
    alert = dict(thehive5_alert("Spam", [ALICE]), sourceRef=source_ref)
    return cortex(alert, data_type="thehive:alert", **items)


def thread_of(message) -> tuple[str | None, str | None]:
    return message["In-Reply-To"], message["References"]


@pytest.mark.parametrize("source_ref", [REPORT_ID, REPORT_ID[1:-1]])
def test_an_alert_whose_source_ref_is_a_message_id_is_answered_in_its_thread_over_smtp(cortex, smtp, source_ref):
    result = alert_job(cortex, source_ref)

    assert result.success, result.error
    [delivered] = smtp.delivered
    assert thread_of(delivered.message) == (REPORT_ID, REPORT_ID)
    assert f"In-Reply-To: {REPORT_ID}\r\n".encode() in delivered.content


def test_an_alerts_reporter_tagged_with_capitals_is_answered_in_their_thread(cortex, smtp):
    alert = dict(thehive5_alert("Spam", ["Alice.Smith@Example.org"]), sourceRef=REPORT_ID)
    result = cortex(alert, data_type="thehive:alert")

    assert result.success, result.error
    assert thread_of(smtp.delivered[0].message) == (REPORT_ID, REPORT_ID)


def test_a_long_message_id_stays_whole_in_the_header(cortex, smtp):
    long_id = f"<{'a' * 180}.{'b' * 20}@{'c' * 30}.example.org>"
    result = alert_job(cortex, long_id)

    assert result.success, result.error
    assert thread_of(smtp.delivered[0].message) == (long_id, long_id)
    assert b"=?utf-8?" not in smtp.delivered[0].content.split(b"\r\n\r\n")[0]


# The longest Message-ID taken, 250 characters with its brackets, and one a character longer.
LONGEST_ID = f"<{'a' * 200}@{'b' * 35}.example.org>"
TOO_LONG_ID = f"<{'a' * 201}@{'b' * 35}.example.org>"


@pytest.mark.parametrize("form", ["bracketed", "bare"])
@pytest.mark.parametrize(("source_ref", "thread"), [(LONGEST_ID, LONGEST_ID), (TOO_LONG_ID, None)], ids=["250", "251"])
def test_one_length_bounds_a_message_id_written_with_or_without_its_brackets(cortex, smtp, form, source_ref, thread):
    result = alert_job(cortex, source_ref if form == "bracketed" else source_ref[1:-1])

    assert result.success, result.error
    assert len(LONGEST_ID) == 250
    assert thread_of(smtp.delivered[0].message) == (thread, thread)


@pytest.mark.parametrize(
    "source_ref",
    [
        "report-2024-001",
        "<a b@example.org>",
        "<a@example.org",
        "<a@b@example.org>",
        "<@example.org>",
        "<a@example.org>\r\nBcc: mallory@evil.example",
        "<a@example.org>\nBcc: mallory@evil.example",
        "<a@example.org>\x00",
        f"<{'a' * 300}@example.org>",
        # An encoded word no mail system writes in an ID, which a parser that decodes it would turn into lines.
        "<=?utf-8?b?DQpCY2M6IG1hbGxvcnlAZXZpbC5leGFtcGxl?=@example.org>",
    ],
)
def test_a_source_ref_that_is_not_a_well_formed_message_id_is_ignored(cortex, smtp, source_ref):
    result = alert_job(cortex, source_ref)

    assert result.success, result.error
    [delivered] = smtp.delivered
    assert thread_of(delivered.message) == (None, None)
    # The alert's sourceRef is its number in the text ({case_number}), never in a header.
    assert delivered.message["Bcc"] is None and b"mallory" not in delivered.content.split(b"\r\n\r\n")[0]
    assert smtp.recipients() == [ALICE]


def test_a_source_ref_that_holds_a_secret_names_no_thread(cortex, smtp):
    """A server that echoed the SMTP password into the alert's Message-ID must not get it back in a header."""
    result = alert_job(cortex, f"<{PASSWORD}@example.org>")

    assert result.success, result.error
    [delivered] = smtp.delivered
    assert thread_of(delivered.message) == (None, None)
    assert PASSWORD.encode() not in delivered.content


def test_reply_in_thread_false_leaves_the_message_on_its_own(cortex, smtp):
    result = alert_job(cortex, REPORT_ID, reply_in_thread=False)

    assert result.success, result.error
    assert thread_of(smtp.delivered[0].message) == (None, None)


def test_the_graph_mime_message_carries_the_thread(cortex, graph, graph_items):
    result = alert_job(cortex, EXCHANGE_ID, **graph_items)

    assert result.success, result.error
    [message] = graph.accepted
    assert thread_of(message) == (EXCHANGE_ID, EXCHANGE_ID)


def test_the_gmail_raw_message_carries_the_thread(cortex, gmail_api, gmail_items):
    result = alert_job(cortex, REPORT_ID, **gmail_items)

    assert result.success, result.error
    [sent] = gmail_api.sent
    assert thread_of(sent.message) == (REPORT_ID, REPORT_ID)


def merged_case_thehive(thehive, alerts, alert_observables=None):
    """TheHive 5 answering the case's observables (none), its merged alerts, and each alert's observables."""
    alert_observables = alert_observables or {}

    def answer(request):
        body = json.loads(request.data)
        name = request.args["name"]
        if name == "case-alerts":
            page = body["query"][2]
            listed = alerts[page["from"] : page["to"]]
        elif name == "alert-observables":
            listed = alert_observables.get(body["query"][0]["idOrName"], [])
        else:
            listed = []
        return Response(json.dumps(listed), content_type="application/json")

    thehive.expect_request("/api/v1/query", method="POST").respond_with_handler(answer)


def test_a_case_answers_each_reporter_under_the_alert_they_sent(cortex, smtp, thehive, api):
    bobs = v1_alert(EXCHANGE_ID)
    alerts = [
        v1_alert(REPORT_ID, ["phishing", f"user_email:{ALICE}"]),
        bobs,
        v1_alert("ticket-4711", [f"user_email:{CAROL}"]),
    ]
    merged_case_thehive(thehive, alerts, {bobs["_id"]: [v1_observable("mail", BOB, ["reporter"])]})
    result = cortex(thehive5_case("Spam", [ALICE, BOB, CAROL]), **api)

    assert result.success, result.error
    threads = {str(d.message["To"]): thread_of(d.message) for d in smtp.delivered}
    assert threads == {ALICE: (REPORT_ID, REPORT_ID), BOB: (EXCHANGE_ID, EXCHANGE_ID), CAROL: (None, None)}
    queries = [json.loads(request.data)["query"] for request, _ in thehive.log]
    assert queries[1] == [
        {"_name": "getCase", "idOrName": "~8256"},
        {"_name": "alerts"},
        {"_name": "page", "from": 0, "to": 100},
    ]
    # Only the alert that names no reporter in its tags has its observables read; not the one without a Message-ID.
    assert [q[0] for q in queries[2:]] == [{"_name": "getAlert", "idOrName": bobs["_id"]}]
    assert result.output["full"]["warnings"] == []


def test_a_case_whose_merged_alerts_cannot_be_read_is_answered_with_a_warning(cortex, smtp, thehive, api):
    thehive.expect_request("/api/v1/query", query_string="name=case-observables").respond_with_json([])
    thehive.expect_request("/api/v1/query", query_string="name=case-alerts").respond_with_data("{", status=200)
    result = cortex(thehive5_case("Spam", [ALICE]), **api)

    assert result.success, result.error
    assert thread_of(smtp.delivered[0].message) == (None, None)
    [warning] = result.output["full"]["warnings"]
    assert "answered something other than JSON (HTTP 200)" in warning and "(In-Reply-To)" in warning


def test_a_thehive_that_failed_the_observables_is_not_asked_for_merged_alerts(cortex, smtp, thehive, api):
    thehive.expect_request("/api/v1/query", query_string="name=case-observables").respond_with_data("{", status=200)
    result = cortex(thehive5_case("Spam", [ALICE]), **api)

    assert result.success, result.error
    assert [request.args["name"] for request, _ in thehive.log] == ["case-observables"]
    assert smtp.recipients() == [ALICE]
    [warning] = result.output["full"]["warnings"]
    assert warning.endswith("The reporters were taken from the case's tags only.")


def test_the_dry_run_preview_shows_each_message_in_reply_to(cortex, smtp, thehive, api):
    merged_case_thehive(thehive, [v1_alert(REPORT_ID, [f"user_email:{ALICE}"])])
    result = cortex(thehive5_case("Spam", [ALICE, BOB]), dry_run=True, **api)

    assert result.success, result.error
    preview = result.output["full"]["preview"]
    assert [(p["to"], p["in_reply_to"], p["language"]) for p in preview] == [
        (ALICE, REPORT_ID, "en"),
        (BOB, None, "en"),
    ]
    assert smtp.delivered == []


def test_a_case_read_through_the_legacy_api_does_not_ask_for_merged_alerts(cortex, smtp, thehive, api):
    thehive.expect_request("/api/case/artifact/_search").respond_with_json([])
    result = cortex(thehive5_case("Spam", [ALICE]), thehive_api="legacy", **api)

    assert result.success, result.error
    assert [request.path for request, _ in thehive.log] == ["/api/case/artifact/_search"]
    assert thread_of(smtp.delivered[0].message) == (None, None)


def test_a_reporter_whose_address_has_capitals_is_answered_in_their_reports_thread(cortex, smtp, thehive, api):
    mixed = "Alice.Smith@Example.org"
    merged_case_thehive(thehive, [v1_alert(REPORT_ID, [f"user_email:{mixed}"])])
    result = cortex(thehive5_case("Spam", [mixed]), **api)

    assert result.success, result.error
    assert thread_of(smtp.delivered[0].message) == (REPORT_ID, REPORT_ID)


@pytest.mark.slow
def test_time_spent_asking_mailbox_languages_is_not_taken_from_thehives_share(cortex, thehive, api, graph, graph_items):
    """TheHive takes 6 s of its 16 (jobTimeout 1: 48 s for the job) for the observables, then Graph takes its own
    quarter over a mailbox language: the merged alerts still get the 10 s TheHive has left, and the thread."""

    def answer(request):
        if request.args["name"] == "case-observables":
            time.sleep(6)
            return Response("[]", content_type="application/json")
        merged = [v1_alert(REPORT_ID, [f"user_email:{ALICE}"])]
        return Response(json.dumps(merged if json.loads(request.data)["query"][2]["from"] == 0 else []))

    thehive.expect_request("/api/v1/query", method="POST").respond_with_handler(answer)
    graph.language_reply = stalled(20)
    items = {**api, **graph_items, "language": "auto,en", "jobTimeout": 1, "smtp_timeout": 30}
    result = cortex(thehive5_case("Spam", [ALICE]), **items)

    assert result.success, result.error
    assert thread_of(graph.accepted[0]) == (REPORT_ID, REPORT_ID)
    assert not any("TheHive" in warning for warning in result.output["full"]["warnings"])
