"""What the reporter reads: per-verdict text and HTML, placeholders, escaping, overrides, languages, preview."""

from __future__ import annotations

import re

import pytest

from testkit.cases import another_case, thehive4_case, thehive5_alert, thehive_alert
from testkit.cortex import ACKNOWLEDGE_MANIFEST
from testkit.delivered import text_and_html
from testkit.images import JPEG, PNG, as_item, padded, tables_first

VERDICTS = ("Phishing", "Spam", "Legit email", "Simulation")
HOSTILE_TITLE = (
    'Phishing report: <script>alert("x")</script> <img src=https://evil.example/t.gif> & co\r\nBcc: eve@evil.example'
)


def parts(delivered):
    message = delivered.message
    return (message, *text_and_html(message))


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
@pytest.mark.parametrize("verdict", VERDICTS)
def test_every_language_and_verdict_has_a_text_and_a_safe_html_part(cortex, smtp, language, verdict):
    result = cortex(thehive4_case(verdict, title="Phishing report: Invoice overdue"), language=language)

    assert result.success, result.error
    message, text, html = parts(smtp.delivered[0])
    assert message.get_content_type() == "multipart/alternative"
    assert "Invoice overdue" in text and "Invoice overdue" in html
    assert f'<html lang="{language}">' in html
    assert not re.search(r"<script|<img|<style|<link|<iframe|\bon\w+=", html, re.IGNORECASE)
    assert f"https://campagne.safeonweb.be/{language}/phishing" in text
    assert f'href="https://campagne.safeonweb.be/{language}/phishing"' in html


@pytest.mark.parametrize(
    ("verdict", "advice"),
    [
        # A reporter who acted on a phish: a reply counts, a password is changed wherever it is used.
        ("Phishing", "If you clicked a link, opened an attachment or replied to it, contact the security team"),
        ("Phishing", "change it at once, and wherever else you use it. Do not forward the message to anyone"),
        # Spam is harmless, but its unsubscribe link tells its sender the address is read.
        ("Spam", "without using its unsubscribe link unless you know the sender"),
    ],
)
def test_the_verdicts_message_says_what_to_do_in_its_text_and_in_its_html(cortex, smtp, verdict, advice):
    result = cortex(thehive4_case(verdict))

    assert result.success, result.error
    _, text, html = parts(smtp.delivered[0])
    assert advice in text and advice in html


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Phishing report feedback"),
        ("fr", "Retour sur votre signalement d'hameçonnage"),
        ("nl", "Feedback op uw phishingmelding"),
        ("de", "Rückmeldung zu Ihrer Phishing-Meldung"),
        ("es", "Respuesta a su aviso de phishing"),
    ],
)
def test_subject_and_signature_follow_the_language(cortex, smtp, language, subject):
    assert cortex(thehive4_case("Spam"), language=language).success

    message, text, _ = parts(smtp.delivered[0])
    assert message["Subject"] == subject
    assert {
        "en": "The Security Operations Centre",
        "fr": "Le centre des opérations",
        "nl": "Het Security",
        "de": "Ihr Security Operations Center",
        "es": "El Centro de Operaciones de Seguridad",
    }[language] in text


def test_attacker_title_is_escaped_in_html_and_flattened_in_the_subject(cortex, smtp):
    result = cortex(thehive4_case("Spam", title=HOSTILE_TITLE), subject="Your report: {reported_subject}")

    assert result.success, result.error
    message, text, html = parts(smtp.delivered[0])
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    # The title's line break is not the SOC's: no line of the message starts with the attacker's words.
    assert "&amp; co Bcc: eve@evil[.]example" in html and "& co Bcc: eve@evil[.]example" in text
    assert '<script>alert("x")</script>' in text
    assert "\n" not in message["Subject"] and message["Bcc"] is None
    assert message["Subject"].startswith('Your report: <script>alert("x")</script>')


def test_line_breaks_in_the_title_never_make_paragraphs_of_their_own(cortex, smtp):
    forged = "We have analysed it: it is a legitimate e-mail. You can safely deal with it as you normally would."
    result = cortex(thehive4_case("Phishing", title=f"Phishing report: Invoice\r\n\n{forged}"))

    assert result.success, result.error
    _, text, html = parts(smtp.delivered[0])
    assert f'"Invoice {forged}"' in text
    assert not any(line.startswith("We have analysed it: it is a legitimate") for line in text.splitlines())
    assert f"Invoice {forged}" in html


def test_bidirectional_controls_in_the_title_cannot_reorder_our_sentences(cortex, smtp):
    result = cortex(
        thehive4_case("Legit email", title="Phishing report: Invoice \u202e4202 eciovnI"),
        subject="Re: {reported_subject}",
    )

    assert result.success, result.error
    message, text, html = parts(smtp.delivered[0])
    for shown in (str(message["Subject"]), text, html):
        assert not set(shown) & {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068"}
    assert '"Invoice 4202 eciovnI" to the security team' in text


@pytest.mark.parametrize("language, quoted", [("en", '"(no subject)"'), ("fr", "«\u00a0(sans objet)\u00a0»")])
def test_a_reported_message_without_a_subject_is_named_as_mail_readers_name_it(cortex, smtp, language, quoted):
    result = cortex(thehive4_case("Spam", title="Phishing report: "), language=language)

    assert result.success, result.error
    _, text, html = parts(smtp.delivered[0])
    assert quoted in text
    assert '""' not in text and "«  »" not in text


def test_a_blank_subject_observable_leaves_the_titles_subject(cortex, smtp):
    alert = thehive_alert("Spam", artifacts=[{"dataType": "mail_subject", "data": " \n", "tags": []}])
    result = cortex(alert, data_type="thehive:alert")

    assert result.success, result.error
    _, text, _ = parts(smtp.delivered[0])
    assert '"Your parcel is waiting"' in text


def test_placeholders_are_filled_in_subject_and_body(cortex, smtp):
    template = (
        "Dear {reporter},\n\nCase {case_number} ({case_title}), reported {report_date}: {verdict}.\n"
        "You reported '{reported_subject}'. More: {guidance_url}\n\n{signature}"
    )
    result = cortex(
        thehive4_case("Spam"),
        subject="[#{case_number}] {verdict}: {reported_subject}",
        template_spam=template,
        signature="Jane Doe\nSecurity team",
        guidance_url="https://intranet.example.org/phishing?lang=en&x=1",
    )

    assert result.success, result.error
    message, text, html = parts(smtp.delivered[0])
    assert message["Subject"] == "[#42] Spam: Invoice overdue"
    assert text == (
        "Dear alice@example.org,\n\nCase 42 (Phishing report: Invoice overdue), reported 2023-08-30: Spam.\n"
        "You reported 'Invoice overdue'. More: https://intranet.example.org/phishing?lang=en&x=1\n\n"
        "Jane Doe\nSecurity team\n"
    )
    assert '<a href="https://intranet.example.org/phishing?lang=en&amp;x=1"' in html
    assert "Jane Doe<br>\nSecurity team" in html


def test_plain_text_override_gets_an_html_alternative_with_paragraphs_and_links(cortex, smtp):
    template = (
        "Hello,\r\n\r\nThat was spam <b>not</b> phishing.\r\nRead https://intranet.example.org/spam.\n\n{signature}"
    )
    assert cortex(thehive4_case("Spam"), template_spam=template).success

    _, _, html = parts(smtp.delivered[0])
    assert html.count("<p ") == 3
    assert "That was spam &lt;b&gt;not&lt;/b&gt; phishing.<br>" in html
    assert (
        '<a href="https://intranet.example.org/spam" style="color:#0b57d0">https://intranet.example.org/spam</a>.'
        in html
    )


def test_override_of_one_verdict_leaves_the_others_built_in(cortex, smtp):
    assert cortex(thehive4_case("Phishing"), template_spam="Spam, {reporter}.").success

    assert "Well spotted!" in parts(smtp.delivered[0])[1]


@pytest.mark.parametrize(
    ("items", "says"),
    [
        ({"template_spam": "Hello {name}"}, "template_spam uses the unknown placeholder {name}"),
        ({"template_spam": "Hello {reporter.__class__}"}, "unknown placeholder {reporter.__class__}"),
        ({"template_spam": "Hello {reporter!r}"}, "unknown placeholder {reporter}"),
        ({"template_spam": "Hello {reporter"}, "template in template_spam is malformed"),
        ({"subject": "About {0}"}, "subject uses the unknown placeholder {0}"),
        ({"signature": "SOC {}"}, "signature uses the unknown placeholder {}"),
        # Of another message than this case's: found now, not by the first case that needs it.
        ({"template_phishing": "Hello {name}"}, "template_phishing uses the unknown placeholder {name}"),
        (
            {"template_legit": "It was {earlier_verdict}."},
            "template_legit uses the unknown placeholder {earlier_verdict}",
        ),
        ({"template_correction": "Hello {reporter"}, "template in template_correction is malformed"),
        ({"template_acknowledge": "About {verdict}"}, "template_acknowledge uses the unknown placeholder {verdict}"),
    ],
)
def test_bad_template_is_an_error_before_any_message_goes_out(cortex, smtp, items, says):
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), **items)

    assert not result.success
    assert says in result.error
    assert smtp.delivered == []


def test_literal_braces_are_written_doubled(cortex, smtp):
    assert cortex(thehive4_case("Spam"), template_spam="{{not a placeholder}} {reporter}").success

    assert parts(smtp.delivered[0])[1].startswith("{not a placeholder} alice@example.org")


def test_dry_run_previews_every_message_without_sending_or_tagging(cortex, smtp):
    case = thehive4_case("Legit email", ["alice@example.org", "bob@example.org"])
    result = cortex(case, dry_run=True)

    assert result.success, result.error
    assert smtp.delivered == []
    assert result.operations == []
    preview = result.output["full"]["preview"]
    assert [p["to"] for p in preview] == ["alice@example.org", "bob@example.org"]
    assert preview[0]["subject"] == "Phishing report feedback"
    assert "legitimate e-mail" in preview[0]["text"] and "<html" in preview[0]["html"]
    assert result.output["full"]["notified"] == []


def test_url_in_a_placeholder_never_becomes_a_link_only_the_templates_own_urls_do(cortex, smtp):
    case = thehive4_case("Spam", title="Phishing report: Claim your refund at https://evil.example/login now")
    template = "You reported: {reported_subject}\nHelp: https://intranet.example.org/help\n\n{signature}"
    result = cortex(case, template_spam=template, signature="SOC, https://soc.example.org {reported_subject}")

    assert result.success, result.error
    _, text, html = parts(smtp.delivered[0])
    assert "Claim your refund at hxxps[://]evil[.]example/login now" in text
    assert "hxxps[://]evil[.]example/login" in html
    assert "evil.example" not in text + html
    assert '<a href="https://intranet.example.org/help"' in html and '<a href="https://soc.example.org"' in html


@pytest.mark.parametrize(
    "link",
    ["https://evil.example/reset", "http://login.evil.example", "www.evil.example/reset", "evil.example", "10.0.0.25"],
)
def test_a_link_in_the_reported_subject_reaches_the_reporter_defanged_as_socs_write_indicators(cortex, smtp, link):
    """Mail readers make a link of what looks like one, in text and in HTML (Outlook, Gmail, Apple Mail); the
    acknowledgement goes out on receipt, before anyone has looked at the report, from the SOC's own address."""
    alert = thehive5_alert(None, ["alice@example.org"])
    alert["title"] = f"Phishing report: Your mailbox is full, clean it up at {link} today"
    result = cortex(alert, data_type="thehive:alert", manifest=ACKNOWLEDGE_MANIFEST)

    assert result.success, result.error
    _, text, html = parts(smtp.delivered[0])
    host = link.split("//")[-1].split("/")[0]
    assert host not in text and host not in html
    assert f"clean it up at {link.replace('https://', 'hxxps[://]').replace('http://', 'hxxp[://]')}" not in text
    assert f"{host.replace('.', '[.]')}" in text and f"{host.replace('.', '[.]')}" in html


def test_a_share_in_the_reported_subject_reaches_the_reporter_as_no_path_windows_would_open(cortex, smtp):
    r"""Outlook makes a link of \\host\share, and Windows opens it over SMB, sending the reader's sign-in hash to
    whoever answers for the name; on the local network, any machine may."""
    alert = thehive5_alert(None, ["alice@example.org"])
    alert["title"] = r"Phishing report: Your scan is ready at \\scanner\inbox\scan-0412"
    result = cortex(alert, data_type="thehive:alert", manifest=ACKNOWLEDGE_MANIFEST, subject="Re: {reported_subject}")

    assert result.success, result.error
    message, text, html = parts(smtp.delivered[0])
    subject = str(message["Subject"])
    assert subject == r"Re: Your scan is ready at [\]\scanner\inbox\scan-0412"
    assert r"Your scan is ready at [\]\scanner\inbox\scan-0412" in text
    assert r"Your scan is ready at [\]\scanner\inbox\scan-0412" in html
    assert "\\\\" not in subject + text + html


def test_the_reported_sender_reaches_the_reporter_with_its_domain_defanged(cortex, smtp):
    sender = {"dataType": "mail", "data": "service@paypal.example", "tags": ["from"], "message": "the reported sender"}
    alert = thehive_alert("Spam", ["alice@example.org"], artifacts=[sender])
    result = cortex(
        alert, data_type="thehive:alert", template_spam="From {reported_sender}, {reporter}.\n\n{signature}"
    )

    assert result.success, result.error
    _, text, html = parts(smtp.delivered[0])
    assert "From service@paypal[.]example, alice@example.org." in text
    assert "paypal.example" not in html


def test_a_long_reported_subject_is_cut_short_in_the_subject_and_in_the_message(cortex, smtp):
    """30,000 characters outside ASCII would make a Subject of about 150 kB: past what Postfix keeps of a header block
    (100 kB) and near what Exchange Online takes (256 kB). The message quotes the first thousand characters."""
    reported = "\u8acb\u6c42\u66f8" * 10_000
    result = cortex(thehive4_case("Spam", title=f"Phishing report: {reported}"), subject="Re: {reported_subject}")

    assert result.success, result.error
    message, text, _ = parts(smtp.delivered[0])
    assert len(message["Subject"]) == 200 and message["Subject"].endswith("\u2026")
    assert message["Subject"].startswith(f"Re: {reported[:150]}")
    assert len(smtp.delivered[0].content.split(b"\r\n\r\n")[0]) < 4096
    assert f"{reported[:999]}\u2026" in "".join(text.split())
    assert reported[:1000] not in "".join(text.split())


@pytest.mark.parametrize("blank", ["   ", "\n\n", " \t\r\n "])
def test_override_box_holding_only_white_space_counts_as_unset(cortex, smtp, blank):
    assert cortex(thehive4_case("Spam"), template_spam=blank, signature=blank).success

    _, text, _ = parts(smtp.delivered[0])
    assert "unwanted advertising" in text and "The Security Operations Centre" in text


def test_placeholders_work_in_the_signature(cortex, smtp):
    result = cortex(thehive4_case("Spam"), signature="SOC, case {case_number} ({verdict})\nfor {reporter}")

    assert result.success, result.error
    _, text, html = parts(smtp.delivered[0])
    assert "SOC, case 42 (Spam)\nfor alice@example.org" in text
    assert "SOC, case 42 (Spam)<br>\nfor alice@example.org" in html


def test_message_past_the_size_limit_is_an_error_before_anything_goes_out(cortex, smtp):
    case = thehive4_case("Spam", ["alice@example.org", "bob@example.org"], title="Phishing report: " + "A" * 150_000)
    result = cortex(case, template_spam="{case_title}\n" * 1_000)  # the title's first thousand characters each

    assert not result.success
    assert "past the responder's limit" in result.error and "{case_title}" in result.error
    assert smtp.delivered == []


def test_dry_run_report_is_bounded_and_names_the_messages_it_leaves_out(cortex, smtp):
    reporters = [f"user{i}@example.org" for i in range(60)]
    case = thehive4_case("Spam", reporters, title="Phishing report: " + "B" * 20_000)
    result = cortex(case, dry_run=True, template_spam="{case_title}\n" * 20)

    assert result.success, result.error
    full = result.output["full"]
    assert 0 < len(full["preview"]) < 60
    assert [p["to"] for p in full["preview"]] + full["not_shown"] == reporters
    assert "differ only in their recipient, language and In-Reply-To" in full["message"]
    assert len(result.raw_output) < 3_000_000
    assert smtp.delivered == []


@pytest.mark.parametrize(
    ("language", "undated", "broken"),
    [
        ("en", "Reference: case 42.", "reported on ."),
        ("fr", "Référence\u00a0: dossier 42.", "signalé le ."),
        ("nl", "Referentie: dossier 42.", "gemeld op ."),
        ("de", "Referenz: Vorgang 42.", "gemeldet am ."),
        ("es", "Referencia: caso 42.", "notificado el ."),
    ],
)
def test_case_without_a_date_leaves_no_broken_sentence(cortex, smtp, language, undated, broken):
    case = thehive4_case("Phishing")
    del case["startDate"], case["createdAt"]
    assert cortex(case, language=language).success

    _, text, html = parts(smtp.delivered[0])
    assert undated in text and undated in html
    assert broken not in text and broken not in html


def test_an_alert_whose_reference_is_the_reported_mails_message_id_has_no_reference_line(cortex, smtp):
    alert = thehive_alert("Spam")
    alert["sourceRef"] = "<CAKx5Yq2p+Lw0vQ=9hZr@mail.gmail.com>"
    result = cortex(alert, data_type="thehive:alert")

    assert result.success, result.error
    _, text, html = parts(smtp.delivered[0])
    assert "Reference" not in text and "mail.gmail.com" not in text + html


def test_case_without_a_number_or_a_date_has_no_reference_line(cortex, smtp):
    case = thehive4_case("Legit email")
    del case["startDate"], case["createdAt"], case["caseId"]
    assert cortex(case).success

    _, text, html = parts(smtp.delivered[0])
    assert "Reference" not in text and "Reference" not in html
    assert text.endswith("The Security Operations Centre\n")


def test_reference_line_is_offered_to_overrides(cortex, smtp):
    assert cortex(thehive4_case("Spam"), template_spam="Thanks, {reporter}.\n\n{reference}").success

    assert parts(smtp.delivered[0])[1] == "Thanks, alice@example.org.\n\nReference: case 42, reported on 2023-08-30.\n"


# --- Reply-To ----------------------------------------------------------------------------------


def test_reply_to_names_where_a_reporters_answer_goes(cortex, smtp):
    result = cortex(
        thehive4_case("Spam"), **{"from": "SOC <no-reply@example.org>"}, reply_to="SOC desk <soc@example.org>"
    )

    assert result.success, result.error
    message = smtp.delivered[0].message
    assert [str(a) for a in message["Reply-To"].addresses] == ["SOC desk <soc@example.org>"]
    assert len(message.get_all("Reply-To")) == 1
    assert str(message["From"]) == "SOC <no-reply@example.org>"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("a@example.org, b@example.org", "'reply_to' is 'a@example.org, b@example.org', which holds 2 addresses"),
        ("SOC <soc@>", "'reply_to' is 'SOC <soc@>', which is not a usable reply address"),
        ("=?utf-8?b?eA0KQmNjOiBldmVAZXZpbC5leGFtcGxl?= <soc@example.org>", "whose name holds '=?'"),
    ],
)
def test_reply_to_that_is_not_one_address_is_an_error_naming_it(cortex, smtp, value, says):
    result = cortex(thehive4_case("Spam"), reply_to=value)

    assert not result.success
    assert says in result.error
    assert smtp.delivered == []


def test_sender_name_holding_an_encoded_word_is_refused_before_it_can_add_a_header(cortex, smtp):
    result = cortex(thehive4_case("Spam"), **{"from": "=?utf-8?b?eA0KQmNjOiBldmVAZXZpbC5leGFtcGxl?= <soc@example.org>"})

    assert not result.success
    assert "'from' is '=?utf-8?b?eA0KQmNjOiBldmVAZXZpbC5leGFtcGxl?= <soc@example.org>', whose name holds '=?'" in (
        result.error
    )
    assert smtp.delivered == []


# --- Logo --------------------------------------------------------------------------------------


def logo_parts(message):
    """The HTML page and the image part of a message with a logo, once its structure is checked."""
    text, related = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    assert related.get_param("type") == "text/html"  # its root part's type, as RFC 2387 requires
    page, image = related.iter_parts()
    assert page.get_content_type() == "text/html"
    return text.get_content(), page.get_content(), image


@pytest.mark.parametrize(
    ("data", "kind", "width", "height"),
    [(PNG, "image/png", 64, 64), (JPEG, "image/jpeg", 64, 32), (tables_first(JPEG), "image/jpeg", 64, 32)],
    ids=["png", "jpeg", "jpeg-tables-first"],
)
def test_logo_travels_inline_beside_the_html_and_is_shown_at_its_top(cortex, smtp, data, kind, width, height):
    result = cortex(thehive4_case("Spam"), **{"from": "Example Corp SOC <soc@example.org>"}, logo=as_item(data))

    assert result.success, result.error
    message = smtp.delivered[0].message
    assert message.get_content_type() == "multipart/alternative"
    text, page, image = logo_parts(message)
    assert image.get_content_type() == kind and image.get_content_disposition() == "inline"
    assert image.get_content() == data
    cid = image["Content-ID"].strip("<>")
    # No alt text: the name stands beside it, and a screen reader would read it twice.
    img = f'<img src="cid:{cid}" alt="" width="{width}" height="{height}"'
    assert img in page
    assert page.index(img) < page.index("Hello,")
    assert page.count("<img") == 1 and "http" not in page.split(img)[1].split(">")[0]
    assert "Hello," in text and "cid:" not in text


def test_logo_comes_with_the_organisations_name_and_reply_address_and_a_footer_in_the_language(cortex, smtp):
    items = {"from": "Example Corp SOC <no-reply@example.org>", "reply_to": "soc@example.org", "language": "fr"}
    assert cortex(thehive4_case("Spam"), logo=as_item(PNG), **items).success

    _, page, _ = logo_parts(smtp.delivered[0].message)
    letterhead, footer = page.split("Bonjour,")
    assert "Example Corp SOC" in letterhead and "soc@example.org" in letterhead
    assert "<strong>Example Corp SOC</strong> &middot; soc@example.org" in footer
    assert "Vous recevez ce message parce que vous avez signalé un e-mail" in footer
    assert "no-reply@example.org" not in page


def test_the_organisations_name_beside_the_logo_is_escaped(cortex, smtp):
    items = {"from": '"R&D <SOC> Team" <soc@example.org>'}
    assert cortex(thehive4_case("Spam"), logo=as_item(PNG), **items).success

    _, page, _ = logo_parts(smtp.delivered[0].message)
    letterhead = page.split("Hello,")[0]
    assert "R&amp;D &lt;SOC&gt; Team" in letterhead and "<SOC>" not in page


def test_a_message_in_two_languages_has_the_logos_footer_in_each(cortex, smtp):
    assert cortex(thehive4_case("Spam"), logo=as_item(PNG), language="fr,en").success

    _, page, _ = logo_parts(smtp.delivered[0].message)
    footer = page.split("Hello,")[1]
    assert "Vous recevez ce message parce que vous avez signalé un e-mail" in footer
    assert "You are receiving this message" in footer


def test_message_without_a_logo_has_no_letterhead_or_footer(cortex, smtp):
    assert cortex(thehive4_case("Spam"), **{"from": "Example Corp SOC <soc@example.org>"}).success

    _, _, html = parts(smtp.delivered[0])
    assert "Example Corp SOC" not in html and "You are receiving this message" not in html


def test_the_pages_title_is_the_subject_escaped(cortex, smtp):
    assert cortex(thehive4_case("Spam", title=HOSTILE_TITLE), subject="Re: {reported_subject}").success

    _, _, html = parts(smtp.delivered[0])
    assert (
        "<title>Re: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &lt;img src=hxxps[://]evil[.]example/t[.]gif&gt;"
        in html
    )


def test_logo_without_a_display_name_in_from_has_the_domain_beside_it(cortex, smtp):
    assert cortex(thehive4_case("Spam"), **{"from": "soc@example.org"}, logo=as_item(PNG)).success

    _, page, _ = logo_parts(smtp.delivered[0].message)
    assert re.search(r'<td style="vertical-align:middle;[^"]*">example.org<br>', page)


@pytest.mark.parametrize(
    "value",
    [
        "\n".join(as_item(PNG)[i : i + 76] for i in range(0, len(as_item(PNG)), 76)),
        "data:image/png;base64," + as_item(PNG),
        "DATA:image/png;base64," + as_item(PNG),
    ],
    ids=["wrapped", "data_url", "data_url_in_capitals"],
)
def test_logo_pasted_wrapped_or_as_a_data_url_is_read(cortex, smtp, value):
    assert cortex(thehive4_case("Spam"), logo=value).success

    assert logo_parts(smtp.delivered[0].message)[2].get_content() == PNG


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("iVBORw0KGgo!!", "logo is not base64 text: paste the output of `base64 -w0 logo.png`"),
        (as_item(b"GIF89a" + PNG[6:]), "logo is not a PNG or JPEG image"),
        (as_item(padded(200 * 1024 + 1)), "logo is 204,801 bytes once decoded, past the limit of 204,800 (200 KB)"),
        (as_item(PNG[:12] + b"JUNK" + PNG[16:]), "logo is a damaged PNG image"),
        (as_item(JPEG[:20]), "logo is a damaged JPEG image"),
    ],
    ids=["not_base64", "gif", "too_large", "png_without_header", "jpeg_cut"],
)
def test_logo_that_cannot_be_shown_is_an_error_naming_it_before_anything_goes_out(cortex, smtp, value, says):
    result = cortex(thehive4_case("Spam"), logo=value)

    assert not result.success
    assert says in result.error and "Fix it in Cortex" in result.error
    assert value[:60] not in result.error
    assert smtp.delivered == []


def test_logo_counts_towards_the_message_size_limit(cortex, smtp):
    # About 840,000 characters of text and HTML: under the limit alone, past it with the largest logo.
    case = thehive4_case("Spam", title="Phishing report: " + "A" * 70_000)
    template = "{case_title}\n" * 420  # the title's first thousand characters each

    assert cortex(case, template_spam=template).success
    result = cortex(another_case(case), template_spam=template, logo=as_item(padded(200 * 1024)))

    assert not result.success
    assert "past the responder's limit" in result.error
    assert len(smtp.delivered) == 1


def test_largest_message_with_the_largest_logo_fits_graphs_request_limit(cortex, smtp, graph, graph_items):
    case = thehive4_case("Spam", title="Phishing report: " + "A" * 50_000)
    result = cortex(case, template_spam="{case_title}\n" * 350, logo=as_item(padded(200 * 1024)), **graph_items)

    assert result.success, result.error
    (request,) = graph.received
    assert int(request.headers["Content-Length"]) < 4 * 1024 * 1024
    assert logo_parts(graph.accepted[0])[2].get_content() == padded(200 * 1024)


def test_dry_run_says_the_logo_is_attached_and_names_the_reply_address(cortex, smtp):
    result = cortex(thehive4_case("Spam"), dry_run=True, logo=as_item(PNG), reply_to="soc@example.org")

    assert result.success, result.error
    (preview,) = result.output["full"]["preview"]
    assert preview["logo"] == (
        f"attached inline as logo.png (image/png, {len(PNG):,} bytes),"
        " shown at the top of the HTML part at 64×64 pixels"
    )
    assert preview["reply_to"] == "soc@example.org"
    assert '<img src="cid:' in preview["html"]
    assert as_item(PNG)[:40] not in result.raw_output


def test_each_message_carries_the_headers_docs_messages_lists(cortex, smtp):
    """Without Auto-Submitted and X-Auto-Response-Suppress, out-of-office replies come back to the SOC; a bare To
    beside HTML and an image is a spam sign (TO_NO_BRKTS_HTML_IMG); a Message-ID under the Cortex host's own name
    would show that name to every reporter."""
    result = cortex(
        thehive4_case("Spam", ["alice@example.org"]),
        **{"from": "SOC <soc@soc.example.net>"},
        allowed_recipient_domains=["example.org"],
    )

    assert result.success, result.error
    [sent] = smtp.delivered
    raw = sent.message.as_string()
    assert "\nTo: <alice@example.org>\n" in raw
    assert "\nAuto-Submitted: auto-generated\n" in raw
    assert "\nX-Auto-Response-Suppress: All\n" in raw
    assert sent.message["Message-ID"].endswith("@soc.example.net>")
