"""Every URL that carries a secret (an API key, a token, a client secret) is https, or plain http to this machine.

Over plain http the secret crosses the network as readable text; to a loopback address
(127.0.0.0/8, ::1, localhost) it never leaves the machine, as with a TheHive on the Cortex host.
"""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from testkit.cases import thehive5_case
from testkit.thehive_api import API_KEY, v1_observable

ACROSS = "which is not this machine"


def test_thehive_url_over_plain_http_to_another_host_is_refused_before_any_call(cortex, smtp):
    result = cortex(thehive5_case("Spam", ()), thehive_url="http://thehive.example.org:9000", thehive_apikey=API_KEY)

    assert not result.success
    assert (
        "thehive_url must be an https URL: over http:// to thehive.example.org, which is not this machine, the API key"
        " (thehive_apikey) would cross the network in clear text." in result.error
    )
    assert "or empty thehive_url: the job then finds the reporters in the case's tags alone." in result.error
    assert smtp.delivered == []


@pytest.mark.parametrize(
    ("listening", "named"),
    [("127.0.0.1", "localhost"), ("127.0.0.2", "127.0.0.2"), ("::1", "[::1]")],
    ids=["localhost", "127.0.0.2", "ipv6-loopback"],
)
def test_thehive_url_over_plain_http_to_this_machine_is_used(cortex, smtp, listening, named):
    thehive = HTTPServer(host=listening)
    thehive.expect_request("/api/v1/query").respond_with_json([v1_observable("mail", "bob@example.org", ["reporter"])])
    thehive.start()
    try:
        url = f"http://{named}:{thehive.port}"
        result = cortex(thehive5_case("Spam", ()), thehive_url=url, thehive_apikey=API_KEY)
    finally:
        thehive.stop()

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]


def test_graph_url_over_plain_http_says_the_token_would_cross_the_network(cortex, graph_items):
    result = cortex(thehive5_case(), **{**graph_items, "graph_url": "http://graph.example.org"})

    assert not result.success
    assert f"graph_url must be an https URL: over http:// to graph.example.org, {ACROSS}, the access token" in (
        result.error
    )


def test_gmail_url_over_plain_http_says_the_token_would_cross_the_network(cortex, gmail_items):
    result = cortex(thehive5_case(), **{**gmail_items, "gmail_url": "http://gmail.example.org"})

    assert not result.success
    assert f"gmail_url must be an https URL: over http:// to gmail.example.org, {ACROSS}, the access token" in (
        result.error
    )


def test_oauth_token_url_over_plain_http_says_the_client_secret_would_cross_the_network(cortex, oauth, smtp):
    result = cortex(thehive5_case(), **{**oauth, "oauth_token_url": "http://login.example.org/t/oauth2/v2.0/token"})

    assert not result.success
    assert f"oauth_token_url must be an https URL: over http:// to login.example.org, {ACROSS}, the client secret" in (
        result.error
    )
    assert smtp.delivered == []
