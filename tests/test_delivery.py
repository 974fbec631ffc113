"""An analyst clicks Phish_Feedback on a case: the reporter gets the right message, the case gets tagged."""

from __future__ import annotations

import pytest

from testkit.cases import thehive4_case, thehive5_case
from testkit.smtp_faults import PASSWORD, USER
from testkit.smtp_server import LoopbackSmtp


def only_message(smtp):
    assert len(smtp.delivered) == 1, smtp.delivered
    return smtp.delivered[0]


def test_spam_verdict_mails_the_reporter_and_tags_the_case(cortex, smtp):
    result = cortex(thehive4_case("Spam", ["alice@example.org"]))

    assert result.success, result.raw_output
    delivered = only_message(smtp)
    assert delivered.rcpt_tos == ["alice@example.org"]
    assert delivered.login == USER
    assert {"type": "AddTagToCase", "tag": "mail sent"} in result.output["operations"]
    assert result.output["full"]["verdict"] == "Spam"
    assert result.output["full"]["notified"] == [
        {"address": "alice@example.org", "message_id": delivered.message["Message-ID"].strip()}
    ]


@pytest.mark.parametrize(
    ("verdict", "says"),
    [
        ("Phishing", "it was a real phishing attempt. Well spotted!"),
        ("Spam", "it is spam, unwanted advertising"),
        ("Legit email", "it is a legitimate e-mail"),
    ],
)
def test_each_verdict_gets_its_own_message_with_the_guidance_link(cortex, smtp, verdict, says):
    assert cortex(thehive4_case(verdict)).success

    text = only_message(smtp).message.get_body(("plain",)).get_content()
    assert says in text
    assert "https://campagne.safeonweb.be/en/phishing" in text


def test_message_is_a_well_formed_auto_generated_email(cortex, smtp):
    assert cortex(thehive4_case("Phishing")).success

    message = only_message(smtp).message
    assert message["Subject"] == "Phishing report feedback"
    assert message["From"] == "SOC <soc@example.org>"
    assert message["To"] == "alice@example.org"
    assert message["Date"].datetime is not None
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_non_ascii_title_and_sender_name_arrive_intact(cortex, smtp):
    case = thehive4_case("Spam", title="Phishing report: Facture impayée — 請求書 ✉")
    assert cortex(case, **{"from": "Équipe Sécurité <soc@example.org>"}).success

    delivered = only_message(smtp)
    assert delivered.content.isascii()
    assert delivered.message["From"].addresses[0].display_name == "Équipe Sécurité"
    assert "Facture impayée — 請求書 ✉" in delivered.message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "case",
    [
        thehive5_case("Legit email"),
        dict(
            thehive4_case(None),
            customFields=[{"name": "phishFeedback", "type": "string", "value": "Legit email", "order": 0}],
        ),
        dict(thehive4_case(None), customFields={"phishFeedback": {"string": "  legit EMAIL ", "order": 0}}),
        dict(thehive5_case(None), customFieldValues={"phishFeedback": ["Legit email"]}),
        # TheHive 5 beside the v0 fields it keeps (docs/cortex-and-thehive.md §4): both maps name the verdict.
        dict(thehive5_case("Legit email"), caseId=7, customFields={"phishFeedback": {"string": "Legit email"}}),
    ],
    ids=["thehive5-flat", "v1-list", "loose-spelling", "thehive5-multi-value", "thehive5-with-v0-fields"],
)
def test_verdict_is_read_from_every_custom_field_shape(cortex, smtp, case):
    result = cortex(case)

    assert result.success, result.error
    assert result.output["full"]["verdict"] == "Legit email"
    assert "legitimate e-mail" in only_message(smtp).message.get_body(("plain",)).get_content()


def test_a_blank_entry_beside_the_verdict_in_a_multi_value_field_is_not_a_second_verdict(cortex, smtp):
    result = cortex(dict(thehive5_case(None), customFieldValues={"phishFeedback": ["Spam", ""]}))

    assert result.success, result.error
    assert result.output["full"]["verdict"] == "Spam"
    assert smtp.recipients() == ["alice@example.org"]


def test_implicit_tls_server_on_its_own_port(cortex, certificates):
    with LoopbackSmtp(certificates, tls="implicit") as server:
        result = cortex(thehive4_case(), smtp_port=server.port, smtp_security="tls")

    assert result.success, result.error
    assert len(server.delivered) == 1


def test_plain_relay_chosen_by_the_admin(cortex, certificates):
    with LoopbackSmtp(certificates, tls="none", auth=False) as relay:
        result = cortex(thehive4_case(), smtp_port=relay.port, smtp_security="none", smtp_user=None, smtp_password=None)

    assert result.success, result.error
    assert relay.recipients() == ["alice@example.org"]


def test_job_input_in_utf8_is_read_whatever_the_locale(cortex, smtp):
    case = thehive4_case("Spam", title="Phishing report: Überweisung fällig")
    result = cortex(case, environment={"LC_ALL": "C", "PYTHONUTF8": "0"})

    assert result.success, result.everything_printed()
    assert "Überweisung fällig" in only_message(smtp).message.get_body(("plain",)).get_content()
    assert PASSWORD not in result.everything_printed()
