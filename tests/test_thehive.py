"""Reporters and the reported message from the case's observables, through TheHive 4 and 5's APIs; alerts too."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from testkit.cases import thehive4_case, thehive5_case, thehive_alert
from testkit.cortex import JobResult, after_job, apply_operations, modules_loaded_by, run_job, write_job
from testkit.ports import free_port
from testkit.proxy import ConnectProxy
from testkit.thehive_api import API_KEY, legacy_observable, v1_alert, v1_observable

V1 = "/api/v1/query"
LEGACY = "/api/case/artifact/_search"
SUBJECT = "Your mailbox is almost full"
OBSERVABLES = [
    ("mail", "bob@example.org", ["reporter"]),
    ("mail", "it-support@evil.example", []),
    ("mail_subject", SUBJECT, []),
    ("file", None, []),
]


def bodies(thehive, path):
    return [json.loads(request.data) for request, _ in thehive.log if request.path == path]


def test_thehive5_observables_add_reporters_and_the_reported_subject(cortex, smtp, thehive, api):
    thehive.expect_request(V1, method="POST", query_string="name=case-observables").respond_with_json(
        [v1_observable(*o) for o in OBSERVABLES]
    )
    result = cortex(thehive5_case("Spam", ["alice@example.org"]), subject="Re: {reported_subject}", **api)

    assert result.success, result.error
    assert sorted(smtp.recipients()) == ["alice@example.org", "bob@example.org"]
    assert smtp.delivered[0].message["Subject"] == f"Re: {SUBJECT}"
    assert result.output["full"]["from_observables"] == {
        "reporters": ["bob@example.org"],
        "reported_subject": SUBJECT,
        "reported_sender": "it-support@evil.example",
    }
    request = thehive.log[0][0]
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["X-Organisation"] == "SOC"
    assert bodies(thehive, V1)[0] == {
        "query": [
            {"_name": "getCase", "idOrName": "~8256"},
            {"_name": "observables"},
            {"_name": "page", "from": 0, "to": 100},
        ]
    }


def test_reported_sender_is_offered_to_templates(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_json([v1_observable(*o) for o in OBSERVABLES])
    template = "The message from {reported_sender} was spam, {reporter}."
    assert cortex(thehive5_case("Spam", ()), template_spam=template, **api).success

    assert "The message from it-support@evil[.]example was spam, bob@example.org." in smtp.delivered[0].content.decode()


def test_observables_are_read_page_by_page(cortex, smtp, thehive, api):
    first = [v1_observable("mail", f"user{i}@example.org", ["reporter"]) for i in range(100)]
    second = [v1_observable("mail", "last@example.org", ["Reporter"])]

    def page(request):
        start = json.loads(request.data)["query"][2]["from"]
        return Response(json.dumps(first if start == 0 else second), content_type="application/json")

    thehive.expect_request(V1).respond_with_handler(page)
    result = cortex(thehive5_case("Phishing", ()), **api)

    assert result.success, result.error
    assert [b["query"][2] for b in bodies(thehive, V1) if b["query"][1] == {"_name": "observables"}] == [
        {"_name": "page", "from": 0, "to": 100},
        {"_name": "page", "from": 100, "to": 200},
    ]
    assert len(smtp.delivered) == 101


def test_thehive_without_v1_api_is_read_through_the_legacy_search(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_data("Not found", status=404)
    thehive.expect_request(LEGACY, method="POST", query_string="range=all").respond_with_json(
        [legacy_observable(*o) for o in OBSERVABLES]
    )
    result = cortex(thehive4_case("Spam", ()), **api)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert bodies(thehive, LEGACY) == [{"query": {"_parent": {"_type": "case", "_query": {"_id": "~41160752"}}}}]


def test_api_chosen_by_the_admin_is_the_only_one_asked(cortex, smtp, thehive, api):
    thehive.expect_request(LEGACY).respond_with_json([legacy_observable(*o) for o in OBSERVABLES])
    result = cortex(thehive4_case("Spam", ()), thehive_api="legacy", thehive_organisation="Other org", **api)

    assert result.success, result.error
    assert [request.path for request, _ in thehive.log] == [LEGACY]
    assert thehive.log[0][0].headers["X-Organisation"] == "Other org"


def test_server_error_is_retried(cortex, smtp, thehive, api):
    thehive.expect_oneshot_request(V1).respond_with_data("busy", status=503)
    thehive.expect_request(V1).respond_with_json([v1_observable(*OBSERVABLES[0])])
    result = cortex(thehive5_case("Spam", ()), **api)

    assert result.success, result.error
    # The observables twice, then the case's merged alerts (for the reporters' own reports) once.
    assert [request.args["name"] for request, _ in thehive.log] == [
        "case-observables",
        "case-observables",
        "case-alerts",
    ]
    assert smtp.recipients() == ["bob@example.org"]


FAILURES = [
    (401, "refused the API key (HTTP 401)"),
    (403, "refused the API key (HTTP 403)"),
    (500, "answered HTTP 500"),
    (200, "answered something other than JSON (HTTP 200). Check that thehive_url points at TheHive"),
]


@pytest.mark.parametrize(("status", "says"), FAILURES)
def test_thehive_failure_without_reporter_tags_is_an_error_naming_url_and_status(
    cortex, smtp, thehive, api, status, says
):
    thehive.expect_request(V1).respond_with_data("<html>oops</html>", status=status)
    thehive.expect_request(LEGACY).respond_with_data("<html>oops</html>", status=status)
    result = cortex(thehive5_case("Spam", ()), **api)

    assert not result.success
    assert says in result.error and api["thehive_url"] in result.error
    assert API_KEY not in result.everything_printed()
    assert result.output["input"]["config"]["thehive_apikey"] == "REMOVED"
    assert smtp.delivered == []


@pytest.mark.parametrize(("status", "says"), FAILURES)
def test_thehive_failure_with_reporter_tags_sends_anyway_and_warns(cortex, smtp, thehive, api, status, says):
    thehive.expect_request(V1).respond_with_data("<html>oops</html>", status=status)
    result = cortex(thehive5_case("Spam", ["alice@example.org"]), **api)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    [warning] = result.output["full"]["warnings"]
    assert says in warning and "taken from the case's tags only" in warning
    assert result.output["full"]["message"] == "Feedback 'Spam' sent to 1 reporter(s). See the 1 warning(s).", (
        "the message the analyst reads first points at the warning"
    )
    assert API_KEY not in result.everything_printed()


def test_an_https_address_where_thehive_speaks_plain_http_is_said_so_and_the_job_goes_on(cortex, smtp, thehive, api):
    # TheHive itself listens on plain HTTP (port 9000): https:// there is a likely first try.
    plain = {**api, "thehive_url": api["thehive_url"].replace("http://", "https://")}
    result = cortex(thehive5_case("Spam", ["alice@example.org"]), **plain)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    [warning] = result.output["full"]["warnings"]
    assert "TLS failed: WRONG_VERSION_NUMBER; nothing speaks HTTPS at that address" in warning


def test_both_apis_absent_is_an_error(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_data("", status=404)
    thehive.expect_request(LEGACY).respond_with_data("", status=404)
    result = cortex(thehive4_case("Spam", ()), **api)

    assert not result.success
    assert "answered HTTP 404 to /api/case/artifact/_search" in result.error


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "LOCALHOST"], ids=["ipv4", "ipv6", "upper_case"])
def test_unreachable_thehive_is_an_error_that_names_the_url_as_configured(cortex, smtp, host):
    url = f"http://{host}:{free_port()}"
    result = cortex(thehive5_case("Spam", ()), thehive_url=url, thehive_apikey=API_KEY, smtp_timeout=2)

    assert not result.success
    assert f"TheHive at {url} could not be reached (the connection was refused)" in result.error
    assert API_KEY not in result.everything_printed()


def test_a_thehive_that_redirects_is_an_error_and_the_key_goes_nowhere_else(cortex, smtp, thehive, api):
    elsewhere = thehive.url_for("/elsewhere/api/v1/query")
    thehive.expect_request("/api/v1/query").respond_with_data("", status=307, headers={"Location": elsewhere})
    result = cortex(thehive5_case("Spam", ()), **api)

    assert not result.success
    assert "answered with a redirect (HTTP 307) to http://127.0.0.1, which is never followed" in result.error
    assert "The API key goes to no other URL" in result.error
    assert [request.path for request, _ in thehive.log] == ["/api/v1/query"]


def test_credentials_written_into_the_url_are_never_shown(cortex, smtp):
    url = f"http://admin:Hunter2Secret@127.0.0.1:{free_port()}"
    result = cortex(thehive5_case("Spam", ()), thehive_url=url, thehive_apikey=API_KEY, smtp_timeout=2)

    assert not result.success
    assert "Hunter2Secret" not in result.error


@pytest.mark.parametrize(
    ("items", "named"),
    [
        ({"thehive_apikey": "ключ-0123456789abcdef"}, "thehive_apikey holds"),
        ({"thehive_organisation": "Отдел безопасности"}, "The organisation 'Отдел безопасности' holds"),
        ({"thehive_apikey": f"{API_KEY}\x00"}, "thehive_apikey holds"),
    ],
    ids=["key-outside-latin1", "organisation-outside-latin1", "key-with-control-character"],
)
def test_key_or_organisation_no_header_can_carry_is_an_error_naming_it(cortex, smtp, thehive, api, items, named):
    result = cortex(thehive5_case("Spam", ()), **{**api, **items})

    assert not result.success
    assert f"{named} a character that an HTTP header cannot carry" in result.error
    assert thehive.log == [] and smtp.delivered == []


def test_thehive_over_verified_tls_with_cortex_cacerts(cortex, smtp, thehive_tls):
    url = thehive_tls.url_for("/").rstrip("/")
    trusted = cortex(thehive5_case("Spam", ()), thehive_url=url, thehive_apikey=API_KEY)
    untrusted = cortex(thehive5_case("Spam", ()), thehive_url=url, thehive_apikey=API_KEY, cacerts=None, smtp_timeout=2)

    assert trusted.success, trusted.error
    assert url.startswith("https://")
    assert f"The certificate of TheHive at {url} could not be verified" in untrusted.error


def test_alert_uses_its_own_artifacts_and_tags_the_alert(cortex, smtp, thehive, api):
    alert = thehive_alert("Legit email", ["alice@example.org"], [v1_observable(*o) for o in OBSERVABLES])
    result = cortex(alert, data_type="thehive:alert", subject="About: {reported_subject}", **api)

    assert result.success, result.error
    assert thehive.log == []
    assert sorted(smtp.recipients()) == ["alice@example.org", "bob@example.org"]
    assert smtp.delivered[0].message["Subject"] == f"About: {SUBJECT}"
    assert {op["type"] for op in result.operations} == {"AddTagToAlert"}
    assert {"type": "AddTagToAlert", "tag": "mail sent"} in result.operations


def test_plain_case_job_does_not_call_thehive(cortex, smtp, thehive):
    assert cortex(thehive4_case("Spam")).success
    assert thehive.log == []


def test_plain_case_job_does_not_load_the_http_stack(smtp, job_config, tmp_path):
    job = write_job(tmp_path, thehive4_case("Spam"), job_config())

    assert modules_loaded_by(job, ("requests", "urllib3", "http")) == []
    assert smtp.recipients() == ["alice@example.org"]


def test_plain_case_job_loads_none_of_the_costlier_standard_modules(smtp, job_config, tmp_path):
    """Cortex starts a process per click: each of these would cost every job a few per cent (docs/performance.md)."""
    job = write_job(tmp_path, thehive4_case("Spam"), job_config())

    assert modules_loaded_by(job, ("typing", "dataclasses", "inspect", "pathlib", "threading")) == []


def test_a_first_answer_compiles_no_pattern_of_the_timed_records(smtp, job_config, tmp_path):
    """The case holds no record yet: reading the record finds none, and needs no pattern (docs/performance.md)."""
    job = write_job(tmp_path, thehive4_case("Spam"), job_config())

    compiled = after_job(job, "sys.modules['feedback.tags']._record_pattern.cache_info().currsize")

    assert compiled == "0"
    assert smtp.recipients() == ["alice@example.org"]


def test_a_job_without_thehive_url_loads_no_part_of_thehives_api(smtp, job_config, tmp_path):
    job = write_job(tmp_path, thehive4_case("Spam"), job_config())

    loaded = set(modules_loaded_by(job, ("feedback",)))

    assert "feedback.thehive.observables" in loaded
    assert not loaded & {"feedback.thehive.api", "feedback.thehive.observables_api", "feedback.http_failures"}


def test_job_with_thehive_configured_loads_requests(smtp, job_config, tmp_path, thehive, api):
    thehive.expect_request(V1).respond_with_json([])
    job = write_job(tmp_path, thehive5_case("Spam"), job_config(**api))

    assert "requests" in modules_loaded_by(job, ("requests",))


def test_thehive_certificate_from_the_system_store_is_trusted(cortex, smtp, certificates, thehive_tls, tmp_path):
    system_store = tmp_path / "system-ca.pem"
    system_store.write_text(certificates.ca_pem)
    url = thehive_tls.url_for("/").rstrip("/")
    store = {"SSL_CERT_FILE": str(system_store)}
    result = cortex(thehive5_case("Spam", ()), thehive_url=url, thehive_apikey=API_KEY, cacerts=None, environment=store)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]


@pytest.mark.parametrize("form", ["object", "keys"])
def test_cortex_proxy_settings_carry_the_calls_to_thehive(cortex, smtp, thehive_tls, form):
    proxy = ConnectProxy()
    settings = {"proxy": {"http": proxy.url, "https": proxy.url}} if form == "object" else {"proxy_https": proxy.url}
    try:
        result = cortex(
            thehive5_case("Spam", ()),
            thehive_url=thehive_tls.url_for("/").rstrip("/"),
            thehive_apikey=API_KEY,
            **settings,
        )
    finally:
        proxy.close()

    assert result.success, result.error
    assert proxy.tunnels and set(proxy.tunnels) == {f"127.0.0.1:{thehive_tls.port}"}
    assert smtp.recipients() == ["bob@example.org"]


def test_a_plain_http_thehive_on_this_machine_is_never_reached_through_a_proxy(cortex, smtp, thehive, api):
    """Its API key would cross the network to the proxy in clear text; and the proxy's loopback is not Cortex's."""
    thehive.expect_request(V1).respond_with_json([v1_observable(*OBSERVABLES[0])])
    proxy = ConnectProxy()
    try:
        result = cortex(thehive5_case("Spam", ()), proxy_http=proxy.url, proxy_https=proxy.url, **api)
    finally:
        proxy.close()

    assert result.success, result.error
    assert proxy.refused == [] and proxy.tunnels == []
    assert thehive.log[0][0].headers["Authorization"] == f"Bearer {API_KEY}"
    assert smtp.recipients() == ["bob@example.org"]


@pytest.mark.parametrize("subject_type", ["mail_subject", "mail-subject"])
def test_reported_subject_observable_of_thehive4_or_5(cortex, smtp, thehive, api, subject_type):
    thehive.expect_request(V1).respond_with_json([v1_observable(subject_type, SUBJECT)])
    result = cortex(thehive5_case("Spam"), subject="Re: {reported_subject}", **api)

    assert result.success, result.error
    assert smtp.delivered[0].message["Subject"] == f"Re: {SUBJECT}"


def test_a_reporter_tag_with_a_namespace_is_read_as_thehive40_shows_it(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_json([v1_observable("mail", "bob@example.org", ['phishing="reporter"'])])

    result = cortex(thehive5_case("Spam", ()), reporter_tag="phishing:reporter", **api)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]


def test_a_reporter_tag_the_admin_wrote_in_capitals_finds_the_observables_tagged_in_lower_case(
    cortex, smtp, thehive, api
):
    thehive.expect_request(V1).respond_with_json([v1_observable("mail", "bob@example.org", ["reporter"])])

    result = cortex(thehive5_case("Spam", ()), reporter_tag="Reporter", **api)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]


def test_reporter_from_an_observable_is_mailed_once_across_runs(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_json([v1_observable(*OBSERVABLES[0])])
    case = thehive5_case("Spam", ["alice@example.org"])
    first = cortex(case, **api)
    second = cortex(apply_operations(case, first), **api)

    assert sorted(smtp.recipients()) == ["alice@example.org", "bob@example.org"]
    assert second.output["full"]["already_notified"] == ["alice@example.org", "bob@example.org"]
    assert second.operations == []


@pytest.mark.parametrize(
    ("values", "verdict"), [(["Phishing"], "Phishing"), ([" legit  EMAIL "], "Legit email"), (["Spam", None], "Spam")]
)
def test_thehive5_multi_value_verdict_field_with_one_value_is_used(cortex, smtp, values, verdict):
    case = thehive5_case(None)
    case["customFieldValues"] = {"phishFeedback": values}
    result = cortex(case)

    assert result.success, result.error
    assert result.output["full"]["verdict"] == verdict


@pytest.mark.parametrize(
    "fields",
    [
        {"customFieldValues": {"phishFeedback": ["Spam", "Phishing"]}},
        {"customFields": [{"name": "phishFeedback", "type": "string", "value": ["Spam", "Phishing"], "order": 0}]},
    ],
)
def test_several_verdicts_in_one_field_are_an_error_naming_them(cortex, smtp, fields):
    case = {k: v for k, v in thehive5_case(None).items() if k != "customFieldValues"}
    result = cortex({**case, **fields})

    assert not result.success
    assert "The custom field 'phishFeedback' holds several values ('Spam', 'Phishing')" in result.error
    assert smtp.delivered == []


@pytest.fixture
def stalled_thehive():
    """A TheHive that accepts every request and then stalls: silent, or a byte every 2 s, until the test ends."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    released = threading.Event()
    server.released = released
    yield server
    released.set()
    server.clear()
    server.stop()


def silent(released):
    def handler(request):
        released.wait(120)
        return Response("[]", content_type="application/json")

    return handler


def trickling(released):
    def body():
        yield b"["
        while not released.wait(2):
            yield b" "
        yield b"]"

    def handler(request):
        return Response(body(), content_type="application/json")

    return handler


def within_cortex_time_limit(tmp_path, job_config, case, **items) -> JobResult:
    """The job with jobTimeout 1: Cortex would stop it after 60 s, so it must be over well before."""
    return run_job(tmp_path, case, job_config(**{"jobTimeout": 1, "smtp_timeout": 30, **items}), timeout=55)


@pytest.mark.slow
def test_silent_thehive_is_given_up_at_its_share_of_the_time_and_the_tags_are_used(
    tmp_path, job_config, smtp, stalled_thehive
):
    stalled_thehive.expect_request(V1).respond_with_handler(silent(stalled_thehive.released))
    url = stalled_thehive.url_for("/").rstrip("/")
    result = within_cortex_time_limit(
        tmp_path, job_config, thehive5_case("Spam", ["alice@example.org"]), thehive_url=url, thehive_apikey=API_KEY
    )

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    [warning] = result.output["full"]["warnings"]
    assert re.search(
        f"TheHive at {re.escape(url)} gave no complete answer within 1[0-6] s, the share of the job's time", warning
    )
    assert "taken from the case's tags only" in warning and "smtp_timeout" not in warning


@pytest.mark.slow
def test_trickling_thehive_without_reporter_tags_is_an_error_that_blames_it_and_the_time(
    tmp_path, job_config, smtp, stalled_thehive
):
    stalled_thehive.expect_request(V1).respond_with_handler(trickling(stalled_thehive.released))
    url = stalled_thehive.url_for("/").rstrip("/")
    result = within_cortex_time_limit(
        tmp_path, job_config, thehive5_case("Spam", ()), thehive_url=url, thehive_apikey=API_KEY
    )

    assert not result.success
    assert re.search(f"TheHive at {re.escape(url)} gave no complete answer within 1[0-6] s", result.error)
    assert "jobTimeout" in result.error and "smtp_timeout" not in result.error
    assert smtp.delivered == []


def test_read_that_times_out_is_not_sent_again_and_the_tags_are_used(cortex, smtp, stalled_thehive):
    asked = []
    wait = silent(stalled_thehive.released)
    stalled_thehive.expect_request(V1).respond_with_handler(lambda request: asked.append(1) or wait(request))
    url = stalled_thehive.url_for("/").rstrip("/")
    case = thehive5_case("Spam", ["alice@example.org"])
    result = cortex(case, thehive_url=url, thehive_apikey=API_KEY, smtp_timeout=2)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    [warning] = result.output["full"]["warnings"]
    assert f"TheHive at {url} did not answer within 2 s." in warning
    assert asked == [1]


@pytest.mark.slow
def test_thehive_gets_one_third_of_the_jobs_time_for_all_its_reads(tmp_path, job_config, smtp, stalled_thehive):
    """The observables come 13 s into TheHive's 16 s (jobTimeout 1: 48 s for the job), then the merged alerts never
    do: they get what is left of that third, not a third of their own, which delivery would lack."""
    answered = []

    def handler(request):
        if request.args.get("name") == "case-observables":
            time.sleep(13)
            answered.append(time.monotonic())
            return Response("[]", content_type="application/json")
        return silent(stalled_thehive.released)(request)

    stalled_thehive.expect_request(V1).respond_with_handler(handler)
    url = stalled_thehive.url_for("/").rstrip("/")
    result = within_cortex_time_limit(
        tmp_path, job_config, thehive5_case("Spam", ["alice@example.org"]), thehive_url=url, thehive_apikey=API_KEY
    )

    assert result.success, result.error
    assert smtp.delivered[0].arrived - answered[0] < 7, "the merged alerts had a third of their own"
    assert "(In-Reply-To)" in result.output["full"]["warnings"][0]


def observables_in_pages(thehive, observables: list[dict]) -> None:
    """TheHive 5 answering a case's observables in the pages it is asked for, and nothing else."""

    def page(request):
        if request.args.get("name") != "case-observables":
            return Response("[]", content_type="application/json")
        asked = json.loads(request.data)["query"][2]
        return Response(json.dumps(observables[asked["from"] : asked["to"]]), content_type="application/json")

    thehive.expect_request(V1).respond_with_handler(page)


@pytest.mark.slow
@pytest.mark.parametrize(("count", "read"), [(10_000, True), (10_001, False)])
def test_a_case_is_read_whole_up_to_the_most_observables_and_not_past_them(cortex, smtp, thehive, api, count, read):
    """10,000 observables are the bound, not past it; one more, on a 101st page of its own, is past it. The last
    observable names a reporter."""
    observables = [v1_observable("domain", f"host{i}.example", []) for i in range(count - 1)]
    observables_in_pages(thehive, [*observables, v1_observable("mail", "bob@example.org", ["reporter"])])
    result = cortex(thehive5_case("Spam", ["alice@example.org"]), **api)

    assert result.success, result.error
    assert ("bob@example.org" in smtp.recipients()) is read
    past = [w for w in result.output["full"]["warnings"] if "sent more than 10,000 observables" in w]
    assert len(past) == (0 if read else 1)


def test_the_merged_alerts_share_the_16_mb_read_from_thehive_with_the_observables(cortex, smtp, thehive, api):
    """About 9 MB of observables, then 9 MB of merged alerts: past 16 MB in all, the alerts are not read whole, and
    the message goes out of its thread, with a warning."""
    padding = "x" * 150_000
    observables = [{**v1_observable("domain", f"h{i}.example", []), "message": padding} for i in range(60)]
    alerts = [dict(v1_alert(f"ticket-{i}"), description=padding) for i in range(60)]
    alerts.append(v1_alert("<CAKx5Yq2p+Lw0vQ=9hZr@mail.gmail.com>", ["user_email:alice@example.org"]))

    def page(request):
        asked = json.loads(request.data)["query"][2]
        listed = {"case-observables": observables, "case-alerts": alerts}.get(request.args.get("name"), [])
        return Response(json.dumps(listed[asked["from"] : asked["to"]]), content_type="application/json")

    thehive.expect_request(V1).respond_with_handler(page)
    result = cortex(thehive5_case("Spam", ["alice@example.org"]), **api)

    assert result.success, result.error
    assert smtp.delivered[0].message["In-Reply-To"] is None
    [warning] = result.output["full"]["warnings"]
    assert "answered more than 16 MB" in warning and "(In-Reply-To)" in warning


def test_a_control_in_what_the_case_gave_is_shown_to_the_analyst_as_its_escape_not_obeyed(cortex, smtp, thehive, api):
    """The attacker's sender with a right-to-left override reads as another address ('ceo@live.example') in the report
    Cortex and TheHive show; so do a reporter observable and a reporter tag built the same way."""
    sender, observed, tagged = (
        "ceo@\u202eelpmaxe.evil\u202c",
        "\u202egro.elpmaxe@eve",
        "alice@example.org\u202egro.elpmaxe",
    )
    observables = [v1_observable("mail", sender, []), v1_observable("mail", observed, ["reporter"])]
    thehive.expect_request(V1).respond_with_json(observables)
    result = cortex(thehive5_case("Phishing", ["bob@example.org", tagged]), **api)

    assert result.success, result.error
    full = result.output["full"]
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", json.dumps(full, ensure_ascii=False))
    assert full["from_observables"]["reported_sender"] == "ceo@\\u202eelpmaxe.evil\\u202c"
    assert full["from_observables"]["reporters"] == ["\\u202egro.elpmaxe@eve"]
    assert "alice@example.org\\u202egro.elpmaxe" in [refusal["value"] for refusal in full["refused"]]
