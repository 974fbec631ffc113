"""The `delivery` item: which way out a job takes, what each needs, and its secrets kept out of every report."""

from __future__ import annotations

import base64
import json
import time

import pytest

from feedback.settings import WAYS_OUT, read_settings
from feedback.shapes import replaced
from feedback.transports import TRANSPORTS, transport_for
from feedback.way_out import Transport
from testkit.cases import thehive4_case
from testkit.cortex import modules_loaded_by, read_output, write_job
from testkit.secret_forms import leaked

PEM_LINES = [base64.b64encode(bytes([i]) * 48).decode() for i in range(1, 6)]
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(PEM_LINES) + "\n-----END PRIVATE KEY-----\n"
SERVICE_ACCOUNT = json.dumps(
    {
        "type": "service_account",
        "project_id": "soc-feedback",
        "private_key_id": "3f1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e",
        "private_key": PRIVATE_KEY,
        "client_email": "feedback@soc-feedback.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    },
    indent=2,
)


def assert_key_hidden(result) -> None:
    printed = result.everything_printed()
    assert SERVICE_ACCOUNT not in printed and PRIVATE_KEY not in printed
    for line in PEM_LINES:
        assert leaked(printed, line, "") == []


def test_an_unknown_delivery_is_named(cortex, smtp):
    result = cortex(thehive4_case(), delivery="ews")

    assert not result.success
    assert f"delivery must be one of {', '.join(WAYS_OUT)} (it is 'ews')" in result.error
    assert smtp.delivered == []


def test_graph_without_the_oauth_items_names_them(cortex):
    result = cortex(thehive4_case(), delivery="graph")

    assert not result.success
    assert (
        "delivery is 'graph' but oauth_token_url and oauth_client_id and oauth_client_certificate"
        " (or oauth_client_secret) are empty" in result.error
    )


def test_graph_url_must_be_https(cortex):
    result = cortex(thehive4_case(), delivery="graph", graph_url="http://graph.example")

    assert not result.success
    assert "graph_url must be an https URL" in result.error


def test_gmail_without_a_service_account_says_what_to_paste(cortex):
    result = cortex(thehive4_case(), delivery="gmail")

    assert not result.success
    assert "gmail_service_account is empty" in result.error


def test_the_error_echo_of_the_input_hides_the_service_account_key(cortex):
    result = cortex(thehive4_case(), tlp=3, delivery="gmail", gmail_service_account=SERVICE_ACCOUNT)

    assert not result.success
    assert result.output["input"]["config"]["gmail_service_account"] == "REMOVED"
    assert_key_hidden(result)


def test_a_line_of_the_private_key_in_the_echoed_case_is_blotted_out(cortex):
    case = thehive4_case(title=f"Phishing report: {PEM_LINES[2]}")
    result = cortex(case, delivery="gmail", gmail_service_account=SERVICE_ACCOUNT, **{"from": "not an address"})

    assert not result.success
    assert_key_hidden(result)


def test_a_way_out_no_transport_takes_is_named_to_whoever_adds_it(job_config):
    class RelaySettings:
        """A fourth way out's settings, whose transport is not named in transports.TRANSPORTS yet."""

    settings = replaced(read_settings(job_config(), {}), way_out=RelaySettings())

    with pytest.raises(TypeError, match="No transport takes RelaySettings: add it to transports.TRANSPORTS"):
        transport_for(settings, time.monotonic() + 60)


def test_each_way_out_offers_the_whole_contract_of_a_transport(way_out, job_config):
    settings = read_settings(job_config(**way_out.items), {})
    transport = transport_for(settings, time.monotonic() + 60)

    assert isinstance(transport, Transport)
    assert "advice" in vars(type(transport)), "its own words for what to check when nothing went out"
    assert transport.name and transport.sent_record and transport.reach is settings.way_out.reach
    assert callable(transport.channel) and callable(transport.check)


# What every job's settings import of the ways out: the default's reader, and the OAuth2 items SMTP's login shares.
READ_BY_EVERY_JOB = {"feedback.smtp.settings", "feedback.microsoft.settings"}


def test_a_job_loads_no_module_of_the_other_ways_out(way_out, job_config, tmp_path):
    """Cortex starts a process per click: a way out's modules are for the jobs that take it (docs/performance.md).
    Of the sub-packages, each an outside party's, a job loads its way out's, TheHive's (its case's records) and of
    the others only what READ_BY_EVERY_JOB names."""
    settings = read_settings(job_config(**way_out.items), {})
    party = TRANSPORTS[type(settings.way_out).__name__][0].split(".")[1]  # its sub-package, an outside party's
    job = write_job(tmp_path, thehive4_case("Spam"), job_config(**way_out.items))

    loaded = modules_loaded_by(job, ("feedback",))

    others = {m for m in loaded if m.count(".") == 2 and m.split(".")[1] not in (party, "thehive")}
    assert others == READ_BY_EVERY_JOB - {f"feedback.{party}.settings"}
    assert [item["address"] for item in read_output(job)[0]["full"]["notified"]] == ["alice@example.org"]
