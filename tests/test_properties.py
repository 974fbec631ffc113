"""Whatever TheHive and the admin send, Cortex gets a valid output, and no mail goes unrecorded.

The jobs run in-process for speed (the script's own `main`, on a job folder as Cortex writes it);
the end-to-end tests run it as a process. PHISHFEEDBACK_EXAMPLES sets how many inputs to try.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
import os
import re
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from feedback.addresses import AddressError, parse_address
from testkit.cases import thehive4_case
from testkit.certificates import Certificates
from testkit.cortex import MANIFEST, REPO, cortex_config, read_output, write_job
from testkit.secret_forms import leaked, reflecting_thehive
from testkit.slow_scrub import forget_secrets
from testkit.smtp_faults import PASSWORD, USER, Faults
from testkit.smtp_server import LoopbackSmtp

EXAMPLES = int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "150"))
SCRIPT = REPO / "PhishFeedback" / "phish_feedback.py"
UNEXPECTED = "Phish_Feedback stopped on an unexpected"
# Items that point the job at other machines stay on the loopback server: fuzzing never leaves it.
PINNED = ("smtp_host", "smtp_port", "thehive_url")
ITEMS = [
    i["name"] for i in json.loads(MANIFEST.read_text(encoding="utf-8"))["configurationItems"] if i["name"] not in PINNED
]

scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
addresses = st.sampled_from(
    [
        "alice@example.org",
        "Alice@Example.org",
        "bob@example.org",
        "carol@sub.example.org",
        "mallory@evil.example",
        "x@y",
        "not an address",
        "a@example.org\r\nBcc: eve@evil.example",
        "a@example.org, eve@evil.example",
        "",
    ]
)
reporter_tags = st.builds(
    str.format,
    st.sampled_from(["user_email:{}", "user_email={}", 'user_email="{}"', " USER_EMAIL:{} ", "feedback_sent:{}"]),
    addresses,
)
tags = st.one_of(reporter_tags, reporter_tags, reporter_tags, st.text(max_size=20))
verdicts = st.sampled_from(
    [
        "Phishing",
        "Spam",
        "Legit email",
        " spam ",
        "LEGIT EMAIL",
        "Phishing",
        "Spam",
        "Legit email",
        "maybe",
        "",
        None,
        3,
        ["Spam"],
        ["Spam", "Phishing"],
    ]
)
custom_fields = st.one_of(
    st.builds(lambda v: {"phishFeedback": {"string": v, "order": 0}}, verdicts),
    st.builds(lambda v: [{"name": "phishFeedback", "type": "string", "value": v}], verdicts),
)
titles = st.sampled_from(
    [
        "Phishing report: Invoice overdue",
        "  PHISHING REPORT - Your parcel is waiting",
        "Phishing report: Urgent\r\nBcc: eve@evil.example",
        "Phishing report: <script>alert(1)</script> & {reporter} {0} }{",
        "Phishing report: Facture impayée — 請求書",
        "[EXT] FW: Phishing report: Invoice overdue",
        "Phishing report: =?utf-8?b?DQpSZXBseS1UbzogZXZlQGV2aWwuZXhhbXBsZQ0KDQo8aDE+b3duZWQ=?=",
        "Ransomware on FS01",
        "",
    ]
) | st.builds("Phishing report: {}".format, st.text(max_size=40))
cases = st.fixed_dictionaries(
    {
        "_id": st.just("~4096"),
        "title": titles,
        "tags": st.lists(tags, min_size=1, max_size=6),
        "customFields": custom_fields,
    },
    optional={
        "customFieldValues": st.dictionaries(st.just("phishFeedback"), verdicts),
        "caseId": json_values,
        "startDate": json_values,
    },
)
plausible = st.sampled_from(
    [
        "SOC <soc@example.org>",
        "starttls",
        "tls",
        "none",
        "fr",
        "nl",
        "xx",
        "Re: {reported_subject}",
        "Hello {reporter}, {unknown}",
        "{",
        "Thanks {reporter}!\n\nSee https://example.org/help.",
        ["example.org"],
        True,
        False,
        0,
        3,
    ]
)
overlays = st.one_of(
    st.just({}),
    st.just({}),
    st.dictionaries(st.sampled_from(ITEMS), plausible, max_size=3),
    st.dictionaries(st.sampled_from(ITEMS), plausible, max_size=3),
    st.dictionaries(st.sampled_from(ITEMS), json_values, max_size=3),
)


@pytest.fixture(scope="module")
def server():
    with LoopbackSmtp(Certificates()) as smtp:
        yield smtp


@pytest.fixture(scope="module")
def entry():
    spec = importlib.util.spec_from_file_location("phish_feedback_entry", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The script ends its process once the report is written; here the process is the tests'.
    module.end_process = sys.exit
    return module


def run_in_process(entry, data, config, data_type="thehive:case"):
    """The script's main on a job folder, with argv, environment, signals and output as a process has them."""
    # A process remembers only its own job's secrets.
    forget_secrets()
    with tempfile.TemporaryDirectory() as workdir:
        job = write_job(Path(workdir), data, config, data_type=data_type)
        argv, environment, printed = sys.argv, dict(os.environ), io.StringIO()
        on_sigterm = signal.getsignal(signal.SIGTERM)
        sys.argv = [str(SCRIPT), str(job)]
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                entry.main()
        except SystemExit:
            pass
        finally:
            sys.argv = argv
            signal.signal(signal.SIGTERM, on_sigterm)
            os.environ.clear()
            os.environ.update(environment)
        output, raw = read_output(job)
    return output, raw + printed.getvalue()


def config_for(server, overlay) -> dict:
    values = {
        "from": "SOC <soc@example.org>",
        "smtp_user": USER,
        "smtp_password": PASSWORD,
        "smtp_timeout": 5,
        "smtp_retries": 0,
        **overlay,
        "smtp_host": server.host,
        "smtp_port": server.port,
        "thehive_url": None,
    }
    return cortex_config(values, cacerts=server.certificates_pem)


def assert_valid_and_accounted(output, printed, delivered):
    """A Cortex output that parses, and every delivered mail listed as notified (and tagged) exactly once."""
    assert isinstance(output, dict) and isinstance(output.get("success"), bool), printed
    assert "Traceback" not in printed and PASSWORD not in printed
    if not output["success"]:
        assert isinstance(output["errorMessage"], str) and output["errorMessage"]
        assert "operations" not in output
        assert delivered == [], "a mail went out but the job reports an error: its record is lost"
        return
    notified = [n["address"] for n in output["full"]["notified"]]
    assert Counter(r for d in delivered for r in d.rcpt_tos) == Counter(notified)
    assert all(len(d.rcpt_tos) == 1 for d in delivered)
    tags = [op["tag"] for op in output["operations"]]
    assert Counter(t for t in tags if t.startswith("feedback_sent:")) == Counter(f"feedback_sent:{a}" for a in notified)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, overlay=overlays)
def test_any_case_and_configuration_gives_a_valid_output_and_no_unrecorded_mail(server, entry, case, overlay):
    before = len(server.delivered)
    output, printed = run_in_process(entry, case, config_for(server, overlay))

    assert_valid_and_accounted(output, printed, server.delivered[before:])
    event("sent" if server.delivered[before:] else output.get("errorMessage", "nothing to send")[:40])
    assert not output.get("errorMessage", "").startswith(UNEXPECTED), output["errorMessage"]


@settings(max_examples=max(10, EXAMPLES // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=json_values,
    config=json_values,
    data_type=st.sampled_from(["thehive:case", "thehive:alert"]) | st.text(max_size=12),
)
def test_arbitrary_json_as_case_and_config_still_gives_a_valid_output(server, entry, data, config, data_type):
    before = len(server.delivered)
    output, printed = run_in_process(entry, data, config, data_type)

    assert_valid_and_accounted(output, printed, server.delivered[before:])


# --- Hostile reporter values: each one parses or is refused with a reason, never ends the job -----

address_pieces = st.one_of(
    st.sampled_from(
        [
            "alice",
            "a.b",
            "example.org",
            "xn--bcher-kva.example",
            "bücher.example",
            "@",
            ".",
            "..",
            "[",
            "]",
            "[1.2.3.4",
            "[1.2.3.4]",
            "[IPv6:::1]",
            '"',
            '"a b"',
            '"a@b"',
            "\\",
            "(",
            ")",
            "(comment)",
            "<",
            ">",
            ",",
            ";",
            ":",
            " ",
            "\t",
            "\r\n",
            "\x00",
            "\x7f",
            "\u200b",
            "\ud800",
            "=?utf-8?q?x?=",
        ]
    ),
    st.text(max_size=4),
)
hostile_addresses = st.lists(address_pieces, min_size=1, max_size=8).map("".join)


@settings(max_examples=EXAMPLES * 10, deadline=None)
@given(value=hostile_addresses)
@example(value="x@[")
@example(value="a@[1.2.3.4")
def test_every_reporter_value_parses_or_is_refused_with_a_reason(value):
    try:
        address = parse_address(value)
    except AddressError as refused:
        event("refused")
        assert str(refused)
        return
    event("parsed")
    assert address.isascii() and address.isprintable() and "@" in address
    assert parse_address(address) == address


@settings(max_examples=max(10, EXAMPLES // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(hostile_addresses, min_size=1, max_size=4))
@example(values=["x@[", "a@[1.2.3.4"])
def test_hostile_reporter_values_never_keep_the_valid_reporter_from_the_message(server, entry, values):
    case = thehive4_case("Spam", [*values, "alice@example.org"])
    output, printed = run_in_process(entry, case, config_for(server, {}))

    assert output["success"], output.get("errorMessage")
    assert "alice@example.org" in [n["address"] for n in output["full"]["notified"]]
    assert all(refused["reason"] for refused in output["full"]["refused"])
    assert "Traceback" not in printed


# --- The redaction invariant: no form of a secret in anything the job writes or sends ------------

secrets = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.sampled_from("  \t"), min_size=10, max_size=40
).filter(lambda s: len("".join(s.split())) >= 10)
CHANNELS = ("auth_plain", "auth_login", "auth_password", "rcpt", "rcpt_base64", "sender", "thehive", "proxy")


@pytest.fixture(scope="module")
def reflecting_server():
    """A TheHive that puts the Authorization header it got into the observables it returns."""
    from pytest_httpserver import HTTPServer

    with HTTPServer(host="127.0.0.1") as thehive:
        thehive.expect_request("/api/v1/query").respond_with_handler(reflecting_thehive)
        yield thehive


@settings(max_examples=max(20, EXAMPLES // 2), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets, channel=st.sampled_from(CHANNELS), prefix=st.text(max_size=5))
def test_no_form_of_a_secret_leaves_the_job_whatever_the_servers_echo(
    server, reflecting_server, entry, secret, channel, prefix
):
    event(channel)
    faults, mechanisms = Faults(password=secret), server.controller.SMTP_kwargs
    items = {"smtp_password": secret, "template_spam": "{reported_subject} / {reported_sender}\n\n{signature}"}
    case = thehive4_case("Spam", ["alice@example.org", "bob@example.org"])
    if channel.startswith("auth_"):
        # The reply quotes {plain}, {login} or {password}: what the client sent, as it sent it.
        faults.auth_reply = "535 5.7.8 Refused: {" + channel[len("auth_") :] + "}"
        if channel == "auth_login":
            mechanisms["auth_exclude_mechanism"] = ["PLAIN"]
    elif channel == "rcpt":
        faults.refuse["bob@example.org"] = f"550 5.1.1 Unknown user, you are {secret}"
    elif channel == "rcpt_base64":
        quoted = base64.b64encode(f"{prefix}{secret}{prefix}".encode()).decode()
        faults.refuse["bob@example.org"] = f"550 5.7.1 Session {quoted} refused"
    elif channel == "sender":
        faults.refuse_sender = f"553 5.7.1 {secret} may not send"
    elif channel == "thehive":
        faults.password = PASSWORD
        items.update(smtp_password=PASSWORD, thehive_url=reflecting_server.url_for("/").rstrip("/"))
        items["thehive_apikey"] = secret
    else:
        faults.password = PASSWORD
        proxy = f"http://proxy:{quote(secret, safe='')}@127.0.0.1:9/"
        items.update(smtp_password=PASSWORD, proxy_http=proxy, proxy_https=proxy, proxy={"http": proxy})
        case = thehive4_case(None)
    server.faults = faults
    before = len(server.delivered)
    config = config_for(server, items)
    config.update({k: v for k, v in items.items() if k == "thehive_url"})
    try:
        output, printed = run_in_process(entry, case, config)
    finally:
        server.faults = Faults()
        mechanisms.pop("auth_exclude_mechanism", None)

    assert isinstance(output, dict) and isinstance(output.get("success"), bool), printed
    assert not output.get("errorMessage", "").startswith(UNEXPECTED), output["errorMessage"]
    sent = []
    for delivered in server.delivered[before:]:
        message = delivered.message
        sent += [str(message["Subject"]), *delivered.rcpt_tos]
        sent += [message.get_body((k,)).get_content() for k in ("plain", "html")]
    everything = "\n".join([printed, json.dumps(output, ensure_ascii=False), *sent])
    # The job's own records are spared by design: a secret that is a piece of them by chance (`feedback_s`) cannot
    # tell a leak from the record.
    assume(leaked("\n".join(op["tag"] for op in output.get("operations", [])), secret, USER) == [])
    assert leaked(everything, secret, USER) == []


# --- Templates: a placeholder's value never becomes a link ---------------------------------------

url_bits = st.sampled_from(
    ["https://evil.example/login", "http://x.test/a?b=1&c=2", "https://evil.example/{", "www.evil.test", "<a href=x>"]
)
hostile_subjects = st.lists(url_bits | st.text(max_size=8), min_size=1, max_size=5).map(" ".join)
OWN_LINKS = {"https://intranet.example.org/help", "https://soc.example.org"}


@settings(max_examples=max(10, EXAMPLES // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=hostile_subjects, language=st.sampled_from(["en", "fr", "nl"]))
def test_only_the_templates_own_urls_become_links(server, entry, subject, language):
    items = {
        "dry_run": True,
        "language": language,
        "template_spam": "{reported_subject}, {case_title}\nhttps://intranet.example.org/help\n\n{signature}",
        "signature": "https://soc.example.org {reported_subject}",
        "guidance_url": "https://intranet.example.org/help",
    }
    for verdict in ("Spam", "Legit email"):
        case = thehive4_case(verdict, title=f"Phishing report: {subject}")
        output, printed = run_in_process(entry, case, config_for(server, items))

        assert output["success"], output.get("errorMessage")
        html = output["full"]["preview"][0]["html"]
        assert set(re.findall(r'href="([^"]*)"', html)) <= OWN_LINKS
