"""Case content from outside (the reported mail's subject and sender, the tags and fields a collector wrote, TheHive's
odd shapes) as it reaches the reporter's message, its headers, and the report and records the job writes back.

Each job runs as Cortex runs it, against the loopback SMTP server.
"""

from __future__ import annotations

import base64
from html import escape as html_escape

import pytest
from test_hostile import OUR_HEADERS

from testkit.cases import thehive4_case, thehive5_case, thehive_alert
from testkit.delivered import text_and_html

ALICE = "alice@example.org"
SMUGGLED = "\r\nReply-To: evil@evil.example\r\nBcc: eve@evil.example\r\n\r\n<h1>owned</h1>"
ENCODED_WORD = f"=?utf-8?b?{base64.b64encode(SMUGGLED.encode()).decode()}?="


def artifact(data_type: str, data: object, tags=()) -> dict:
    """An observable as TheHive 3 sends it with an alert's job (`artifacts`)."""
    return {"dataType": data_type, "data": data, "tags": list(tags), "message": "from the mail collector"}


def header_block(delivered) -> bytes:
    return delivered.content.split(b"\r\n\r\n")[0]


def nothing_unexpected(result) -> None:
    assert result.output is not None, result.everything_printed()
    assert "Traceback" not in result.everything_printed()
    assert "unexpected" not in result.error, result.error


# --- Who is mailed -------------------------------------------------------------------------------


def test_a_reporter_named_in_several_spellings_by_tags_and_observables_gets_one_message(cortex, smtp):
    """Tags in other capitals and TheHive 4.0's quoted form, and a reporter observable with a quoted local part and
    its tag in capitals, all name one mailbox: one message, one record."""
    alert = thehive_alert(
        "Spam",
        ["Alice@Example.org"],
        artifacts=[
            artifact("mail", '"alice"@EXAMPLE.org', ["Reporter"]),
            artifact("mail", "mallory@evil.example", ["from"]),
        ],
    )
    alert["tags"] += [
        "USER_EMAIL:alice@example.org",
        'user_email="alice@example.org"',
        " user_email : ALICE@example.org",
    ]
    result = cortex(alert, data_type="thehive:alert")

    assert result.success, result.error
    assert smtp.recipients() == ["Alice@Example.org"]
    assert [tag for tag in result.tags if tag.startswith("feedback_sent:")] == ["feedback_sent:Alice@Example.org"]


# --- What the message shows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject", [ENCODED_WORD, f"Invoice {ENCODED_WORD} overdue", "Invoice\r\nBcc: eve@evil.example"]
)
def test_a_subject_observable_with_an_encoded_word_or_a_line_break_adds_no_header(cortex, smtp, subject):
    alert = thehive_alert("Spam", [ALICE], artifacts=[artifact("mail_subject", subject)])
    result = cortex(alert, data_type="thehive:alert", subject="Re: {reported_subject}")

    assert result.success, result.error
    [delivered] = smtp.delivered
    message = delivered.message
    assert sorted(message.keys()) == OUR_HEADERS
    assert message["Subject"] == "Re: " + " ".join(subject.split()).replace("evil.example", "evil[.]example")
    assert smtp.recipients() == [ALICE]
    text, html = text_and_html(message)
    assert "<h1>" not in html and "<h1>" not in text


def test_markup_a_link_and_a_line_break_in_the_reported_sender_stay_text_on_one_line(cortex, smtp):
    sender = "\"<a href='https://evil.example/reset'>IT desk</a>\r\nYour account is locked\" <ceo@evil.example>"
    alert = thehive_alert("Spam", [ALICE], artifacts=[artifact("mail", sender)])
    result = cortex(alert, data_type="thehive:alert", template_spam="From {reported_sender}.\n\n{signature}")

    assert result.success, result.error
    text, html = text_and_html(smtp.delivered[0].message)
    assert "&lt;a href=&#x27;hxxps[://]evil[.]example/reset&#x27;&gt;IT desk&lt;/a&gt; Your account is locked" in html
    assert "<a href=" not in html.split("From ", 1)[1].split("</p>", 1)[0]
    assert 'IT desk</a> Your account is locked" <ceo@evil[.]example>.' in text
    # The analyst reads the line break as its escape, as every control in what the case gave.
    assert result.output["full"]["from_observables"]["reported_sender"] == sender.replace("\r\n", "\\r\\n")


def test_placeholders_and_format_fields_in_the_title_are_shown_as_written(cortex, smtp):
    reported = "{reporter} {signature} {0} {__class__} {guidance_url!r} {{x}} %s %(x)s"
    result = cortex(thehive4_case("Spam", title=f"Phishing report: {reported}"), subject="Re: {reported_subject}")

    assert result.success, result.error
    message = smtp.delivered[0].message
    text, html = text_and_html(message)
    assert message["Subject"].strip() == f"Re: {reported}"
    assert f'the message "{reported}" to the security team' in text
    assert html_escape(reported) in html


@pytest.mark.parametrize(
    "reported",
    [
        "a" + "\u0301" * 5000,
        "\ufeffInvoice\u2060 \u200d\U0001f469\u200d\U0001f4bb overdue",
        "Invoice\u2028Reply-To: evil@evil.example\u2029overdue\x85Bcc: eve@evil.example",
        "x" * 20_000,
    ],
    ids=["combining-marks", "invisible-and-joiners", "unicode-line-separators", "long-word"],
)
def test_odd_unicode_in_the_title_reaches_the_reporter_as_text_and_adds_no_header(cortex, smtp, reported):
    result = cortex(thehive4_case("Spam", title=f"Phishing report: {reported}"), subject="Re: {reported_subject}")

    assert result.success, result.error
    [delivered] = smtp.delivered
    assert sorted(delivered.message.keys()) == OUR_HEADERS
    subject = delivered.message["Subject"].strip()  # folded before its first word where that word is long
    whole = "Re: " + " ".join(reported.split()).replace("evil.example", "evil[.]example")
    assert subject == (whole if len(whole) <= 200 else whole[:199] + "…")
    assert max(len(line) for line in delivered.content.split(b"\r\n")) <= 998
    names = [line.split(b":")[0] for line in header_block(delivered).split(b"\r\n") if not line[:1].isspace()]
    assert b"Reply-To" not in names and b"Bcc" not in names


# --- TheHive's odd shapes -------------------------------------------------------------------------


def case_with(**fields) -> dict:
    case = thehive4_case("Spam", [ALICE])
    for name, value in fields.items():
        if value is ...:
            del case[name]
        else:
            case[name] = value
    return case


SHAPES = {
    "tags-with-other-types": (case_with(tags=[None, 7, {"a": 1}, ["x"], f"user_email:{ALICE}", True]), True),
    "null-flat-field-beside-v0": (case_with(customFieldValues=None), True),
    "flat-null-value-beside-v0": (case_with(customFieldValues={"phishFeedback": None}), True),
    "v1-list-of-fields": (case_with(customFields=[{"name": "phishFeedback", "value": "Spam", "order": 0}]), True),
    "multi-value-with-blanks": (
        case_with(customFields=None, customFieldValues={"phishFeedback": ["Spam", None, ""]}),
        True,
    ),
    "numbers-as-strings": (case_with(caseId="42", startDate="1693412835000", tlp="2", severity="2"), True),
    "huge-and-odd-numbers": (case_with(caseId=10**40, startDate=-(10**30)), True),
    "v0-value-under-another-type": (case_with(customFields={"phishFeedback": {"integer": "Spam", "order": 0}}), True),
    "nulls-where-lists-are": (case_with(tags=None, artifacts=None, customFields=None), False),
    "field-value-an-object": (
        case_with(customFields=None, customFieldValues={"phishFeedback": {"string": "Spam"}}),
        False,
    ),
    "field-value-nested-list": (case_with(customFields=None, customFieldValues={"phishFeedback": [["Spam"]]}), False),
    "title-a-list": (case_with(title=["Phishing report: x"]), False),
    "no-id-no-number": (case_with(_id=..., id=..., caseId=None), True),
}


@pytest.mark.parametrize(("case", "answered"), SHAPES.values(), ids=SHAPES.keys())
def test_odd_shapes_of_a_case_are_answered_or_refused_with_a_sentence(cortex, smtp, case, answered):
    result = cortex(case)

    nothing_unexpected(result)
    assert result.success is answered, result.error
    if answered:
        assert smtp.recipients() == [ALICE]
        text, _ = text_and_html(smtp.delivered[0].message)
        assert "{" not in text and "None" not in text
    else:
        assert result.error and smtp.delivered == []


def test_numbers_sent_as_text_still_name_the_case_and_leave_no_broken_sentence(cortex, smtp):
    result = cortex(case_with(caseId="42", startDate="1693412835000"))

    assert result.success, result.error
    text, _ = text_and_html(smtp.delivered[0].message)
    assert "case 42" in text and "reported on ." not in text and "reported on" not in text


@pytest.mark.parametrize(
    "parameters", [[], "analyst", {"organisation": None, "user": 7}], ids=["list", "text", "odd-values"]
)
def test_odd_job_parameters_are_no_reason_to_stop(cortex, smtp, parameters):
    result = cortex(thehive5_case("Spam", [ALICE]), parameters=parameters)

    nothing_unexpected(result)
    assert result.success, result.error
    assert smtp.recipients() == [ALICE]
