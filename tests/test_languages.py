"""Languages: every shipped language for every message, and several languages in one message (`language: fr,nl`)."""

from __future__ import annotations

import html as html_module
import re

import pytest

from testkit.cases import thehive4_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST, MANIFEST
from testkit.delivered import text_and_html

LANGUAGES = ("en", "fr", "nl", "de", "es")
# Each message, and the flavour that sends it.
MESSAGES = {
    "Phishing": MANIFEST,
    "Spam": MANIFEST,
    "Legit email": MANIFEST,
    "Simulation": MANIFEST,
    "Acknowledgement": ACKNOWLEDGE_MANIFEST,
}
GUIDANCE = {
    "en": "https://campagne.safeonweb.be/en/phishing",
    "fr": "https://campagne.safeonweb.be/fr/phishing",
    "nl": "https://campagne.safeonweb.be/nl/phishing",
    "de": "https://www.bsi.bund.de/dok/6596574",
    "es": "https://www.incibe.es/ciudadania/tematicas/phishing",
}
REFERENCE = {
    "en": "Reference: case 42, reported on 2023-08-30.",
    "fr": "Référence\u00a0: dossier 42, signalé le 2023-08-30.",  # no break before the colon, as French sets it
    "nl": "Referentie: dossier 42, gemeld op 2023-08-30.",
    "de": "Referenz: Vorgang 42, gemeldet am 2023-08-30.",
    "es": "Referencia: caso 42, notificado el 2023-08-30.",
}
HOSTILE_TITLE = 'Phishing report: <script>alert("x")</script> & <b>co</b>'
PLACEHOLDER = re.compile(r"\{\w*\}")
SEPARATOR = "\n\n----------------------------------------\n\n"


def parts(message):
    return (message["Subject"], *text_and_html(message))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message", MESSAGES)
def test_every_language_and_message_renders_whole_with_the_case_text_escaped(composer, message, language):
    case = thehive4_case(None if message == "Acknowledgement" else message, title=HOSTILE_TITLE)
    _, messages = composer(case, MESSAGES[message], language=language)

    subject, text, html = parts(messages.message(messages.outgoing[0]))
    for part in (subject, text, html):
        assert not PLACEHOLDER.search(part), part
    assert '<script>alert("x")</script> &amp; <b>co</b>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in html
    assert '<script>alert("x")</script> & <b>co</b>' in text
    assert not re.search(r"<script|<b>|\bon\w+=", html, re.IGNORECASE)
    assert f'<html lang="{language}">' in html
    assert REFERENCE[language] in text and REFERENCE[language] in html
    if message not in ("Phishing", "Acknowledgement"):
        assert GUIDANCE[language] in text and f'href="{GUIDANCE[language]}"' in html


@pytest.mark.parametrize("message", MESSAGES)
def test_french_punctuation_never_starts_a_line_of_its_own(composer, message):
    case = thehive4_case(None if message == "Acknowledgement" else message)
    _, messages = composer(case, MESSAGES[message], language="fr")

    subject, text, html = parts(messages.message(messages.outgoing[0]))
    shown = html_module.unescape(re.sub(r"<[^>]*>", "", html))
    for part in (subject, text, shown):
        assert not re.search(r" [:;!?]", part), re.search(r".{20} [:;!?]", part)


def test_several_languages_make_one_message_holding_each_full_text_in_their_order(cortex, smtp):
    result = cortex(thehive4_case("Spam"), language="fr,nl")

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    subject, text, html = parts(smtp.delivered[0].message)
    assert subject == "Retour sur votre signalement d'hameçonnage / Feedback op uw phishingmelding"
    french, dutch = text.split(SEPARATOR)
    assert french.startswith("Bonjour,") and "Le centre des opérations de sécurité" in french
    assert REFERENCE["fr"] in french and GUIDANCE["fr"] in french
    assert dutch.startswith("Hallo,") and "Het Security Operations Center" in dutch
    assert REFERENCE["nl"] in dutch and GUIDANCE["nl"] in dutch
    assert '<html lang="fr">' in html
    french_html, dutch_html = html.split("<hr ")
    assert '<div lang="fr">' in french_html and "Bonjour," in french_html and "Hallo," not in french_html
    assert '<div lang="nl">' in dutch_html and "Hallo," in dutch_html


def test_the_acknowledgement_in_several_languages_joins_their_subjects(cortex, smtp):
    result = cortex(thehive4_case(None), manifest=ACKNOWLEDGE_MANIFEST, language="de, ES")

    assert result.success, result.error
    subject, text, _ = parts(smtp.delivered[0].message)
    assert subject == "Ihre Phishing-Meldung ist bei uns eingegangen / Hemos recibido su aviso de phishing"
    assert text.index("Guten Tag,") < text.index(SEPARATOR.strip()) < text.index("Hola:")


def test_subject_and_signature_overrides_stand_for_every_language(cortex, smtp):
    result = cortex(
        thehive4_case("Legit email"), language="de,es", subject="[SOC] {reported_subject}", signature="CERT Example"
    )

    assert result.success, result.error
    subject, text, _ = parts(smtp.delivered[0].message)
    assert subject == "[SOC] Invoice overdue"
    german, spanish = text.split(SEPARATOR)
    assert "CERT Example" in german and "CERT Example" in spanish
    assert "Ihr Security Operations Center" not in text and "El Centro de Operaciones" not in text


def test_a_template_override_is_the_whole_body_once_whatever_the_languages(cortex, smtp):
    template = "Spam: {reported_subject}. / Spam : {reported_subject}.\n\n{signature}"
    result = cortex(thehive4_case("Spam"), language="nl,fr", template_spam=template)

    assert result.success, result.error
    subject, text, html = parts(smtp.delivered[0].message)
    assert text == "Spam: Invoice overdue. / Spam : Invoice overdue.\n\nHet Security Operations Center\n"
    assert "<hr" not in html and '<html lang="nl">' in html
    # Spaces compared as one: Python 3.11's header folding doubles the space before an encoded word it
    # moves to the next line (here "d'hameçonnage"), in every long subject; not this feature's doing.
    assert " ".join(subject.split()) == "Feedback op uw phishingmelding / Retour sur votre signalement d'hameçonnage"


@pytest.mark.parametrize(("language", "named"), [("xx", "'xx'"), ("fr,it", "'it'"), ("fr;nl", "'fr;nl'")])
def test_an_unknown_language_code_is_a_configuration_error_naming_it(cortex, smtp, language, named):
    result = cortex(thehive4_case("Spam"), language=language)

    assert not result.success
    assert f"language holds {named}, which the responder has no messages for" in result.error
    assert "en, fr, nl, de, es" in result.error
    assert smtp.delivered == []
