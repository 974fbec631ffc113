"""The attacker's words as a message quotes them: every link, host name and IP address defanged, the rest as written."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from feedback.quotation import quoted

LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
TOP_LABEL = st.from_regex(r"[a-z]{2,8}", fullmatch=True)
HOSTS = st.builds(lambda labels, top: ".".join([*labels, top]), st.lists(LABEL, min_size=1, max_size=4), TOP_LABEL)
AROUND = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("clean it up at https://evil.example/reset today", "clean it up at hxxps[://]evil[.]example/reset today"),
        ("HTTP://Login.Evil.Example", "HxxP[://]Login[.]Evil[.]Example"),
        ("see ftp://files.evil.example/a.zip", "see ftp[://]files[.]evil[.]example/a[.]zip"),
        ("www.evil.example/reset", "www[.]evil[.]example/reset"),
        ("Mail ceo@evil.example.", "Mail ceo@evil[.]example."),
        ("Your host is 10.0.0.25, OK?", "Your host is 10[.]0[.]0[.]25, OK?"),
        ("Sign in at 192.168.255.254 now", "Sign in at 192[.]168[.]255[.]254 now"),
        ("evil\u3002example and evil.\u0440\u0444", "evil[.]example and evil[.]\u0440\u0444"),
        ("www.paypal.xn--p1ai/login", "www[.]paypal[.]xn--p1ai/login"),
        ("evil.\u092d\u093e\u0930\u0924", "evil[.]\u092d\u093e\u0930\u0924"),
        ("\u00abevil.com\u00bb and *evil.example*", "\u00abevil[.]com\u00bb and *evil[.]example*"),
        (r"Open \\fileserver\scans\invoice now", r"Open [\]\fileserver\scans\invoice now"),
        (r"file:\\10.0.0.25\c$", r"file[:][\]\10[.]0[.]0[.]25\c$"),
        (r"\\\\?\UNC\evil.example\x", r"[\][\][\]\?\UNC\evil[.]example\x"),
        # What a reader shows as nothing, which IDNA drops: evil.com.
        ("reset at www.evil.c\u00adom/reset", "reset at www[.]evil[.]c\u00adom/reset"),
        ("www.evil.\u2060com", "www[.]evil[.]\u2060com"),
        # Full-width dots and letters, which IDNA maps to ASCII.
        ("www\uff0eevil\uff0e\uff23\uff2f\uff2d", "www[.]evil[.]\uff23\uff2f\uff2d"),
        # Schemes a browser follows without '//' after them.
        (r"open http:/\evil/reset", r"open hxxp[:]/\evil/reset"),
        (r"file:/\evil\share", r"file[:]/\evil\share"),
        ("http:2130706433 or HTTPS:evil", "hxxp[:]2130706433 or HxxPS[:]evil"),
        (r"詳細http:/\intranet", r"詳細hxxp[:]/\intranet"),
        # Mathematical letters IDNA maps to ASCII too; an address before an ellipsis (a cut).
        ("www\u3002evil\u3002\U0001d41c\U0001d428\U0001d426", "www[.]evil[.]\U0001d41c\U0001d428\U0001d426"),
        ("call 10.0.0.1\u2026", "call 10[.]0[.]0[.]1\u2026"),
    ],
)
def test_links_host_names_and_ip_addresses_are_defanged_as_socs_write_indicators(written, shown):
    assert quoted(written) == shown


@pytest.mark.parametrize(
    "written",
    [
        "Your invoice v2.0 is 3.5 MB",
        "e.g. the 1.2.3 release",
        "Phishing report: Urgent!",
        "Re: 12:30 meeting",
        "Attached file: invoice",
        "Profile:x",
        "ご確認ください。ＵＲＬは不明です",
        "You won 1.000.000 euros",
        "release v1.2.3.4",
        "1.2.3." + "9" * 5000,
        # Chinese and Japanese sentences end with an ideographic full stop and no space.
        "您的账户已被冻结。请立即验证身份。",
        "ロックされました。至急ご確認ください",
    ],
)
def test_words_that_are_no_link_are_left_as_written(written):
    assert quoted(written) == written


@given(HOSTS, AROUND, AROUND)
def test_no_host_name_is_left_whole_wherever_it_stands(host, before, after):
    shown = quoted(f"{before} {host} {after}")

    assert host not in shown
    assert host.replace(".", "[.]") in shown


@given(st.text(st.characters(blacklist_categories=["Cs"]), max_size=200))
@example("://")
@example("See https://evil.example/a[://]b, hxxp[://]x and http:://y")
def test_no_scheme_is_left_that_a_reader_could_follow_and_quoting_twice_changes_nothing(text):
    shown = quoted(text)

    assert "://" not in shown.replace("[://]", "")  # no scheme before a '://' but a '[', which no reader links
    assert quoted(shown) == shown


@given(st.text(st.sampled_from("\\ab. \n"), max_size=60))
def test_no_two_backslashes_are_left_side_by_side_that_a_reader_could_open_as_a_share(text):
    r"""Windows opens \\host\share over SMB, sending the reader's sign-in hash to whoever answers for the name."""
    shown = quoted(text)

    assert "\\\\" not in shown
    assert quoted(shown) == shown
    assert shown.replace("[\\]", "\\").replace("[.]", ".") == text
