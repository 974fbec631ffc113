"""What each configuration item takes and refuses, read as Cortex sends it (docs/cortex-and-thehive.md §1): an item
that cannot work is refused before anything is contacted, in a sentence that names it and never a secret in it."""

from __future__ import annotations

import json

import pytest

from feedback.items import ConfigError
from feedback.settings import read_settings
from testkit.cortex import MANIFEST, cortex_config

SENDER = {"from": "SOC <soc@example.org>"}
GRAPH = {
    "delivery": "graph",
    "oauth_token_url": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
    "oauth_client_id": "client",
    "oauth_client_secret": "S3cret-S3cret",
}
OAUTH = {key: value for key, value in GRAPH.items() if key != "delivery"}


def refusal(config: dict) -> str:
    with pytest.raises(ConfigError) as refused:
        read_settings({**SENDER, **config}, {})
    return str(refused.value)


def test_an_api_key_with_a_c1_control_character_is_refused_before_any_call():
    """A key copied with a stray C1 character would be sent, and TheHive's refusal blamed for it."""
    says = refusal({"thehive_url": "https://thehive.example.org", "thehive_apikey": "K3y\x85K3y"})
    assert "thehive_apikey holds a character that an HTTP header cannot carry" in says


@pytest.mark.parametrize(
    ("item", "url"),
    [
        ("guidance_url", "https://intranet.example.org:0/phishing"),
        ("thehive_url", "https://thehive.example.org:0"),
    ],
)
def test_a_url_to_port_0_is_refused_as_no_address(item, url):
    """Port 0 reaches nothing: every reporter would get a dead link, and TheHive a dead URL."""
    says = refusal({item: url, "thehive_apikey": "K3y"})
    assert says.startswith(f"{item} must be")


# Each number item and the highest value it takes.
HIGHEST = [
    ("smtp_port", 65535),
    ("smtp_retries", 10),
    ("smtp_max_per_minute", 6000),
    ("smtp_timeout", 600),
    ("jobTimeout", 1440),
]


@pytest.mark.parametrize(("item", "highest"), HIGHEST)
def test_each_number_item_takes_the_highest_value_its_sentence_allows(item, highest):
    """The refusal says '… from 0 to 6000': 6000 itself is taken."""
    settings = read_settings({**SENDER, item: highest}, {})
    assert settings is not None


@pytest.mark.parametrize(("item", "value"), [("delivery", "SMTP"), ("smtp_security", "TLS"), ("thehive_api", "V1")])
def test_a_choice_is_read_whatever_its_case(item, value):
    """'TLS', as admins write it, is 'tls'."""
    config = {**SENDER, item: value, "thehive_url": "https://thehive.example.org", "thehive_apikey": "K3y"}
    settings = read_settings(config, {})
    if item == "smtp_security":
        assert settings.way_out.security == "tls"
    elif item == "thehive_api":
        assert settings.thehive.api == "v1"


def test_blank_entries_of_allowed_recipient_domains_are_no_domain():
    """An entry typed and cleared in Cortex's form ('' or ' ') is no domain, which would refuse every reporter: the
    item reads as left empty, the domain of from."""
    settings = read_settings({**SENDER, "allowed_recipient_domains": ["", " ", None]}, {})
    assert settings.audience.allowed_domains == ("example.org",)
    settings = read_settings({**SENDER, "allowed_recipient_domains": ["example.org", " "]}, {})
    assert settings.audience.allowed_domains == ("example.org",)


def test_a_graph_url_with_a_user_and_password_is_refused():
    """A password typed into graph_url would sit in a URL that error sentences quote, outside every secret item."""
    says = refusal({**GRAPH, "graph_url": "https://admin:Pa55w0rd@graph.microsoft.com"})
    assert says.startswith("graph_url must be an https URL without a user name")


def test_a_graph_url_with_a_trailing_slash_asks_for_the_same_scope_and_paths():
    """A pasted trailing slash would ask Entra ID for 'https://graph.microsoft.com//.default', unknown to it."""
    settings = read_settings({**SENDER, **GRAPH, "graph_url": "https://graph.microsoft.com/"}, {})
    assert settings.way_out.url == "https://graph.microsoft.com"
    assert settings.way_out.oauth.scope == "https://graph.microsoft.com/.default"


@pytest.mark.parametrize(
    ("item", "url"),
    [
        ("thehive_url", "https://thehive.corp..example"),
        ("oauth_token_url", f"https://{'l' * 64}.example/tenant/oauth2/v2.0/token"),
        ("proxy_https", "http://proxyuser:Pr0xy-Pass@proxy.corp..example:3128"),
        ("proxy_http", "http://proxy.corp.example:99999"),
    ],
)
def test_a_url_whose_host_no_connection_takes_is_refused_naming_its_item(item, url):
    """A doubled dot, or a label past 63 characters, passed as a URL and failed only when the connection was made: an
    unexpected error, told as a bug that may have sent messages."""
    says = refusal({**GRAPH, "thehive_url": "https://thehive.example.org", "thehive_apikey": "K3y", item: url})
    assert says.startswith(item) and "Pr0xy-Pass" not in says


def test_empty_proxy_items_are_no_proxy():
    """An emptied proxy item would be a proxy at no address for the token request, and hide the environment's proxy."""
    settings = read_settings({**SENDER, **GRAPH, "proxy_http": "", "proxy_https": "", "proxy": {"http": ""}}, {})
    assert settings.way_out.reach.proxies == {}
    settings = read_settings({**SENDER, **GRAPH, "proxy_http": "", "proxy_https": ""}, {})
    assert settings.way_out.reach.proxies == {}


@pytest.mark.parametrize("url", ["http://10.1.2.3:9000", "http://192.168.0.7", "http://[fd00::7]:9000"])
def test_plain_http_to_a_private_address_is_refused_as_another_machine(url):
    """Only this machine's own addresses keep the API key off the network: a private address is another host."""
    says = refusal({"thehive_url": url, "thehive_apikey": "K3y"})
    assert "thehive_url must be an https URL: over http://" in says and "which is not this machine" in says


@pytest.mark.parametrize("link", ["javascript://intranet.example.org/%0Aalert(1)", "ftp://files.example.org/phishing"])
def test_a_guidance_url_with_a_host_but_another_scheme_is_refused(link):
    """A script link, or one no mail reader opens, would go to every reporter."""
    says = refusal({"guidance_url": link})
    assert says.startswith("guidance_url must be a web address, like https://intranet.example.org/phishing")


def test_the_time_budget_is_80_percent_of_the_organisations_job_timeout():
    """The job keeps to 80 % of Cortex's jobTimeout (README), so that its report is written before Cortex kills it."""
    settings = read_settings({**SENDER, "jobTimeout": 10}, {})
    assert settings.time_budget == pytest.approx(10 * 60 * 0.8)


@pytest.mark.parametrize(
    "kept",
    [
        {"thehive_url": "https://thehive.example.org", "thehive_apikey": "K3y"},
        {"smtp_auth": "oauth2", "smtp_user": "soc@example.org", **OAUTH},
        {"delivery": "graph", **OAUTH},
    ],
    ids=["smtp-and-thehive", "smtp-oauth2", "graph"],
)
def test_every_item_cortex_sends_as_null_reads_as_the_default_the_manifest_shows(kept):
    """Cortex sends null for an item added after the responder's settings were saved (docs/cortex-and-thehive.md §1):
    the job then runs with the default the admin sees in the form (PhishFeedback/README.md), never another."""
    defaults = cortex_config({**SENDER, **kept})
    names = [item["name"] for item in json.loads(MANIFEST.read_text(encoding="utf-8"))["configurationItems"]]
    nulls = {**defaults, **{name: None for name in names if name not in ("from", *kept)}}
    assert read_settings(nulls, {}) == read_settings(defaults, {})


def test_allowed_recipient_domains_are_read_as_admins_write_them():
    """'@example.org' or 'Example.org' would otherwise match no reporter's address."""
    settings = read_settings({**SENDER, "allowed_recipient_domains": ["@Example.org", " HR.example.NET "]}, {})
    assert settings.audience.allowed_domains == ("example.org", "hr.example.net")


@pytest.mark.parametrize(
    ("item", "needs"),
    [
        ("smtp_password", {}),
        ("oauth_client_secret", {"delivery": "graph"}),
        ("oauth_client_certificate", {"delivery": "graph"}),
        ("thehive_apikey", {"thehive_url": "https://thehive.example.org"}),
        ("gmail_service_account", {"delivery": "gmail"}),
        ("cacerts", {}),
    ],
)
def test_a_secret_item_of_the_wrong_type_is_named_without_its_value(item, needs):
    """The job's error, which TheHive shows to every analyst, names the item, never the secret in it."""
    says = refusal({**needs, item: ["Pa55-w0rd-S3cret"]})
    assert says.startswith(f"{item} must be text") and "Pa55-w0rd-S3cret" not in says


@pytest.mark.parametrize(
    ("item", "below"),
    [("smtp_port", 0), ("smtp_retries", -1), ("smtp_max_per_minute", -1), ("smtp_timeout", 0), ("jobTimeout", 0)],
)
def test_each_number_item_refuses_a_value_below_its_lowest_naming_it(item, below):
    """Port 0 would fail as a connection, a jobTimeout of 0 leave no time, each in a sentence that does not name the
    item."""
    assert refusal({item: below}).startswith(f"{item} must be")


@pytest.mark.parametrize(("item", "highest"), HIGHEST)
def test_each_number_item_refuses_a_value_above_its_highest_naming_the_highest(item, highest):
    """Cortex's form takes any number: one past the range is most likely a slip (milliseconds for seconds), told at
    once with the highest the item takes, as one below its lowest is."""
    says = refusal({item: highest + 1})

    assert says.startswith(f"{item} must be") and f" to {highest} (it is {highest + 1})" in says


def test_a_user_name_for_a_relay_without_login_or_tls_is_kept():
    """smtp_auth 'none' sends no password: the relay is not refused with a sentence about one crossing the network."""
    settings = read_settings(
        {**SENDER, "smtp_user": "relay@example.org", "smtp_security": "none", "smtp_auth": "none"}, {}
    )
    assert settings.way_out.user == "relay@example.org" and settings.way_out.auth == "none"


@pytest.mark.parametrize("name", ["[mail.example.org]", "[192.0.2.1 extra]", "[1]", "[IPv6:192.0.2.1]", "[::1]"])
def test_an_ehlo_address_literal_holds_an_address(name):
    """The relay would refuse EHLO, and the job stop on a server's reply rather than on the item to fix."""
    assert refusal({"smtp_ehlo_name": name}).startswith("smtp_ehlo_name must be a fully qualified domain name")


def test_an_oauth2_mailbox_outside_ascii_is_refused_naming_smtp_user():
    """The login string would carry the mailbox in UTF-8, and the job stop on the server's refusal of the login rather
    than on the item to fix."""
    says = refusal({"smtp_auth": "oauth2", "smtp_user": "sécurité@example.org", **OAUTH})
    assert says.startswith("smtp_user must be the mailbox's address in ASCII for smtp_auth 'oauth2'")


def test_a_thehive_url_with_a_trailing_slash_is_its_root():
    """Every API path would start with '//', which TheHive answers with its web page or a 404."""
    config = {"thehive_url": "https://thehive.example.org/", "thehive_apikey": "K3y"}
    assert read_settings({**SENDER, **config}, {}).thehive.url == "https://thehive.example.org"


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"smtp_host": "smtp.example.org:587"}, "smtp_host must be a host name or an IP address"),
        ({"smtp_host": "smtps://smtp.example.org"}, "smtp_host must be a host name or an IP address"),
        ({"smtp_host": "smtp.example.org\nBcc: x"}, "smtp_host must be a host name or an IP address"),
        (
            {**GRAPH, "graph_url": "https://graph.microsoft.com/v1.0"},
            "graph_url must be the API's root, without a path",
        ),
        ({"guidance_url": "https://intranet.example.org/phishing help"}, "guidance_url must be a web address"),
    ],
    ids=["host-with-port", "host-with-scheme", "host-with-line-break", "graph-url-with-version", "link-with-space"],
)
def test_an_item_pasted_with_more_than_it_takes_is_refused_naming_it(config, says):
    """What would otherwise fail later, as the resolver's 'cannot resolve', Entra ID's unknown scope, or a link that
    mail readers end at the space."""
    assert refusal(config).startswith(says)


@pytest.mark.parametrize("host", ["smtp_relay", "::1", "smtp.example.org.", "192.0.2.25"])
def test_a_container_name_an_address_or_a_rooted_name_is_a_host(host):
    assert read_settings({**SENDER, "smtp_host": host}, {}).way_out.host == host


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (
            {"smtp_port": "2525"},
            "smtp_port must be a whole number from 1 to 65535 (it is '2525', a text: write the number without quotes).",
        ),
        (
            {"dry_run": "true"},
            "dry_run must be true or false (it is 'true', a text: write true or false without quotes).",
        ),
    ],
    ids=["number", "flag"],
)
def test_a_number_or_a_flag_written_as_text_is_refused_saying_the_quotes_are_the_fault(config, says):
    """Cortex's form gives each item its type; a hand-written input.json, as README's run by hand has admins edit,
    may quote it: 'must be a whole number (it is 2525)' contradicts itself."""
    assert refusal(config).startswith(says)


@pytest.mark.parametrize("value", ["99999", "25.5", "port"])
def test_a_text_that_would_be_refused_as_a_number_too_is_not_blamed_on_its_quotes(value):
    assert "without quotes" not in refusal({"smtp_port": value})


def test_a_choice_out_of_its_values_is_echoed_as_typed():
    assert "delivery must be one of smtp, graph, gmail (it is 'Graph API')." in refusal({"delivery": "Graph API"})


def test_a_user_name_without_its_password_is_refused_before_the_server_counts_a_failed_login():
    says = refusal({"smtp_user": "phishfeedback", "smtp_password": ""})

    assert says.startswith("smtp_user is set and smtp_password is empty: the server would refuse the login")


def test_a_user_name_without_a_password_for_a_relay_that_takes_mail_without_a_login_is_kept():
    settings = read_settings({**SENDER, "smtp_user": "phishfeedback", "smtp_auth": "none"}, {})

    assert settings.way_out.user == "phishfeedback" and settings.way_out.password is None
