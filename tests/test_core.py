"""The functional core on its own: addresses, tags, settings and HTML, without a server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from feedback.addresses import AddressError, domain_allowed, parse_address
from feedback.items import ConfigError
from feedback.settings import read_settings
from feedback.tags import record_operations, tag_values
from feedback.templates import text_to_html


@pytest.mark.parametrize(
    "value",
    [
        "alice@example.org, eve@evil.example",
        "Alice <alice@example.org>",
        "alice@example.org\r\nBcc: eve@evil.example",
        "alice@exämple.org",
        "alice@localhost",
        "alice@[127.0.0.1]",
        "alice@" + "a" * 64 + ".example",
        "@example.org",
        "alice@",
        "",
    ],
)
def test_anything_but_one_plain_address_is_refused_with_a_reason(value):
    with pytest.raises(AddressError) as refused:
        parse_address(value)
    assert str(refused.value)


def test_a_value_longer_than_any_address_is_refused_for_its_length_before_it_is_parsed():
    # The parser would take about a minute over these backslashes, and give another reason.
    with pytest.raises(AddressError, match="longer than the 254 characters mail takes"):
        parse_address("\\" * 100_000 + "@example.org")


@pytest.mark.parametrize(
    ("value", "written"),
    [("anna@b\u00fccher.example", "anna@xn--bcher-kva.example"), ("ann@ex\u0430mple.org", "ann@xn--exmple-4nf.org")],
    ids=["international", "look-alike"],
)
def test_a_domain_written_beyond_ascii_is_refused_naming_the_form_mail_takes(value, written):
    """The analyst can tag the reporter so where the domain is theirs; a look-alike of it shows for what it is."""
    with pytest.raises(AddressError, match=f"mail takes it as {written}, to be tagged so if that is the reporter's"):
        parse_address(value)


def test_a_plain_address_is_kept_as_written():
    assert parse_address("  Alice.Smith+phish@Example.org ") == "Alice.Smith+phish@Example.org"


def test_allowed_domains_include_their_sub_domains_only():
    allowed = ("example.org",)
    assert domain_allowed("a@example.org", allowed) and domain_allowed("a@hr.Example.org", allowed)
    assert not domain_allowed("a@badexample.org", allowed)
    assert domain_allowed("a@anything.example", ())


def test_tag_values_in_every_form_theHive_writes():
    tags = [
        "user_email:a@x.org",
        "user_email=b@x.org",
        'user_email="c@x.org"',
        " User_Email : d@x.org",
        "user_emails:e@x.org",
        7,
    ]
    assert tag_values(tags, "user_email") == ["a@x.org", "b@x.org", "c@x.org"]


def test_record_tags_for_an_alert_use_the_alert_operation():
    at = datetime(2026, 12, 4, 23, 58, 30, tzinfo=timezone.utc)
    operations = record_operations("alert", "Spam", {"a@x.org": at}, ["b@x.org"], [], "mail sent", "mail failed")
    assert operations == [
        {"type": "AddTagToAlert", "tag": "feedback_sent:a@x.org"},
        {"type": "AddTagToAlert", "tag": "feedback_verdict:2026-12-04T23:58:30Z;Spam;a@x.org"},
        {"type": "AddTagToAlert", "tag": "feedback_failed:b@x.org"},
        {"type": "AddTagToAlert", "tag": "mail sent"},
        {"type": "AddTagToAlert", "tag": "mail failed"},
    ]


def test_settings_never_show_secrets_in_their_repr():
    settings = read_settings(
        {
            "from": "soc@example.org",
            "smtp_user": "soc",
            "smtp_password": "Pa55-w0rd",
            "thehive_url": "https://thehive.example.org",
            "thehive_apikey": "K3y-K3y",
        },
        {"organisation": "SOC"},
    )
    assert "Pa55-w0rd" not in repr(settings) and "K3y-K3y" not in repr(settings)
    assert settings.thehive.organisation == "SOC"


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"from": "a@example.org", "smtp_port": True}, "smtp_port must be a whole number"),
        ({"from": "a@example.org", "smtp_port": 25.5}, "smtp_port must be a whole number"),
        ({"from": "a@example.org", "smtp_security": "ssl"}, "smtp_security must be one of starttls, tls, none"),
        ({"from": "a@example.org", "thehive_url": "thehive.local"}, "thehive_url must be a URL"),
        ({"from": "a@example.org", "thehive_url": "https://h.example.org"}, "thehive_apikey is empty"),
        ({"from": "a@example.org", "allowed_recipient_domains": "example.org"}, "must be a list of texts"),
        *(
            (
                {"from": "a@example.org", "allowed_recipient_domains": [entry]},
                f"holds '{entry}', which is not one domain",
            )
            for entry in (
                "example.org, example.net",
                "*.example.org",
                "example.org.",
                ".example.org",
                "example-.org",
                "10.0.0.25",
            )
        ),
        ({"from": "Two <a@example.org>, b@example.org"}, "exactly one sender address"),
        (
            {"from": "a@example.org", "allowed_recipient_domains": ["b\u00fccher.example"]},
            "written beyond ASCII: write its ASCII form, xn--bcher-kva.example,",
        ),
    ],
)
def test_settings_that_cannot_work_name_the_item(config, says):
    with pytest.raises(ConfigError) as refused:
        read_settings(config, {})
    assert says in str(refused.value)


def test_secret_values_are_never_echoed_in_a_type_error():
    with pytest.raises(ConfigError) as refused:
        read_settings({"from": "a@example.org", "smtp_password": ["Pa55-w0rd"]}, {})
    assert "Pa55-w0rd" not in str(refused.value)


def test_text_to_html_escapes_and_keeps_paragraphs_line_breaks_and_links():
    html = text_to_html('Hi <b>"you"</b>,\nsee https://example.org/a?b=1&c=2.\n\n\nBye')
    assert html == (
        '<p style="margin:0 0 16px 0">Hi &lt;b&gt;&quot;you&quot;&lt;/b&gt;,<br>\n'
        'see <a href="https://example.org/a?b=1&amp;c=2" style="color:#0b57d0">https://example.org/a?b=1&amp;c=2</a>.</p>\n'
        '<p style="margin:0 0 16px 0">Bye</p>'
    )


def test_text_to_html_escapes_a_text_that_holds_no_link():
    html = text_to_html("Security team <soc@example.org> - R&D")
    assert html == '<p style="margin:0 0 16px 0">Security team &lt;soc@example.org&gt; - R&amp;D</p>'
