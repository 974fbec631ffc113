"""What every way out through an HTTP API promises, whatever the service: Microsoft Graph and the Gmail API.

Each test runs once against each loopback service (testkit/graph_api.py, testkit/gmail_api.py), scripted the same
way (testkit/http_faults.py), as Cortex runs the job; a service's own replies are tested in its own file.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from feedback.settings import WAYS_OUT
from feedback.unreached import DeliveryError
from testkit.cases import thehive4_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST, MANIFEST, apply_operations, finish_job, start_job, write_job
from testkit.gmail_api import google_error, rate_limited
from testkit.graph_api import THROTTLED, UNAVAILABLE, error
from testkit.http_faults import (
    AS_USUAL,
    CUT_SHORT,
    CUT_SHORT_UNTYPED,
    DROPPED,
    EARLY_HINTS,
    LONG_HEAD,
    RESET_AT_HEAD,
    TAKEN_THEN_DROPPED,
    TWO_LENGTHS,
    page,
    stalled,
)
from testkit.https_server import Reply
from testkit.proxy import ConnectProxy
from testkit.records import failed, notified, unsure

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
BLOCKED = "<html><body>Blocked by your organisation's web policy</body></html>"


@dataclass
class Service:
    """One loopback HTTP way out, as these tests need it."""

    name: str  # how the analyst's sentences name it
    sent_record: str  # where the analyst sees what it took
    url_item: str  # the item that names its URL
    items: dict  # the configuration items of a job through it
    elsewhere: Callable[[str], dict]  # those items with the service's URL moved to this one
    script: list  # its next answers to a send (testkit/http_faults.py)
    took: Callable[[], list[str]]  # the recipients of the messages it took, in order
    connections: Callable[[], int]  # the TLS connections that carried a request
    unavailable: tuple[Reply, str]  # its 503, and how the analyst reads it
    throttled: Callable[[str], Reply]  # its 429 with this Retry-After
    refusal: Callable[[str], Reply]  # its 400 for one message, in these words


def graph_service(request) -> Service:
    graph = request.getfixturevalue("graph")
    return Service(
        name=f"Microsoft Graph at {graph.url}",
        sent_record="the Sent Items of soc@example.org",
        url_item="graph_url",
        items=(items := request.getfixturevalue("graph_items")),
        # The token's scope stays the loopback Entra ID's, which takes that of the service's own URL.
        elsewhere=lambda url: {**items, "graph_url": url, "oauth_scope": f"{graph.url}/.default"},
        script=graph.script,
        took=lambda: [str(to) for to in graph.recipients()],
        connections=lambda: graph.connections,
        unavailable=(error(UNAVAILABLE), "503 ServiceUnavailable: Service unavailable."),
        throttled=lambda seconds: error(THROTTLED, **{"Retry-After": seconds}),
        refusal=lambda words: error((400, "BadRequest", words)),
    )


def gmail_service(request) -> Service:
    gmail = request.getfixturevalue("gmail_api")
    words = "The service is currently unavailable."
    return Service(
        name=f"the Gmail API at {gmail.url}",
        sent_record="the Sent folder of soc@example.org",
        url_item="gmail_url",
        items=(items := request.getfixturevalue("gmail_items")),
        elsewhere=lambda url: {**items, "gmail_url": url},
        script=gmail.script,
        took=gmail.recipients,
        connections=lambda: len(gmail.connections()),
        unavailable=(google_error(503, "backendError", words, "UNAVAILABLE"), f"HTTP 503 backendError: {words}"),
        throttled=lambda seconds: rate_limited(retry_after=seconds),
        refusal=lambda words: google_error(400, "invalidArgument", words, "INVALID_ARGUMENT"),
    )


# Each HTTP way out, by its `delivery` value.
SERVICES = {"graph": graph_service, "gmail": gmail_service}


@pytest.fixture(params=sorted(SERVICES))
def service(request) -> Service:
    return SERVICES[request.param](request)


def test_every_way_out_but_smtp_keeps_these_promises():
    assert sorted(SERVICES) == sorted(set(WAYS_OUT) - {"smtp"})


def named(service: Service) -> str:
    """The service's name as a sentence begins with it."""
    return service.name[:1].upper() + service.name[1:]


def test_a_dropped_connection_is_tried_again_over_a_new_one(cortex, service):
    service.script.append(DROPPED)
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items)

    assert result.success, result.error
    assert service.took() == [ALICE, BOB]
    assert service.connections() == 2


def test_a_message_whose_connection_the_service_twice_closed_without_an_answer_is_not_sent_a_third_time(
    cortex, service
):
    """Closed once after the whole request, the service most likely lost it; closed again, it may keep each copy it
    never answers for: the message may have gone, and is recorded so."""
    service.script.extend([TAKEN_THEN_DROPPED, TAKEN_THEN_DROPPED])
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items, smtp_retries=3)

    assert service.took() == [ALICE, ALICE, BOB]
    assert result.success, result.error
    assert notified(result) == [BOB] and failed(result) == {}
    assert unsure(result)[ALICE].startswith(
        f"{named(service)} had the whole message but closed the connection without answering, for the second time:"
    )
    assert f"feedback_unsure:{ALICE}" in result.tags


def test_a_connection_reset_while_the_message_was_still_going_out_is_no_message_that_may_have_gone(cortex, service):
    """Only a request that went whole may have reached the service: one reset while its body was still going out never
    did, however often, and goes again until the service takes it."""
    service.script.extend([RESET_AT_HEAD, RESET_AT_HEAD])
    case = thehive4_case("Spam", [ALICE], title="Phishing report: " + "A" * 70_000)  # a body past the socket buffers
    result = cortex(case, **service.items, smtp_retries=3, template_spam="{case_title}\n" * 420)

    assert result.success, result.error
    assert notified(result) == [ALICE] and unsure(result) == {} and failed(result) == {}
    assert service.connections() == 3, "sent on the third try"
    assert service.took() == [ALICE]


def test_a_message_dropped_twice_behind_cortexs_proxy_is_not_sent_a_third_time_nor_blamed_on_the_proxy(
    cortex, service, monkeypatch
):
    """urllib3 names a connection the service ended through a working tunnel a proxy's failure."""
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    service.script.extend([TAKEN_THEN_DROPPED, TAKEN_THEN_DROPPED])
    proxy = ConnectProxy()
    try:
        result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items, smtp_retries=3, proxy_https=proxy.url)
    finally:
        proxy.close()

    assert proxy.tunnels, "through the proxy"
    assert service.took() == [ALICE, ALICE, BOB]
    assert result.success, result.error
    assert unsure(result)[ALICE].startswith(f"{named(service)} had the whole message but closed the connection")
    assert "proxy" not in json.dumps(result.output["full"])


def test_a_proxy_page_answering_202_whose_connection_breaks_is_not_counted_as_sent(cortex, graph, graph_items):
    """Graph's 202 has no body: a page cut short is a proxy's as much as a whole one is."""
    graph.script.append(Reply(202, BLOCKED.encode(), {"Content-Type": "text/html; charset=utf-8"}, cut=40))
    result = cortex(thehive4_case("Spam", [ALICE]), **graph_items)

    assert not result.success and result.operations == []
    assert graph.recipients() == []


@pytest.mark.parametrize("fault", [CUT_SHORT, CUT_SHORT_UNTYPED], ids=["typed", "without-content-type"])
def test_an_answer_cut_short_after_the_service_took_the_message_counts_as_sent_and_goes_once(cortex, service, fault):
    """Without its Content-Type (a middlebox strips it), such an answer is still the service's: Gmail's said the
    message was not sent."""
    service.script.append(fault)
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items)

    assert result.success, result.error
    assert service.took() == [ALICE, BOB]
    assert notified(result) == [ALICE, BOB] and failed(result) == {}


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        (EARLY_HINTS, "HTTP 103, an interim answer, and no other"),
        (LONG_HEAD, "its head: LineTooLong"),
        (TWO_LENGTHS, "its head: InvalidHeader"),
    ],
    ids=["interim-103", "head-line-past-64kB", "two-lengths"],
)
def test_an_answer_the_client_cannot_read_after_the_service_took_the_message_is_not_sent_again(
    cortex, service, fault, why
):
    """http.client takes a 103 for the last answer, and reads no header line past 64 kB, nor urllib3 two lengths that
    disagree: the service answered the whole message, so it may have gone. It was read as a refusal, or as a
    connection that failed before the message went, and sent again at each try."""
    service.script.append(fault)
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items, smtp_retries=3)

    assert result.success, result.error
    assert service.took() == [ALICE, BOB]
    assert notified(result) == [BOB] and failed(result) == {}
    assert unsure(result)[ALICE].startswith(
        f"{named(service)} had the whole message but answered in a way that could not be read ({why}): it may have"
    )
    assert f"feedback_unsure:{ALICE}" in result.tags


@pytest.mark.parametrize("status", [200, 202])
def test_a_proxy_page_answering_2xx_is_not_counted_as_sent(cortex, service, status):
    service.script.append(page(status, BLOCKED))
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items)

    assert not result.success
    assert f"{named(service)} answered HTTP {status}, text/html; charset=utf-8, which is not" in result.error
    assert "a proxy's block page say" in result.error and f"Check {service.url_item}" in result.error
    assert result.operations == [] and service.took() == []


@pytest.mark.slow
def test_no_answer_after_the_message_went_is_neither_counted_as_sent_nor_sent_again(cortex, service):
    service.script.append(stalled(3))
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items, smtp_timeout=1, smtp_retries=2)

    assert result.success, result.error
    assert notified(result) == [BOB] and failed(result) == {}
    assert unsure(result)[ALICE].startswith(
        f"{named(service)} had the whole message but did not answer within 1 s: it may have gone out all the same,"
        f" and is neither counted as sent nor sent again in this job. Look in {service.sent_record} before"
    )
    assert "1 may have been reached: alice@example.org" in result.output["full"]["message"]
    assert "it retries only those" not in result.output["full"]["message"]
    time.sleep(2)  # the stalled answer comes
    assert service.took() == [ALICE, BOB], "each went once"


@pytest.mark.slow
def test_an_acknowledgement_that_got_no_answer_says_the_next_run_acknowledges_that_reporter_again(cortex, service):
    service.script.append(stalled(3))
    case = thehive4_case(None, [ALICE, BOB])
    result = cortex(case, manifest=ACKNOWLEDGE_MANIFEST, **service.items, smtp_timeout=1)

    assert result.success, result.error
    said = result.output["full"]["message"]
    assert "1 may have been reached: alice@example.org" in said
    assert said.endswith(" The next run acknowledges them again.")
    assert not any(ALICE in tag for tag in result.tags), "nothing records alice"
    time.sleep(2)  # the stalled answer comes


def test_a_message_that_may_have_gone_is_recorded_so_and_the_next_run_does_not_mail_it_again(cortex, service):
    service.script.append(stalled(3))
    case = thehive4_case("Spam", [ALICE, BOB])
    first = cortex(case, **service.items, smtp_timeout=1)
    time.sleep(2)  # the stalled answer comes
    second = cortex(apply_operations(case, first), **service.items)

    assert f"feedback_unsure:{ALICE}" in first.tags and f"feedback_failed:{ALICE}" not in first.tags
    assert second.success, second.error
    assert second.output["full"]["maybe_notified"] == [ALICE]
    assert "remove their feedback_unsure tag and run the responder again" in " ".join(second.output["full"]["warnings"])
    assert second.operations == []
    assert service.took() == [ALICE, BOB], "alice was not mailed a second time"


@pytest.mark.slow
def test_a_service_that_answers_no_message_is_given_up_on_after_the_retries_not_asked_for_each(cortex, service):
    service.script.extend([stalled(3), stalled(3)])
    result = cortex(thehive4_case("Spam", [ALICE, BOB, CAROL]), **service.items, smtp_timeout=1, smtp_retries=1)

    assert result.success, result.error
    assert result.output["full"]["message"].startswith("No feedback is known to have been sent. 1 could not be reached")
    assert failed(result)[CAROL].endswith("gave no answer to the message before (after 2 attempt(s))")
    assert set(unsure(result)) == {ALICE, BOB}
    assert set(result.tags) == {
        f"feedback_unsure:{ALICE}",
        f"feedback_unsure:{BOB}",
        f"feedback_failed:{CAROL}",
        "mail failed",
    }
    time.sleep(2)  # the stalled answers come
    assert service.took() == [ALICE, BOB], "carol's message was never sent"


def killed_once_taken(tmp_path, config: dict, service: Service, verdict: str | None, taken: int):
    """A job for the first `taken` of alice, bob and carol, killed as Cortex's docker runner kills it once the service
    has taken that many messages."""
    job = write_job(tmp_path, thehive4_case(verdict, [ALICE, BOB, CAROL][:taken]), config)
    process = start_job(job)
    waited = time.monotonic() + 30
    while len(service.took()) < taken and time.monotonic() < waited:
        time.sleep(0.01)
    process.kill()
    return finish_job(process, job)


@pytest.mark.parametrize(
    ("manifest", "verdict", "recorded", "records"),
    [
        (
            MANIFEST,
            "Spam",
            "The case records them as feedback_unsure, and no run mails them again.",
            {f"feedback_sent:{BOB}", f"feedback_unsure:{ALICE}"},
        ),
        (ACKNOWLEDGE_MANIFEST, None, "The next run acknowledges them again.", {f"feedback_ack:{BOB}"}),
    ],
    ids=["verdict", "acknowledgement"],
)
def test_a_kill_after_a_message_that_may_have_gone_leaves_a_report_that_names_it_and_says_if_it_is_mailed_again(
    tmp_path, job_config, service, manifest, verdict, recorded, records
):
    """Cortex's docker runner kills the job while carol's message is at the service; alice's went with no answer
    before it, and bob's was taken. The acknowledgement records only whom it reached."""
    service.script.extend([stalled(4), AS_USUAL, stalled(4)])
    killed = killed_once_taken(tmp_path, job_config(manifest, **service.items, smtp_timeout=2), service, verdict, 3)

    said = killed.output["full"]["message"]
    assert f"The mail service had the whole message to {ALICE} and never answered: it may have gone out" in said
    assert f"{recorded} It mails the 1 others" in said
    assert {tag for tag in killed.tags if tag.startswith(("feedback_sent:", "feedback_unsure:", "feedback_ack:"))} == (
        records
    )


@pytest.mark.parametrize(
    ("manifest", "verdict", "recorded"),
    [
        (MANIFEST, "Spam", [f"feedback_unsure:{ALICE}", "mail failed"]),
        (ACKNOWLEDGE_MANIFEST, None, []),
    ],
    ids=["verdict", "acknowledgement"],
)
def test_a_kill_after_only_a_message_that_may_have_gone_leaves_its_record_where_the_flavour_keeps_one(
    tmp_path, job_config, service, manifest, verdict, recorded
):
    """Alice's message went with no answer, and bob's is at the service when the docker runner kills the job: the
    verdict's report records alice as it would at its end, and bob as left for the next run; the acknowledgement's
    records nobody, and says so."""
    service.script.extend([stalled(4), stalled(4)])
    killed = killed_once_taken(tmp_path, job_config(manifest, **service.items, smtp_timeout=2), service, verdict, 2)

    said = killed.output["full"]["message"] if killed.success else killed.error
    assert f"The mail service had the whole message to {ALICE} and never answered: it may have gone out" in said
    assert killed.success == bool(recorded)
    assert killed.tags == recorded, "no 'mail sent' while no message is known to have gone"
    if recorded:
        assert said.startswith(
            "Phish_Feedback was ended while the messages were going out, before the mail service had accepted any"
            " message."
        )
        assert "The case records them as feedback_unsure, and no run mails them again. It mails the 1 others" in said


def test_a_job_whose_only_message_got_no_answer_records_that_it_may_have_gone_and_no_rerun_mails_it(cortex, service):
    service.script.append(stalled(3))
    case = thehive4_case("Spam", [ALICE])
    first = cortex(case, **service.items, smtp_timeout=1)
    time.sleep(2)  # the stalled answer comes
    second = cortex(apply_operations(case, first), **service.items)

    assert first.success, first.error
    assert first.output["full"]["message"].startswith(
        f"No feedback is known to have been sent. 1 may have been reached: {ALICE} ({named(service)} had the whole"
        " message but did not answer within 1 s: it may have gone out all the same"
    )
    assert first.output["full"]["message"].endswith(
        "The case records them as feedback_unsure, and no run mails them again."
    )
    assert first.tags == [f"feedback_unsure:{ALICE}"], "no 'mail sent' for a message not known to have gone"
    assert second.output["full"]["maybe_notified"] == [ALICE]
    assert service.took() == [ALICE], "alice was not mailed a second time"


def test_an_acknowledgement_whose_only_message_got_no_answer_ends_as_an_error_which_records_nobody(cortex, service):
    """The acknowledgement records only whom it reached: the next run acknowledges them again, so the analyst is told
    to look first."""
    service.script.append(stalled(3))
    case = thehive4_case(None, [ALICE])
    result = cortex(case, manifest=ACKNOWLEDGE_MANIFEST, **service.items, smtp_timeout=1)

    assert not result.success and result.operations == []
    assert result.error.startswith(f"No feedback is known to have been sent. {named(service)} had the whole message")


def test_a_message_the_service_still_holds_at_the_deadline_is_not_said_unsent(deliver_within, service):
    service.script.append(stalled(4))
    with pytest.raises(DeliveryError) as nothing_known:
        deliver_within(thehive4_case("Spam", [ALICE]), 2.5, **service.items, smtp_timeout=600)

    assert str(nothing_known.value).startswith(
        f"No feedback is known to have been sent. {named(service)} had the whole message but the job's time budget"
        " ran out before it answered: it may have gone out all the same"
    )
    time.sleep(2)  # the held answer comes
    assert service.took() == [ALICE]


@pytest.fixture(params=["no-connection", "no-tls"])
def silent_port(request):
    """The port of a listener with no room for another connection: a connection to it is never made, as through a
    firewall that drops what it does not let through; or of one that takes connections and never answers TLS's
    first word, as a front end too busy, or a middlebox that drops the handshake."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0 if request.param == "no-connection" else 8)
        with socket.create_connection(listener.getsockname()):
            yield listener.getsockname()[1]


def test_a_service_that_takes_no_connection_is_said_unreachable_not_to_have_had_the_message(
    cortex, service, silent_port
):
    """No connection, no message: the reporter is simply not reached, and nobody is told to look for a message
    that may have gone. A handshake that timed out was told as a message the service had whole, and recorded so."""
    result = cortex(
        thehive4_case("Spam", [ALICE]), **service.elsewhere(f"https://127.0.0.1:{silent_port}"), smtp_timeout=1
    )

    assert not result.success
    assert "could not be reached (no connection within 1 s)" in result.error, result.error
    assert "may have gone out all the same" not in result.error


def test_a_service_that_takes_no_connection_until_the_deadline_is_said_to_have_outlasted_the_time_budget(
    deliver_within, service, silent_port
):
    """The wait for the connection was cut to what was left of the budget: told as its own length, it would send
    the admin after a timeout nobody set, when a larger jobTimeout is what would have given the service its time."""
    url = f"https://127.0.0.1:{silent_port}"
    with pytest.raises(DeliveryError) as nothing_sent:
        deliver_within(thehive4_case("Spam", [ALICE]), 2.5, **service.elsewhere(url), smtp_timeout=600)

    said = str(nothing_sent.value)
    assert f"the job's time budget ran out while waiting for {service.name.split(' at ')[0]} at {url}" in said
    assert "no connection within" not in said


def test_a_redirect_is_not_followed_and_names_the_url_item(cortex, service):
    service.script.append(Reply(307, headers={"Location": "https://elsewhere.example/send"}))
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items)

    assert not result.success
    assert (
        f"{named(service)} answered with a redirect (HTTP 307) to https://elsewhere.example,"
        " which is never followed." in result.error
    )
    assert f"Check {service.url_item}" in result.error
    assert len(service.script) == 0 and service.took() == [], "nothing was tried again"


def test_a_redirect_to_a_host_written_with_terminal_controls_names_no_host(cortex, service):
    service.script.append(Reply(307, headers={"Location": "https://\x1bc\x07\x9b2J\x08evil.example/x"}))
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items)

    assert f"{named(service)} answered with a redirect (HTTP 307), which is never followed" in result.error
    assert result.error.isprintable(), repr(result.error)


def test_a_server_error_is_tried_again_over_a_new_channel_and_everyone_is_reached(cortex, service):
    service.script.append(service.unavailable[0])
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items)

    assert result.success, result.error
    assert service.took() == [ALICE, BOB] and failed(result) == {}


def test_a_service_down_past_the_retries_says_what_it_last_answered_and_what_to_check(cortex, service):
    answer, said = service.unavailable
    service.script.extend([answer] * 3)
    result = cortex(thehive4_case("Spam", [ALICE]), **service.items, smtp_retries=1)

    assert not result.success
    assert f"the last answer from {service.name} was {said} (after 2 attempt(s))" in result.error
    assert f". Check {service.url_item}" in result.error and "(OSError)" not in result.error
    assert result.error.endswith("Cortex's proxy settings.")


def test_a_throttled_message_waits_what_retry_after_says_and_goes_again(cortex, service):
    service.script.append(service.throttled("2"))
    started = time.monotonic()
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items)

    assert result.success, result.error
    assert service.took() == [ALICE, BOB]
    assert time.monotonic() - started >= 2, "the service's wait, not the back-off of 1 s"


def test_an_endless_refusal_is_read_only_in_part_and_the_next_reporter_is_mailed(cortex, service):
    service.script.append(service.refusal("x" * 5_000_000))
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), **service.items)

    assert result.success, result.error
    assert notified(result) == [BOB]
    assert len(failed(result)[ALICE]) < 200
