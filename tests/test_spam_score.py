"""Every shipped message, as the mail server receives it from a job, scored by SpamAssassin offline.

Each verdict in each language goes out through a job to the loopback SMTP server; what it received
is handed to `spamassassin -L -t` (local tests only: no DNS, no network) as the reporter's mail server
would see it, two hops later: the company relay, then the recipient's MX. Its trusted and internal
networks hold neither hop, so the last hop counts as external; scored from loopback alone, the
message would be ALL_TRUSTED (docs/real-mail-servers.md). Bayes is off: its score depends on
what a site learned, not on the message. A local test: skipped where SpamAssassin is not installed
(CI does not install it: 158 packages, about 30 s). Run with -s to see the rules that fired.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from feedback.case import VERDICTS
from feedback.flavours import LANGUAGES
from testkit.cases import thehive4_case
from testkit.cortex import ACKNOWLEDGE_MANIFEST
from testkit.images import PNG, as_item

# The recipient's side; the relay (an address of example.org's, routable) and Cortex's host are outside it.
RECEIVING_NETWORK = "192.0.2.0/24"
# One row of SpamAssassin's report: points, rule name, description.
RULE_ROW = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")


def received_from_outside(content: bytes, date: str) -> bytes:
    """The message as the reporter's MX stores it: the relay's and the MX's Received lines on top."""
    hops = (
        "Received: from smtp.example.org (smtp.example.org [93.184.215.14])\r\n"
        f"\tby mx.example.net (Postfix) with ESMTPS id 4Zx1234\r\n\tfor <alice@example.org>; {date}\r\n"
        "Received: from cortex.example.org (cortex.example.org [10.20.30.40])\r\n"
        f"\tby smtp.example.org (Postfix) with ESMTPSA id 4Zw5678\r\n\tfor <alice@example.org>; {date}\r\n"
    )
    return hops.encode() + content


def spamassassin(message: bytes, home) -> tuple[float, list[tuple[float, str, str]]]:
    """The score and the rules that fired (points, name, description), from `spamassassin -L -t`."""
    settings = [
        f"trusted_networks {RECEIVING_NETWORK}",
        f"internal_networks {RECEIVING_NETWORK}",
        "use_bayes 0",
        "bayes_auto_learn 0",
    ]
    done = subprocess.run(
        ["spamassassin", "-L", "-t", *(f"--cf={line}" for line in settings)],
        input=message,
        capture_output=True,
        check=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )
    report = done.stdout.decode("utf-8", "replace")
    score = float(re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.MULTILINE).group(1))
    table = report.split("Content analysis details:", 1)[1].split("\n---- ", 1)[1].split("\n", 1)[1]
    rules = []
    for line in table.splitlines():
        row = RULE_ROW.match(line)
        if not row:
            break
        rules.append((float(row.group(1)), row.group(2), row.group(3).strip()))
    return score, rules


pytestmark = pytest.mark.skipif(
    shutil.which("spamassassin") is None, reason="SpamAssassin not installed (apt-get install spamassassin)"
)


def scored(cortex, smtp, home, verdict: str, **items) -> tuple[float, list[str]]:
    """A job's one message scored as the reporter's MX would score it; the rules printed, their names returned."""
    result = cortex(thehive4_case(verdict), **items)
    assert result.success, result.error
    (delivered,) = smtp.delivered
    score, rules = spamassassin(received_from_outside(delivered.content, delivered.message["Date"]), home)
    shown = {name: value if name != "logo" else f"<{len(value)} characters>" for name, value in items.items()}
    print(f"\n{verdict} {shown}: SpamAssassin score {score}")
    for points, name, description in rules:
        print(f"  {points:5.1f} {name:24} {description}")
    return score, [name for _, name, _ in rules]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("verdict", VERDICTS)
def test_shipped_message_scores_below_one_point_with_spamassassin(cortex, smtp, tmp_path, verdict, language):
    score, rules = scored(cortex, smtp, tmp_path, verdict, language=language)

    assert "ALL_TRUSTED" not in rules  # scored as mail from outside, not waved through
    assert score < 1.0, rules


@pytest.mark.parametrize("language", LANGUAGES)
def test_shipped_acknowledgement_scores_below_one_point_with_spamassassin(cortex, smtp, tmp_path, language):
    score, rules = scored(cortex, smtp, tmp_path, "Spam", language=language, manifest=ACKNOWLEDGE_MANIFEST)

    assert "ALL_TRUSTED" not in rules
    assert score < 1.0, rules


def test_a_message_in_two_languages_scores_below_one_point_with_spamassassin(cortex, smtp, tmp_path):
    score, rules = scored(cortex, smtp, tmp_path, "Phishing", language="fr,nl")

    assert "ALL_TRUSTED" not in rules
    assert score < 1.0, rules


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("verdict", VERDICTS)
def test_shipped_message_with_a_logo_scores_below_one_point_with_spamassassin(
    cortex, smtp, tmp_path, verdict, language
):
    score, rules = scored(cortex, smtp, tmp_path, verdict, language=language, logo=as_item(PNG))

    assert "ALL_TRUSTED" not in rules
    assert score < 1.0, rules


@pytest.mark.parametrize("language", LANGUAGES)
def test_shipped_acknowledgement_with_a_logo_scores_below_one_point_with_spamassassin(cortex, smtp, tmp_path, language):
    score, rules = scored(
        cortex, smtp, tmp_path, "Spam", language=language, manifest=ACKNOWLEDGE_MANIFEST, logo=as_item(PNG)
    )

    assert "ALL_TRUSTED" not in rules
    assert score < 1.0, rules


def test_spamassassin_as_set_up_here_does_flag_a_spammy_message(cortex, smtp, tmp_path):
    # GTUBE, the test string every SpamAssassin scores as spam, in an admin's override of the Spam template.
    gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

    score, rules = scored(cortex, smtp, tmp_path, "Spam", template_spam=f"Hello,\n\n{gtube}\n")

    assert "GTUBE" in rules
    assert score >= 1.0
