"""What the reporter reads where the case, the admin's texts, the logo or the languages take a less common form.

Each job runs as Cortex runs it, against the loopback SMTP server (or Graph, for a mailbox's language).
"""

from __future__ import annotations

import base64
import re
import struct
import zlib

import pytest

from testkit.cases import thehive4_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST
from testkit.delivered import text_and_html
from testkit.images import JPEG, PNG, as_item

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
GREETING = {"en": "Hello,", "fr": "Bonjour,", "nl": "Hallo,", "de": "Guten Tag,", "es": "Hola:"}
HOSTILE_SUBJECT = '<b onmouseover="steal()">Invoice</b> & co'


def language_of(message) -> str:
    """The one language the message is written in, by its greeting and its Content-Language."""
    text, _ = text_and_html(message)
    [language] = [code for code, greeting in GREETING.items() if text.startswith(greeting)]
    assert message["Content-Language"] == language
    return language


def png(width: int, height: int) -> bytes:
    """A valid grey PNG file of this size, as an image editor exports one."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# --- The admin's signature and subject ----------------------------------------------------------


def test_the_reported_subject_named_in_the_signature_is_escaped_in_the_html_part(cortex, smtp):
    case = thehive4_case("Spam", title=f"Phishing report: {HOSTILE_SUBJECT}")
    result = cortex(case, signature="SOC desk\nAbout: {reported_subject}")

    assert result.success, result.error
    text, html = text_and_html(smtp.delivered[0].message)
    assert f"SOC desk\nAbout: {HOSTILE_SUBJECT}" in text
    assert "About: &lt;b onmouseover=&quot;steal()&quot;&gt;Invoice&lt;/b&gt; &amp; co" in html
    assert "<b onmouseover" not in html


def test_a_signature_naming_itself_is_a_configuration_error_before_anything_goes_out(cortex, smtp):
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), signature="{signature}\nThe SOC")

    assert not result.success
    assert "The template in signature uses the unknown placeholder {signature}" in result.error
    assert smtp.delivered == []


def test_blank_lines_pasted_around_the_signature_add_no_gap_above_it(cortex, smtp):
    result = cortex(thehive4_case("Spam"), signature="\n\n\nJane Doe\nSecurity team\n\n")

    assert result.success, result.error
    text, html = text_and_html(smtp.delivered[0].message)
    assert "\n\nJane Doe\nSecurity team\n\nReference: case 42" in text
    assert "\n\n\nJane Doe" not in text
    assert ">Jane Doe<br>\nSecurity team" in html


def test_a_subject_override_written_on_two_lines_is_sent_on_one(cortex, smtp):
    result = cortex(thehive4_case("Spam"), subject="Your phishing report\n\t{reported_subject}")

    assert result.success, result.error
    [delivered] = smtp.delivered
    assert delivered.message["Subject"] == "Your phishing report Invoice overdue"
    headers = delivered.content.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert b"Subject: Your phishing report Invoice overdue" in headers


def test_the_acknowledgement_keeps_a_shared_subject_and_signature_that_name_no_verdict(cortex, smtp):
    result = cortex(
        thehive4_case(None),
        manifest=ACKNOWLEDGE_MANIFEST,
        subject="Your report of {reported_subject}",
        signature="SOC desk, case {case_number}",
    )

    assert result.success, result.error
    message = smtp.delivered[0].message
    assert message["Subject"] == "Your report of Invoice overdue"
    assert "SOC desk, case 42" in text_and_html(message)[0]
    assert result.output["full"]["warnings"] == []


def test_a_set_aside_subject_is_said_once_however_many_reporters_are_thanked(cortex, smtp):
    result = cortex(
        thehive4_case(None, [ALICE, BOB, CAROL]), manifest=ACKNOWLEDGE_MANIFEST, subject="Your report: {verdict}"
    )

    assert result.success, result.error
    assert len(smtp.delivered) == 3
    [warning] = result.output["full"]["warnings"]
    assert warning.startswith("The acknowledgement has its own shipped subject")


def test_a_plain_text_override_keeps_its_angle_brackets_on_both_sides_of_a_link():
    from feedback.templates import text_to_html

    html = text_to_html("Write to <soc@example.org> or read https://intranet.example.org/help, then <b>reply</b> & co")

    assert html == (
        '<p style="margin:0 0 16px 0">Write to &lt;soc@example.org&gt; or read'
        ' <a href="https://intranet.example.org/help" style="color:#0b57d0">https://intranet.example.org/help</a>,'
        " then &lt;b&gt;reply&lt;/b&gt; &amp; co</p>"
    )


def test_a_message_in_five_languages_past_the_size_limit_is_refused_before_anything_goes_out(cortex, smtp):
    # Each language's text and HTML sign with the title's first thousand characters 120 times: 240,000 a language.
    case = thehive4_case("Spam", [ALICE, BOB], title="Phishing report: " + "A" * 150_000)
    result = cortex(case, language="en,fr,nl,de,es", signature="{case_title}\n" * 120)

    assert not result.success
    assert "past the responder's limit of 1,000,000" in result.error and "nothing was sent" in result.error
    assert smtp.delivered == []


def test_an_attackers_subject_of_150000_characters_in_five_languages_is_quoted_cut_short_and_goes_out(cortex, smtp):
    """Quoted whole, it would make each message too long to send anyone: the attacker would decide whether the
    reporters of their campaign hear back."""
    reported = "&<" * 75_000
    result = cortex(
        thehive4_case("Spam", [ALICE, BOB], title=f"Phishing report: {reported}"), language="en,fr,nl,de,es"
    )

    assert result.success, result.error
    assert sorted(smtp.recipients()) == [ALICE, BOB]
    text = smtp.delivered[0].message.get_body(("plain",)).get_content()
    assert text.count(f"{reported[:999]}\u2026") == 5


# --- Text of the attacker's in the title ----------------------------------------------------------


@pytest.mark.parametrize(
    "control",
    ["\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"],
    ids=["LRI", "RLI", "FSI", "PDI", "LRM", "RLM", "ALM"],
)
def test_no_bidirectional_isolate_or_mark_of_the_title_reaches_the_reporter(cortex, smtp, control):
    case = thehive4_case("Legit email", title=f"Phishing report: Invoice {control}4202 eciovnI\u2069")
    result = cortex(case, subject="Re: {reported_subject}")

    assert result.success, result.error
    message = smtp.delivered[0].message
    text, html = text_and_html(message)
    for shown in (str(message["Subject"]), text, html):
        assert control not in shown and "\u2069" not in shown
    assert message["Subject"] == "Re: Invoice 4202 eciovnI"
    assert '"Invoice 4202 eciovnI" to the security team' in text


# Encoded words that decode to a line break and headers of the attacker's, in forms other than `=?utf-8?`.
SMUGGLED = base64.b64encode(b"\r\nReply-To: evil@evil.example\r\nBcc: eve@evil.example").decode()


@pytest.mark.parametrize(
    "word",
    [
        f"=?UTF-8?B?{SMUGGLED}?=",
        f"=?iso-8859-1?b?{SMUGGLED}?=",
        "=?us-ascii?q?=0D=0AReply-To=3A_evil=40evil=2Eexample=0D=0ABcc=3A_eve=40evil=2Eexample?=",
    ],
    ids=["utf-8-in-capitals", "latin-1", "us-ascii-quoted-printable"],
)
def test_an_encoded_word_of_any_charset_in_the_title_is_shown_literally_and_adds_no_header(cortex, smtp, word):
    result = cortex(thehive4_case("Spam", title=f"Phishing report: {word}"), subject="Re: {reported_subject}")

    assert result.success, result.error
    [delivered] = smtp.delivered
    message = delivered.message
    assert message["Subject"] == f"Re: {word}"
    assert message["Reply-To"] is None and message["Bcc"] is None
    assert b"\r\nReply-To:" not in delivered.content and b"\r\nBcc:" not in delivered.content


@pytest.mark.parametrize("language", ["fr", "de"])
def test_a_subject_beyond_ascii_ends_its_header_line_with_crlf_as_smtp_requires(cortex, smtp, language):
    # Postfix and Exchange Online refuse or rewrite a message holding a bare line feed.
    result = cortex(thehive4_case("Spam", title="Phishing report: Facture impayée"), language=language)

    assert result.success, result.error
    [delivered] = smtp.delivered
    assert re.search(rb"(?<!\r)\n", delivered.content) is None
    assert not delivered.message["Subject"].isascii()


def test_a_subject_beyond_ascii_reaches_the_reporter_with_each_space_where_it_was(cortex, smtp):
    # Folded by the email package, this one arrived as "…Ihre Rechnung ist  überfällig", two spaces before the umlaut.
    reported = "Letzte Mahnung vor Kontosperrung heute: Ihre Rechnung ist überfällig"
    result = cortex(thehive4_case("Spam", title=f"Phishing report: {reported}"), subject="Re: {reported_subject}")

    assert result.success, result.error
    assert smtp.delivered[0].message["Subject"] == f"Re: {reported}"


# --- The logo -----------------------------------------------------------------------------------------


def logo_page_and_image(message):
    page, image = (part for part in message.walk() if part.get_content_type() in ("text/html", "image/png"))
    return page.get_content(), image


@pytest.mark.parametrize(
    ("subject", "sender"),
    [
        ("مصرفك - يرجى التحقق من بيانات حسابك فوراً لتجنب تعليق الخدمة المصرفية الخاصة بك", "فريق أمن المعلومات"),
        (
            "您的账户已被冻结请立即验证身份否则将在二十四小时内永久删除您的所有数据和邮件",
            "情報セキュリティ運用センター本社",
        ),
        (
            "Ваш аккаунт заблокирован подтвердите данные немедленно чтобы избежать удаления",
            "Sécurité, Centre des opérations",
        ),
    ],
    ids=["arabic", "cjk", "cyrillic"],
)
def test_headers_beyond_ascii_keep_to_the_encoded_word_and_line_lengths_of_the_rfcs(cortex, smtp, subject, sender):
    """RFC 2047: an encoded word is 75 characters at most; RFC 5322: a line should be 78. Strict relays and filters
    refuse or score what passes them."""
    case = thehive4_case("Spam", title=f"Phishing report: {subject}")
    result = cortex(case, subject="Re: {reported_subject}", **{"from": f'"{sender}" <soc@example.org>'})

    assert result.success, result.error
    head = smtp.delivered[0].content.split(b"\r\n\r\n")[0].decode("ascii")
    assert max(len(word) for word in re.findall(r"=\?[^?]+\?[bqBQ]\?[^?]*\?=", head)) <= 75
    assert max(len(line) for line in head.split("\r\n")) <= 78


def test_the_logo_part_is_named_in_angle_brackets_under_the_senders_domain(cortex, smtp):
    result = cortex(
        thehive4_case("Spam"),
        **{"from": "SOC <soc@soc.example.net>"},
        allowed_recipient_domains=["example.org"],
        logo=as_item(PNG),
    )

    assert result.success, result.error
    page, image = logo_page_and_image(smtp.delivered[0].message)
    content_id = image["Content-ID"]
    assert re.fullmatch(r"<[^<>@\s]+@soc\.example\.net>", content_id), content_id
    assert f'src="cid:{content_id[1:-1]}"' in page


@pytest.mark.parametrize(("width", "height", "shown"), [(400, 100, (200, 50)), (100, 400, (16, 64))])
def test_a_logo_larger_than_its_box_is_shown_scaled_down_to_fit(cortex, smtp, width, height, shown):
    result = cortex(thehive4_case("Spam"), logo=as_item(png(width, height)))

    assert result.success, result.error
    page, _ = logo_page_and_image(smtp.delivered[0].message)
    assert f'width="{shown[0]}" height="{shown[1]}"' in page


def test_a_png_logo_whose_header_says_zero_pixels_wide_is_refused_as_damaged(cortex, smtp):
    result = cortex(thehive4_case("Spam"), logo=as_item(png(0, 10)))

    assert not result.success
    assert "logo is a damaged PNG image, whose width and height cannot be read" in result.error
    assert smtp.delivered == []


def test_a_jpeg_logo_with_fill_bytes_before_a_marker_is_read(cortex, smtp):
    # JPEG allows any number of 0xFF fill bytes before a marker (ITU T.81 B.1.1.2).
    filled = JPEG[:2] + b"\xff\xff" + JPEG[2:]
    result = cortex(thehive4_case("Spam"), logo=as_item(filled))

    assert result.success, result.error
    page = smtp.delivered[0].message.get_body(("html",)).get_content()
    assert 'width="64" height="32"' in page


def test_a_letterhead_in_two_languages_has_each_footer_on_its_own_line_marked_with_its_language(cortex, smtp):
    assert cortex(thehive4_case("Spam"), logo=as_item(PNG), language="fr,en").success

    page = smtp.delivered[0].message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert re.search(
        r'<span lang="fr">Vous recevez [^<]*</span><br>\n<span lang="en">You are receiving [^<]*</span>', page
    )


# --- Each reporter's language ---------------------------------------------------------------------


def test_a_reporter_languages_domain_covers_its_sub_domains(cortex, smtp):
    reporters = ["anne@paris.example.fr", "bob@mail.eu.example.fr", "carol@example.org"]
    result = cortex(
        thehive4_case("Spam", reporters),
        language="auto,en",
        reporter_languages=["example.fr=fr"],
        allowed_recipient_domains=["example.fr", "example.org"],
    )

    assert result.success, result.error
    assert {str(d.message["To"]): language_of(d.message) for d in smtp.delivered} == {
        "anne@paris.example.fr": "fr",
        "bob@mail.eu.example.fr": "fr",
        "carol@example.org": "en",
    }


@pytest.mark.parametrize(
    "items",
    [
        {"language": "auto,en", "reporter_languages": ["example.org=FR"]},
        {"language": "auto,en", "reporter_languages": ["example.org=fr_CA"]},
    ],
    ids=["entry-in-capitals", "entry-with-an-underscore"],
)
def test_a_language_code_in_capitals_or_with_an_underscore_names_the_shipped_language(cortex, smtp, items):
    result = cortex(thehive4_case("Spam"), **items)

    assert result.success, result.error
    assert language_of(smtp.delivered[0].message) == "fr"


def test_language_auto_alone_writes_in_english_to_a_reporter_whose_language_is_unknown(cortex, smtp):
    result = cortex(
        thehive4_case("Spam", [ALICE, "anne@example.fr"]),
        language="auto",
        reporter_languages=["example.fr=fr"],
        allowed_recipient_domains=["example.org", "example.fr"],
    )

    assert result.success, result.error
    assert {str(d.message["To"]): language_of(d.message) for d in smtp.delivered} == {
        ALICE: "en",
        "anne@example.fr": "fr",
    }


def test_a_language_named_twice_in_language_is_written_once(cortex, smtp):
    result = cortex(thehive4_case("Spam"), language="fr,nl,fr")

    assert result.success, result.error
    message = smtp.delivered[0].message
    text, _ = text_and_html(message)
    assert text.count("Bonjour,") == 1 and text.count("Hallo,") == 1
    assert message["Content-Language"] == "fr, nl"
