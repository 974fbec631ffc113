"""Every shipped message, as the mail server receives it from a job, scored by SpamAssassin offline.

Each verdict in each language goes out through a job to the loopback SMTP server; what it received
is handed to SpamAssassin's daemon (testkit/spamd.py: local tests only, no DNS, no network, Bayes off)
as the reporter's mail server would see it, two hops later: the company relay, then the recipient's MX.
Skipped where spamd and spamc are not installed (CI installs them). Run with -s to see the rules that fired.
"""

from __future__ import annotations

import pytest

from feedback.case import VERDICTS
from feedback.flavours import LANGUAGES
from testkit.cases import thehive4_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST
from testkit.images import PNG, as_item
from testkit.spamd import received_from_outside


def scored(cortex, smtp, spamd, verdict: str, **items) -> tuple[float, list[str]]:
    """A job's one message scored as the reporter's MX would score it; the rules printed, their names returned."""
    result = cortex(thehive4_case(verdict), **items)
    assert result.success, result.error
    (delivered,) = smtp.delivered
    score, rules = spamd.score(received_from_outside(delivered.content, delivered.message["Date"]))
    shown = {name: value if name != "logo" else f"<{len(value)} characters>" for name, value in items.items()}
    print(f"\n{verdict} {shown}: SpamAssassin score {score}")
    for points, name, description in rules:
        print(f"  {points:5.1f} {name:24} {description}")
    return score, [name for _, name, _ in rules]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("verdict", VERDICTS)
def test_shipped_message_scores_below_one_point_with_spamassassin(cortex, smtp, spamd, verdict, language):
    score, rules = scored(cortex, smtp, spamd, verdict, language=language)

    assert "ALL_TRUSTED" not in rules  # scored as mail from outside, not waved through
    assert score < 1.0, rules


@pytest.mark.parametrize("language", LANGUAGES)
def test_shipped_acknowledgement_scores_below_one_point_with_spamassassin(cortex, smtp, spamd, language):
    score, rules = scored(cortex, smtp, spamd, "Spam", language=language, manifest=ACKNOWLEDGE_MANIFEST)

    assert "ALL_TRUSTED" not in rules
    assert score < 1.0, rules


def test_a_message_in_two_languages_scores_below_one_point_with_spamassassin(cortex, smtp, spamd):
    score, rules = scored(cortex, smtp, spamd, "Phishing", language="fr,nl")

    assert "ALL_TRUSTED" not in rules
    assert score < 1.0, rules


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("verdict", VERDICTS)
def test_shipped_message_with_a_logo_scores_below_one_point_with_spamassassin(cortex, smtp, spamd, verdict, language):
    score, rules = scored(cortex, smtp, spamd, verdict, language=language, logo=as_item(PNG))

    assert "ALL_TRUSTED" not in rules
    assert score < 1.0, rules


@pytest.mark.parametrize("language", LANGUAGES)
def test_shipped_acknowledgement_with_a_logo_scores_below_one_point_with_spamassassin(cortex, smtp, spamd, language):
    score, rules = scored(
        cortex, smtp, spamd, "Spam", language=language, manifest=ACKNOWLEDGE_MANIFEST, logo=as_item(PNG)
    )

    assert "ALL_TRUSTED" not in rules
    assert score < 1.0, rules


def test_spamassassin_as_set_up_here_does_flag_a_spammy_message(cortex, smtp, spamd):
    # GTUBE, the test string every SpamAssassin scores as spam, in an admin's override of the Spam template.
    gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

    score, rules = scored(cortex, smtp, spamd, "Spam", template_spam=f"Hello,\n\n{gtube}\n")

    assert "GTUBE" in rules
    assert score >= 1.0
