"""What the reporter reads: per-verdict text and HTML, placeholders, escaping, overrides, languages, preview."""

from __future__ import annotations

import re

import pytest

from testkit.cases import thehive4_case

VERDICTS = ("Phishing", "Spam", "Legit email", "Simulation")
HOSTILE_TITLE = (
    'Phishing report: <script>alert("x")</script> <img src=https://evil.example/t.gif> & co\r\nBcc: eve@evil.example'
)


def parts(delivered):
    message = delivered.message
    text, html = (message.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))
    return message, text, html


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
    if verdict != "Phishing":
        assert f"https://campagne.safeonweb.be/{language}/phishing" in text
        assert f'href="https://campagne.safeonweb.be/{language}/phishing"' in html


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Phishing report feedback"),
        ("fr", "Retour sur votre signalement d'hameçonnage"),
        ("nl", "Feedback op uw melding van phishing"),
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
    assert "&amp; co<br>" in html
    assert '<script>alert("x")</script>' in text
    assert "\n" not in message["Subject"] and message["Bcc"] is None
    assert message["Subject"].startswith('Your report: <script>alert("x")</script>')


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
    assert "Claim your refund at https://evil.example/login now" in text
    assert "https://evil.example/login" in html
    assert 'href="https://evil.example' not in html
    assert '<a href="https://intranet.example.org/help"' in html and '<a href="https://soc.example.org"' in html


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
    result = cortex(case, template_spam="{case_title}\n" * 10)

    assert not result.success
    assert "past the responder's limit" in result.error and "{case_title}" in result.error
    assert smtp.delivered == []


def test_dry_run_report_is_bounded_and_names_the_messages_it_leaves_out(cortex, smtp):
    reporters = [f"user{i}@example.org" for i in range(60)]
    case = thehive4_case("Spam", reporters, title="Phishing report: " + "B" * 20_000)
    result = cortex(case, dry_run=True, template_spam="{case_title}\n{case_title}")

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
        ("fr", "Référence : dossier 42.", "signalé le ."),
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
