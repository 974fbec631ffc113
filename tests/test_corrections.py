"""Corrections: a reporter last told another verdict than the case's now gets one message that corrects it.

The tests run the jobs as Cortex does against the loopback SMTP server, TheHive adding each job's tags
before the next run (docs/corrections.md); the wording of every language is checked in-process.
"""

from __future__ import annotations

import copy
import re
import time
from datetime import datetime, timedelta, timezone
from html import escape

import pytest

from feedback.case import Report
from feedback.flavours import LANGUAGES, VERDICT_FLAVOUR
from feedback.plan import Audience, decide
from feedback.templates import verdict_words
from feedback.told_records import CLOCKS_APART
from testkit.cases import thehive4_case, thehive40_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST, apply_operations
from testkit.delivered import text_and_html
from testkit.records import told, untimed
from testkit.spamd import received_from_outside
from testkit.thehive40_tags import stored

ALICE, BOB = "alice@example.org", "bob@example.org"
JOBS_SECOND = datetime(2026, 12, 4, 23, 58, 30, tzinfo=timezone.utc)
HOSTILE_TITLE = 'Phishing report: <script>alert("x")</script> & <b>co</b>'
PLACEHOLDER = re.compile(r"\{\w*\}")
# A correction's subject says what the message was: a reporter told it was harmless must not read a correction to
# Phishing as more of the same.
CORRECTION_SUBJECT = {
    "en": {
        "Phishing": "Correction: the message you reported was phishing",
        "Spam": "Correction: the message you reported is spam",
        "Legit email": "Correction: the message you reported is a legitimate e-mail",
        "Simulation": "Correction: the message you reported was a phishing exercise",
    },
    "fr": {
        "Phishing": "Rectificatif : le message que vous avez signalé était une tentative d'hameçonnage",
        "Spam": "Rectificatif : le message que vous avez signalé est un spam",
        "Legit email": "Rectificatif : le message que vous avez signalé est un e-mail légitime",
        "Simulation": "Rectificatif : le message que vous avez signalé était un exercice d'hameçonnage",
    },
    "nl": {
        "Phishing": "Correctie: het bericht dat u meldde was een phishingpoging",
        "Spam": "Correctie: het bericht dat u meldde is spam",
        "Legit email": "Correctie: het bericht dat u meldde is een legitieme e-mail",
        "Simulation": "Correctie: het bericht dat u meldde was een phishingoefening",
    },
    "de": {
        "Phishing": "Korrektur: Die von Ihnen gemeldete Nachricht war ein Phishing-Versuch",
        "Spam": "Korrektur: Die von Ihnen gemeldete Nachricht ist Spam",
        "Legit email": "Korrektur: Die von Ihnen gemeldete Nachricht ist eine legitime E-Mail",
        "Simulation": "Korrektur: Die von Ihnen gemeldete Nachricht war eine Phishing-Übung",
    },
    "es": {
        "Phishing": "Corrección: el mensaje del que nos avisó era un intento de phishing",
        "Spam": "Corrección: el mensaje del que nos avisó es spam",
        "Legit email": "Corrección: el mensaje del que nos avisó es un correo legítimo",
        "Simulation": "Corrección: el mensaje del que nos avisó era un simulacro de phishing",
    },
}
TO_PHISHING = CORRECTION_SUBJECT["en"]["Phishing"]
URGENT = (
    "If you clicked a link, opened an attachment, replied to it or did what it asked (a payment, information sent),"
    " tell the security team at once."
)


def with_verdict(case: dict, verdict: str) -> dict:
    """The case once the analyst set its verdict field to `verdict`."""
    changed = copy.deepcopy(case)
    changed["customFields"]["phishFeedback"]["string"] = verdict
    return changed


def parts(delivered) -> tuple[str, str, str]:
    message = delivered.message
    return (message["Subject"], *text_and_html(message))


@pytest.fixture
def told_legit(cortex, smtp):
    """A case whose reporters were told 'Legit email' by a first job, as TheHive holds it after that job."""

    def run(reporters=(ALICE,), **items) -> dict:
        case = thehive4_case("Legit email", reporters, title=HOSTILE_TITLE)
        first = cortex(case, **items)
        assert first.success, first.error
        smtp.delivered.clear()
        # The field is changed in a later second, as a hand changes it: a job within the same second dates its record
        # a second after the first's (test_a_correction_in_the_second_of_the_record_it_corrects_goes_once_…).
        time.sleep(1.01 - time.time() % 1)
        return apply_operations(case, first)

    return run


def test_a_reporter_told_legit_gets_a_correction_to_phishing_that_says_first_what_to_do(cortex, smtp, told_legit):
    result = cortex(with_verdict(told_legit(), "Phishing"))

    assert result.success, result.error
    assert smtp.recipients() == [ALICE]
    subject, text, html = parts(smtp.delivered[0])
    assert subject == TO_PHISHING
    assert (
        "Our earlier message said it was a legitimate e-mail. That was a mistake: it was a real phishing attempt."
        in text
    )
    assert text.index("That was a mistake") < text.index(URGENT) < text.index("Reporting it was exactly")
    assert "If you typed a password, change it straight away. Do not forward the message to anyone." in text
    assert '<script>alert("x")</script> & <b>co</b>' in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in html
    assert not re.search(r"<script|<b>", html) and "That was a mistake: it was a real phishing attempt." in html
    assert not PLACEHOLDER.search(text + html)
    assert untimed(result) == [*told("Phishing", ALICE), "mail sent"]
    assert result.output["full"]["corrections"] == [{"address": ALICE, "earlier": "Legit email"}]
    assert result.output["full"]["message"] == (
        "Feedback 'Phishing' sent to 1 reporter(s), 1 of them a correction of the verdict they were told before."
    )


def test_the_correction_is_in_the_configured_language(cortex, smtp, told_legit):
    result = cortex(with_verdict(told_legit(language="fr"), "Phishing"), language="fr")

    assert result.success, result.error
    subject, text, html = parts(smtp.delivered[0])
    assert subject == CORRECTION_SUBJECT["fr"]["Phishing"]
    assert "Notre précédent message indiquait qu'il s'agissait d'un e-mail légitime." in text
    assert "C'était une erreur\u00a0: il s'agissait bien d'une tentative d'hameçonnage (phishing)." in text
    assert "prévenez immédiatement l'équipe de sécurité" in text
    assert "Ne transférez ce message à personne." in text and '<html lang="fr">' in html


def test_a_run_after_the_correction_sends_nothing(cortex, smtp, told_legit):
    corrected = with_verdict(told_legit(), "Phishing")
    correction = cortex(corrected)
    again = cortex(apply_operations(corrected, correction))

    assert correction.success and again.success, (correction.error, again.error)
    assert smtp.recipients() == [ALICE]
    assert again.operations == [] and again.output["full"]["already_notified"] == [ALICE]
    assert again.output["full"]["corrections"] == []


def test_changing_the_verdict_back_corrects_again_from_the_last_verdict_told(cortex, smtp):
    case = thehive4_case("Phishing")
    for verdict in ("Phishing", "Spam", "Phishing"):
        case = with_verdict(case, verdict)
        result = cortex(case)
        assert result.success, result.error
        case = apply_operations(case, result)

    subjects = [d.message["Subject"] for d in smtp.delivered]
    assert subjects == ["Phishing report feedback", CORRECTION_SUBJECT["en"]["Spam"], TO_PHISHING]
    _, to_spam, _ = parts(smtp.delivered[1])
    _, back, _ = parts(smtp.delivered[2])
    assert "said it was a real phishing attempt. That was a mistake: it is spam" in to_spam
    assert "said it was spam. That was a mistake: it was a real phishing attempt." in back and URGENT in back
    assert result.output["full"]["corrections"] == [{"address": ALICE, "earlier": "Spam"}]


@pytest.mark.parametrize(
    ("records", "earlier"),
    [
        # The latest time counts, wherever its tag stands.
        ([("12:00:00", "Legit email"), ("09:00:00", "Phishing"), ("11:00:00", "Spam")], "Legit email"),
        # Two at the same second: the later tag.
        ([("12:00:00", "Legit email"), ("12:00:00", "Spam")], "Spam"),
    ],
)
def test_the_verdict_corrected_is_the_last_one_told(cortex, smtp, records, earlier):
    tags = [f"feedback_sent:{ALICE}"] + [f"feedback_verdict:2026-12-04T{at}Z;{v};{ALICE}" for at, v in records]
    result = cortex(thehive4_case("Phishing", tags=tags))

    assert result.success, result.error
    assert smtp.recipients() == [ALICE]
    assert result.output["full"]["corrections"] == [{"address": ALICE, "earlier": earlier}]


def test_a_reporter_last_told_the_cases_verdict_is_not_corrected_for_an_older_one(cortex, smtp):
    tags = [
        f"feedback_sent:{ALICE}",
        f"feedback_verdict:2026-12-04T12:00:00Z;Phishing;{ALICE}",
        f"feedback_verdict:2026-12-04T09:00:00Z;Legit email;{ALICE}",
    ]
    result = cortex(thehive4_case("Phishing", tags=tags))

    assert result.success, result.error
    assert smtp.delivered == [] and result.output["full"]["already_notified"] == [ALICE]


@pytest.mark.parametrize(("recorded_as", "earlier"), [("phishing", None), ("legit  EMAIL", "Legit email")])
def test_a_record_whose_verdict_a_hand_respelt_is_read_as_that_verdict(cortex, smtp, recorded_as, earlier):
    tags = [f"feedback_sent:{ALICE}", f"feedback_verdict:2026-12-04T09:00:00Z;{recorded_as};{ALICE}"]
    result = cortex(thehive4_case("Phishing", tags=tags))

    assert result.success, result.error
    corrections = [{"address": ALICE, "earlier": earlier}] if earlier else []
    assert result.output["full"].get("corrections", []) == corrections
    assert smtp.recipients() == ([ALICE] if earlier else [])


def test_a_reporter_recorded_without_a_verdict_is_not_corrected_and_the_job_says_so_once(cortex, smtp):
    case = thehive4_case("Phishing", [ALICE, BOB], tags=[f"feedback_sent:{ALICE}", f"feedback_sent:{BOB}"])
    result = cortex(case)

    assert result.success, result.error
    assert smtp.delivered == [] and result.operations == []
    assert result.output["full"]["warnings"] == [
        "2 reporter(s) were notified by an earlier version of Phish_Feedback, which did not record the verdict it"
        " told them: they get no correction. If the verdict changed since, tell them yourself."
    ]


def test_a_new_reporter_gets_the_verdict_while_an_earlier_one_gets_a_correction(cortex, smtp, told_legit):
    case = with_verdict(told_legit(), "Phishing")
    case["tags"].append(f"user_email:{BOB}")
    result = cortex(case)

    assert result.success, result.error
    assert smtp.recipients() == [ALICE, BOB]
    (alice, _, _), (bob, bob_text, _) = (parts(d) for d in smtp.delivered)
    assert alice == TO_PHISHING
    assert bob == "Phishing report feedback" and "Well spotted!" in bob_text and "mistake" not in bob_text
    assert untimed(result) == [*told("Phishing", ALICE, BOB), "mail sent"]
    assert result.output["full"]["corrections"] == [{"address": ALICE, "earlier": "Legit email"}]


def test_send_corrections_false_sends_no_correction_and_names_whom_it_leaves_told_another_verdict(
    cortex, smtp, told_legit
):
    """'Already notified' alone would read as told Phishing, where the reporter still believes the phish harmless."""
    result = cortex(with_verdict(told_legit(), "Phishing"), send_corrections=False)

    assert result.success, result.error
    assert smtp.delivered == [] and result.operations == []
    full = result.output["full"]
    assert full["already_notified"] == [ALICE]
    assert full["message"] == (
        "All 1 reporter(s) of this case were already notified; nothing was sent. 1 reporter(s) told another verdict"
        " get no correction (send_corrections is off). See the 1 warning(s)."
    )
    assert full["warnings"] == [
        "1 reporter(s) were told another verdict than 'Phishing' and get no correction, as send_corrections is off:"
        f" {ALICE} (told 'Legit email'). Tell them yourself, or have the Cortex admin turn send_corrections on and"
        " run the responder again."
    ]


def test_send_corrections_false_says_nothing_of_reporters_told_the_same_verdict(cortex, smtp, told_legit):
    result = cortex(with_verdict(told_legit(), "Legit email"), send_corrections=False)

    assert result.success, result.error
    assert smtp.delivered == [] and result.output["full"]["warnings"] == []
    assert result.output["full"]["message"] == "All 1 reporter(s) of this case were already notified; nothing was sent."


def test_send_corrections_false_leaves_out_the_warning_of_records_that_would_change_a_correction(cortex, smtp):
    """The warning tells the analyst which records are read otherwise when corrections are owed: without corrections,
    none is owed, and a record of a clock far ahead is no concern of the job."""
    tags = [f"feedback_sent:{ALICE}", f"feedback_verdict:2099-01-01T00:00:00Z;Phishing;{ALICE}"]
    result = cortex(thehive4_case("Spam", [ALICE], tags=tags), send_corrections=False)

    assert result.success, result.error
    assert smtp.delivered == [] and result.output["full"]["already_notified"] == [ALICE]
    assert not [w for w in result.output["full"]["warnings"] if "feedback_verdict record" in w]


def test_a_configuration_saved_before_send_corrections_existed_sends_corrections(cortex, smtp, told_legit):
    result = cortex(with_verdict(told_legit(), "Phishing"), send_corrections=None)

    assert result.success, result.error
    assert smtp.delivered[0].message["Subject"] == TO_PHISHING


def test_send_corrections_that_is_not_a_boolean_is_an_error_naming_it(cortex, smtp, told_legit):
    result = cortex(with_verdict(told_legit(), "Phishing"), send_corrections="no")

    assert not result.success and smtp.delivered == []
    assert "send_corrections must be true or false (it is 'no')" in result.error


def test_the_dry_run_shows_which_messages_are_corrections(cortex, smtp, told_legit):
    case = with_verdict(told_legit(), "Phishing")
    case["tags"].append(f"user_email:{BOB}")
    result = cortex(case, dry_run=True)

    assert result.success, result.error
    assert smtp.delivered == [] and result.operations == []
    full = result.output["full"]
    assert full["message"].startswith(
        "Dry run: 2 message(s) would go out, 1 of them a correction of the verdict they were told before;"
        " none was sent."
    )
    assert [(p["to"], p["corrects"]) for p in full["preview"]] == [(ALICE, "Legit email"), (BOB, "")]
    assert full["preview"][0]["subject"] == TO_PHISHING
    assert full["corrections"] == [{"address": ALICE, "earlier": "Legit email"}]


def test_a_correction_goes_through_thehive_40_tags_once(cortex, smtp):
    case = thehive40_case("Legit email", ["bounce=alice@example.org"])
    first = cortex(case)
    corrected = with_verdict(stored(case, first.operations), "Phishing")
    second = cortex(corrected)
    third = cortex(stored(corrected, second.operations))

    assert first.success and second.success and third.success, (first.error, second.error, third.error)
    assert smtp.recipients() == ["bounce=alice@example.org"] * 2
    assert smtp.delivered[1].message["Subject"] == TO_PHISHING
    assert second.output["full"]["corrections"] == [{"address": "bounce=alice@example.org", "earlier": "Legit email"}]
    assert third.operations == [] and third.output["full"]["already_notified"] == ["bounce=alice@example.org"]


def test_the_acknowledgement_never_corrects(cortex, smtp, told_legit):
    result = cortex(with_verdict(told_legit(), "Phishing"), manifest=ACKNOWLEDGE_MANIFEST)

    assert result.success, result.error
    assert smtp.delivered == [] and result.operations == []
    assert result.output["full"]["corrections"] == [] and result.output["full"]["warnings"] == []


def test_template_correction_replaces_every_shipped_correction(cortex, smtp, told_legit):
    override = "We told you: {earlier_verdict}. It is {verdict}: {reported_subject}.\n\n{signature}"
    result = cortex(with_verdict(told_legit(), "Spam"), template_correction=override)

    assert result.success, result.error
    subject, text, html = parts(smtp.delivered[0])
    assert subject == CORRECTION_SUBJECT["en"]["Spam"]
    assert text.startswith('We told you: a legitimate e-mail. It is Spam: <script>alert("x")</script> & <b>co</b>.')
    assert "It is Spam: &lt;script&gt;" in html


def test_a_subject_override_leaves_the_correction_its_own_subject_that_says_it_corrects(cortex, smtp, told_legit):
    subject = "Your report: {verdict}"
    result = cortex(with_verdict(told_legit(subject=subject), "Phishing"), subject=subject)

    assert result.success, result.error
    assert parts(smtp.delivered[0])[0] == TO_PHISHING


def test_a_verdict_template_cannot_name_the_earlier_verdict(cortex, smtp):
    result = cortex(thehive4_case("Spam"), template_spam="It was {earlier_verdict}.")

    assert not result.success and smtp.delivered == []
    assert "template_spam uses the unknown placeholder {earlier_verdict}" in result.error


def recorded(verdict: str, address: str = ALICE) -> list[str]:
    """A case's record of a reporter told `verdict`."""
    return [f"feedback_sent:{address}", f"feedback_verdict:2026-12-04T23:58:30Z;{verdict};{address}"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("verdict", ["Phishing", "Spam", "Legit email", "Simulation"])
def test_every_language_and_verdict_has_a_whole_correction_naming_the_earlier_verdict(composer, language, verdict):
    earlier = "Simulation" if verdict == "Phishing" else "Phishing"
    _, messages = composer(thehive4_case(verdict, title=HOSTILE_TITLE, tags=recorded(earlier)), language=language)

    message = messages.message(messages.outgoing[0])
    text, html = (message.get_body((kind,)).get_content() for kind in ("plain", "html"))
    for part in (message["Subject"], text, html):
        assert not PLACEHOLDER.search(part), part
    assert message["Subject"] == CORRECTION_SUBJECT[language][verdict]
    words = verdict_words(language)[earlier]
    assert words in text and escape(words) in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html and not re.search(r"<script|<b>", html)
    assert f'<html lang="{language}">' in html


def test_a_correction_in_several_languages_holds_each_though_the_verdicts_override_holds_one(composer):
    case = thehive4_case("Phishing", [ALICE, BOB], tags=recorded("Spam"))
    _, messages = composer(case, language="fr,nl", template_phishing="Phishing, {reporter}.\n\n{signature}")

    correction, ordinary = (messages.message(item) for item in messages.outgoing)
    text = correction.get_body(("plain",)).get_content()
    french, dutch = text.split("\n\n----------------------------------------\n\n")
    assert "il s'agissait d'un spam" in french and "dat het spam was" in dutch
    assert correction["Subject"] == f"{CORRECTION_SUBJECT['fr']['Phishing']} / {CORRECTION_SUBJECT['nl']['Phishing']}"
    assert ordinary.get_body(("plain",)).get_content().startswith(f"Phishing, {BOB}.")


@pytest.mark.parametrize(
    ("language", "verdict"),
    [*((language, "Phishing") for language in LANGUAGES), *(("en", v) for v in ("Spam", "Simulation"))],
)
def test_a_correction_scores_below_one_point_with_spamassassin(cortex, smtp, spamd, language, verdict):
    case = thehive4_case("Legit email")
    first = cortex(case, language=language)
    result = cortex(with_verdict(apply_operations(case, first), verdict), language=language)

    assert result.success, result.error
    correction = smtp.delivered[1]
    score, rules = spamd.score(received_from_outside(correction.content, correction.message["Date"]))
    names = [name for _, name, _ in rules]
    assert "ALL_TRUSTED" not in names
    assert score < 1.0, rules


def test_a_correction_the_server_refused_is_not_reported_as_given(cortex, smtp, told_legit):
    case = with_verdict(told_legit((ALICE, BOB)), "Phishing")
    smtp.faults.refuse[ALICE] = "550 5.1.1 No such user"
    result = cortex(case, smtp_retries=0)

    assert result.success, result.error
    assert [c["address"] for c in result.output["full"]["corrections"]] == [BOB]
    assert "1 of them a correction" in result.output["full"]["message"]


def test_a_record_naming_no_verdict_puts_none_of_its_text_in_a_message_and_the_job_says_so(cortex, smtp):
    forged = "https://sso-check.example.net/reset-now"
    tags = [f"feedback_sent:{ALICE}", f"feedback_verdict:2024-01-01T00:00:00Z;{forged};{ALICE}"]
    result = cortex(thehive4_case("Spam", [ALICE], tags=tags))

    assert result.success, result.error
    assert smtp.delivered == [] and result.output["full"]["already_notified"] == [ALICE]
    [warning] = result.output["full"]["warnings"]
    assert warning.startswith(f"1 feedback_verdict record(s) are not what the responder writes: {ALICE} (names no")
    assert forged not in warning


def test_records_naming_no_verdict_past_the_fifth_are_counted_not_named(cortex, smtp):
    reporters = [f"reporter{n}@example.org" for n in range(6)]
    records = [(f"feedback_sent:{r}", f"feedback_verdict:2024-01-01T00:00:00Z;Maybe;{r}") for r in reporters]
    tags = [tag for pair in records for tag in pair]
    result = cortex(thehive4_case("Spam", reporters, tags=tags))

    assert result.success, result.error
    [warning] = result.output["full"]["warnings"]
    assert warning.startswith("6 feedback_verdict record(s) are not what the responder writes: reporter0@example.org")
    assert [r for r in reporters if r in warning] == reporters[:5]
    assert "reporter4@example.org (names no verdict); and 1 more. A record" in warning


def test_a_record_dated_in_the_future_is_read_as_the_oldest_so_the_correction_it_calls_for_goes_once(cortex, smtp):
    """A Cortex host whose clock ran ahead told alice 'Phishing'; the verdict is now Spam."""
    tags = [f"feedback_sent:{ALICE}", f"feedback_verdict:2099-01-01T00:00:00Z;Phishing;{ALICE}"]
    case = thehive4_case("Spam", [ALICE], tags=tags)
    first = cortex(case)
    second = cortex(apply_operations(case, first))

    assert first.success and second.success, (first.error, second.error)
    assert smtp.recipients() == [ALICE] and first.output["full"]["corrections"] == [
        {"address": ALICE, "earlier": "Phishing"}
    ]
    assert second.operations == [] and second.output["full"]["already_notified"] == [ALICE]
    assert f"{ALICE} (dated 2099-01-01 00:00 UTC)" in second.output["full"]["warnings"][0]


def stamp(delta: timedelta) -> str:
    """A record's time, this far from now."""
    return f"{datetime.now(timezone.utc) + delta:%Y-%m-%dT%H:%M:%SZ}"


def test_a_reporter_mailed_again_after_a_record_a_clock_ahead_dated_is_not_corrected_back_by_the_next_run(cortex, smtp):
    """A host 30 minutes ahead told alice 'Legit email'; the analyst set Phishing and removed her feedback_sent: to
    send her the message again (docs/exactly-once.md). Her new record must stay her last."""
    ahead = stamp(timedelta(minutes=30))
    case = thehive4_case("Phishing", [ALICE], tags=[f"feedback_verdict:{ahead};Legit email;{ALICE}"])
    first = cortex(case)
    second = cortex(apply_operations(case, first))

    assert first.success and second.success, (first.error, second.error)
    assert smtp.recipients() == [ALICE], "alice was 'corrected' back to the verdict she had just been told"


@pytest.mark.parametrize(
    ("records", "earlier"),
    [
        (["2026-12-04T09:00:00Z;Legit email", "2099-01-01T00:00:00Z;Phishing"], "Legit email"),
        # A host two hours ahead told alice 'Legit email', then 'Phishing'; TheHive 4.0 keeps tags in no order.
        ([f"{stamp(timedelta(hours=2, minutes=5))};Phishing", f"{stamp(timedelta(hours=2))};Legit email"], None),
    ],
    ids=["beside-an-earlier-one", "two-in-the-order-of-their-times"],
)
def test_records_a_clock_far_ahead_dated_hide_no_correction_owed_and_keep_their_order(cortex, smtp, records, earlier):
    tags = [f"feedback_sent:{ALICE}", *(f"feedback_verdict:{record};{ALICE}" for record in records)]
    result = cortex(thehive4_case("Phishing", [ALICE], tags=tags))

    assert result.success, result.error
    assert smtp.recipients() == ([ALICE] if earlier else [])
    assert result.output["full"]["corrections"] == ([{"address": ALICE, "earlier": earlier}] if earlier else [])


def test_a_record_dated_minutes_ahead_by_another_hosts_clock_is_still_the_last_verdict_told(cortex, smtp):
    """Two Cortex hosts, one clock a few minutes ahead: its record of 'Phishing' is the latest, read as it stands."""
    now = datetime.now(timezone.utc)
    earlier, ahead = (f"{now + delta:%Y-%m-%dT%H:%M:%SZ}" for delta in (timedelta(days=-2), timedelta(minutes=10)))
    tags = [
        f"feedback_sent:{ALICE}",
        f"feedback_verdict:{earlier};Legit email;{ALICE}",
        f"feedback_verdict:{ahead};Phishing;{ALICE}",
    ]
    result = cortex(thehive4_case("Phishing", [ALICE], tags=tags))

    assert result.success, result.error
    assert smtp.delivered == [] and result.operations == []
    assert result.output["full"]["already_notified"] == [ALICE]
    assert result.output["full"]["warnings"] == []


def test_a_correction_of_a_record_another_hosts_clock_dated_ahead_is_dated_after_it_and_goes_once(cortex, smtp):
    """A Cortex host 30 minutes ahead told alice 'Legit email'; a host with the right clock corrects her to Phishing.
    Her correction must stay her last record, or every run until that time would correct her again."""
    ahead = stamp(timedelta(minutes=30))
    case = thehive4_case(
        "Phishing", [ALICE], tags=[f"feedback_sent:{ALICE}", f"feedback_verdict:{ahead};Legit email;{ALICE}"]
    )
    first = cortex(case)
    second = cortex(apply_operations(case, first))

    assert first.success and second.success, (first.error, second.error)
    assert smtp.recipients() == [ALICE], "alice got the same correction twice"
    [record] = [op["tag"] for op in first.operations if op["tag"].startswith("feedback_verdict:")]
    assert record.split(";")[0].removeprefix("feedback_verdict:") > ahead
    assert second.operations == [] and second.output["full"]["already_notified"] == [ALICE]


def test_a_correction_back_to_a_verdict_told_earlier_in_the_same_second_is_recorded_and_goes_once(cortex, smtp):
    """Alice was told Simulation, then Phishing, within the second this job runs in: her correction back to Simulation
    dated that second would be a tag the case holds already, which TheHive does not add twice, so the Phishing record
    would stay her last and every run would correct her again."""
    time.sleep(1.01 - time.time() % 1)  # the job runs within the second its records are dated
    now = stamp(timedelta(0))
    records = [f"feedback_verdict:{now};Simulation;{ALICE}", f"feedback_verdict:{now};Phishing;{ALICE}"]
    case = thehive4_case("Simulation", [ALICE], tags=[f"feedback_sent:{ALICE}", *records])
    first = cortex(case)
    second = cortex(apply_operations(case, first))

    assert first.success and second.success, (first.error, second.error)
    assert smtp.recipients() == [ALICE], "alice got the same correction twice"
    assert [op["tag"] for op in first.operations if op["tag"].startswith("feedback_verdict:")][0] not in records


@pytest.mark.parametrize("new_first", [True, False], ids=["new-tags-first", "new-tags-last"])
def test_a_correction_in_the_second_of_the_record_it_corrects_goes_once_whatever_order_thehive_keeps(
    cortex, smtp, new_first
):
    """Alice was told Spam in the second this job runs in (a job just before it, the field then flipped by automation):
    her correction dated that second too was told apart from the Spam record by the tags' order alone, which TheHive
    does not keep (4.1 lists the tags it adds first), and the next run corrected her again."""
    time.sleep(1.01 - time.time() % 1)  # the job runs within the second its record is dated
    told = [f"feedback_sent:{ALICE}", f"feedback_verdict:{stamp(timedelta(0))};Spam;{ALICE}"]
    case = thehive4_case("Phishing", [ALICE], tags=told)
    first = cortex(case)
    added = [op["tag"] for op in first.operations if op["tag"] not in case["tags"]]
    second = cortex({**case, "tags": [*added, *case["tags"]] if new_first else [*case["tags"], *added]})

    assert first.success and second.success, (first.error, second.error)
    assert smtp.recipients() == [ALICE], "alice got the same correction twice"
    assert second.operations == []


@pytest.mark.parametrize(
    "told", [["Simulation", "Phishing"], ["Phishing"]], ids=["two-in-its-second", "one-in-its-second"]
)
def test_a_correction_is_dated_after_any_record_dated_in_the_jobs_own_second(told):
    """The decision alone, at a fixed time: after two records in its second, the correction's record dated that second
    could repeat the first; after one, the two records of one second would be told apart by their tags' order alone,
    which TheHive does not keep. Either way it comes a second later."""
    records = (f"feedback_verdict:{JOBS_SECOND:%Y-%m-%dT%H:%M:%SZ};{v};{ALICE}" for v in told)
    tags = (f"user_email:{ALICE}", f"feedback_sent:{ALICE}", *records)
    report = Report("case", "~1", "1", "Phishing report: x", "x", None, "Simulation", tags, ())
    decision = decide(report, [], Audience("reporter", (), False, VERDICT_FLAVOUR, True, {}), JOBS_SECOND)

    assert decision.corrections == {ALICE: "Phishing"}
    assert decision.dated_after == {ALICE: JOBS_SECOND}


@pytest.mark.parametrize("then", [None, "Phishing"], ids=["last-second", "told-again-later"])
def test_two_verdicts_recorded_in_one_second_are_named_to_the_analyst_while_they_are_the_last(then):
    """Written by a version before this one, which dated a correction in the second of the record it corrected:
    which of the two a reporter was told last, the case's tags cannot say (TheHive keeps no order). The address is
    named as its records write it."""
    written = "Alice@Example.org"
    records = [f"{JOBS_SECOND - timedelta(minutes=5):%Y-%m-%dT%H:%M:%SZ};{v}" for v in ("Phishing", "Spam")]
    records += [f"{JOBS_SECOND - timedelta(minutes=1):%Y-%m-%dT%H:%M:%SZ};{then}"] if then else []
    tags = (f"user_email:{ALICE}", f"feedback_sent:{ALICE}", *(f"feedback_verdict:{r};{written}" for r in records))
    report = Report("case", "~1", "1", "Phishing report: x", "x", None, "Phishing", tags, ())
    decision = decide(report, [], Audience("reporter", (), False, VERDICT_FLAVOUR, True, {}), JOBS_SECOND)

    assert decision.passed_over == (() if then else ((written, "two verdicts in one second"),))


def test_two_verdicts_recorded_in_one_second_under_the_address_in_other_capitals_are_named_to_the_analyst():
    """A hand changed the case of the reporter's tag between two jobs: the records name one reporter, whose last verdict
    the case's tags cannot say."""
    second = f"{JOBS_SECOND - timedelta(minutes=5):%Y-%m-%dT%H:%M:%SZ}"
    records = [f"feedback_verdict:{second};Phishing;{ALICE}", f"feedback_verdict:{second};Spam;Alice@Example.org"]
    tags = (f"user_email:{ALICE}", f"feedback_sent:{ALICE}", *records)
    report = Report("case", "~1", "1", "Phishing report: x", "x", None, "Phishing", tags, ())
    decision = decide(report, [], Audience("reporter", (), False, VERDICT_FLAVOUR, True, {}), JOBS_SECOND)

    assert decision.passed_over == (("Alice@Example.org", "two verdicts in one second"),)


@pytest.mark.parametrize(
    ("ahead", "passed_over", "dated_after"),
    [
        (CLOCKS_APART, (), {ALICE: JOBS_SECOND + CLOCKS_APART}),
        (timedelta(hours=2), ((ALICE, "dated 2026-12-05 01:58 UTC"),), {}),
    ],
    ids=["an-hour-ahead", "two-hours-ahead"],
)
def test_a_record_dated_up_to_an_hour_ahead_stands_and_one_dated_later_is_named_to_the_analyst(
    ahead, passed_over, dated_after
):
    """An hour is as far as two Cortex hosts' clocks may be apart: a record dated within it is read as it stands, and
    the correction it calls for is dated after it; one dated later came from a clock that ran ahead, which the analyst
    is told of, and the correction is dated by the job's own clock."""
    tags = (
        f"user_email:{ALICE}",
        f"feedback_sent:{ALICE}",
        f"feedback_verdict:{JOBS_SECOND + ahead:%Y-%m-%dT%H:%M:%SZ};Spam;{ALICE}",
    )
    report = Report("case", "~1", "1", "Phishing report: x", "x", None, "Phishing", tags, ())
    decision = decide(report, [], Audience("reporter", (), False, VERDICT_FLAVOUR, True, {}), JOBS_SECOND)

    assert decision.corrections == {ALICE: "Spam"}
    assert (decision.passed_over, decision.dated_after) == (passed_over, dated_after)


def test_a_record_a_hand_retyped_with_spaces_after_its_separators_still_calls_for_the_correction(cortex, smtp):
    tags = [f"feedback_sent:{ALICE}", f"feedback_verdict:2026-01-04T09:00:00Z; Legit email; {ALICE}"]
    result = cortex(thehive4_case("Phishing", [ALICE], tags=tags))

    assert result.success, result.error
    assert smtp.recipients() == [ALICE]
    assert result.output["full"]["corrections"] == [{"address": ALICE, "earlier": "Legit email"}]
    assert result.output["full"]["warnings"] == []


@pytest.mark.parametrize(
    "time_written",
    ["2026-01-04T09:00:00+00:00", "2026-01-04 09:00:00Z", "2026-01-04T09:00:00.123Z", "2026-02-30T09:00:00Z"],
    ids=["offset", "space", "fraction", "no-such-day"],
)
def test_a_record_whose_time_a_hand_wrote_otherwise_is_named_to_the_analyst_not_blamed_on_an_earlier_version(
    cortex, smtp, time_written
):
    """Such a record was passed over without a word, and the reporter counted among those an earlier version told
    nobody knows what: the analyst, told that, would not look for the record that calls for a correction."""
    tags = [f"feedback_sent:{ALICE}", f"feedback_verdict:{time_written};Spam;{ALICE}"]
    result = cortex(thehive4_case("Phishing", [ALICE], tags=tags))

    assert result.success, result.error
    assert smtp.delivered == []
    (warning,) = result.output["full"]["warnings"]
    assert warning.startswith(
        f"1 feedback_verdict record(s) are not what the responder writes: {ALICE} (its time is not written as the job"
        " writes)."
    )


def test_a_correction_that_may_have_gone_is_not_sent_again_until_the_analyst_removes_that_record(
    cortex, smtp, told_legit
):
    """A correction the mail service had whole and never answered is recorded feedback_unsure, as a first message is:
    the next run does not correct that reporter again."""
    corrected = with_verdict(told_legit(), "Phishing")
    corrected["tags"].append(f"feedback_unsure:{ALICE}")
    result = cortex(corrected)

    assert result.success, result.error
    assert smtp.recipients() == []
    assert result.output["full"]["maybe_notified"] == [ALICE] and result.operations == []


def test_a_correction_beside_a_record_a_clock_far_ahead_dated_is_dated_now_and_goes_once(cortex, smtp):
    """A record dated past CLOCKS_APART is read as older than any other, never as the time to date the next after:
    dated after 2099, alice's correction would itself be read so, and every run would correct her again."""
    tags = [
        f"feedback_sent:{ALICE}",
        f"feedback_verdict:{stamp(timedelta(days=-2))};Legit email;{ALICE}",
        f"feedback_verdict:2099-01-01T00:00:00Z;Phishing;{ALICE}",
    ]
    case = thehive4_case("Phishing", [ALICE], tags=tags)
    first = cortex(case)
    second = cortex(apply_operations(case, first))

    assert first.success and second.success, (first.error, second.error)
    assert smtp.recipients() == [ALICE], "alice got the same correction twice"
    [record] = [op["tag"] for op in first.operations if op["tag"].startswith("feedback_verdict:")]
    assert record.split(";")[0].removeprefix("feedback_verdict:") < stamp(CLOCKS_APART)


def test_a_reporter_told_spam_then_legit_is_told_how_to_get_back_a_message_they_may_have_deleted(cortex, smtp):
    case = thehive4_case("Spam", [ALICE])
    first = cortex(case)
    cortex(apply_operations(with_verdict(case, "Legit email"), first))

    text, html = text_and_html(smtp.delivered[1].message)
    assert "If you deleted it, you can restore it from your deleted items" in text
    assert "If you deleted it, you can restore it from your deleted items" in html
