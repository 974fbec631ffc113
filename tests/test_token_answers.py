"""A token endpoint that answers what no Entra ID answers: redirects, huge or deeply nested JSON, absurd numbers.

Each is a clear Cortex error naming the endpoint (never a traceback), and a token is only ever taken
from the endpoint oauth_token_url names, over https.
"""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from testkit.cases import thehive4_case
from testkit.records import notified
from testkit.token_endpoint import CLIENT_SECRET, MAILBOX, TOKEN, TOKEN_PATH, issue_short_lived_tokens

NESTED = "[" * 100_000 + "]" * 100_000


def json_answer(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="application/json")


@pytest.fixture
def plain_endpoint():
    """A token endpoint over plain http://, handing out the token the mail server takes."""
    server = HTTPServer(host="127.0.0.1")
    server.expect_request(TOKEN_PATH).respond_with_json({"token_type": "Bearer", "access_token": TOKEN})
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("status", [302, 307, 308])
def test_redirect_to_plain_http_is_refused_and_nothing_goes_there(cortex, smtp, entra, oauth, plain_endpoint, status):
    entra.clear()
    redirect = Response(status=status, headers={"Location": plain_endpoint.url_for(TOKEN_PATH)})
    entra.expect_request(TOKEN_PATH).respond_with_response(redirect)
    result = cortex(thehive4_case(), **oauth)

    assert not result.success
    assert f"answered with a redirect (HTTP {status}) to http://127.0.0.1, which is never followed" in (result.error)
    assert "oauth_token_url" in result.error
    assert plain_endpoint.log == []
    assert smtp.xoauth2_logins == [] and smtp.delivered == []
    assert CLIENT_SECRET not in result.everything_printed()


@pytest.mark.parametrize(
    "body", [NESTED, '{"access_token": ' + "[" * 5000 + "]" * 5000 + "}"], ids=["100000_levels", "5000_levels_inside"]
)
def test_deeply_nested_json_from_the_token_endpoint_is_a_clear_error(cortex, smtp, entra, oauth, body):
    entra.clear()
    entra.expect_request(TOKEN_PATH).respond_with_response(json_answer(body, 400))
    result = cortex(thehive4_case(), **oauth)

    assert not result.success
    assert "The OAuth2 token endpoint https://127.0.0.1:" in result.error
    assert "answered JSON nested deeper than 32 levels" in result.error
    assert "Traceback" not in result.everything_printed()
    assert smtp.delivered == []


def test_an_answer_larger_than_a_megabyte_is_a_clear_error(cortex, smtp, entra, oauth):
    entra.clear()
    huge = json.dumps({"access_token": TOKEN, "padding": "x" * (2 << 20)})
    entra.expect_request(TOKEN_PATH).respond_with_response(json_answer(huge))
    result = cortex(thehive4_case(), **oauth)

    assert not result.success
    assert "answered more than 1 MB" in result.error
    assert smtp.delivered == []


@pytest.mark.parametrize(
    "expires_in",
    ["9" * 400, None, "0", '"soon"'],
    ids=["400_digits", "absent", "zero", "a_word"],
)
def test_an_expires_in_that_gives_no_lifetime_is_a_token_that_is_never_renewed(cortex, smtp, entra, oauth, expires_in):
    """A lifetime too large for a number, missing (OAuth2 only recommends it), zero or not a number at all is a token
    that serves the whole job: not one asked for again before every session."""
    entra.clear()
    answer = {"token_type": "Bearer", "access_token": TOKEN}
    body = json.dumps(answer) if expires_in is None else json.dumps(answer)[:-1] + f', "expires_in": {expires_in}}}'
    entra.expect_request(TOKEN_PATH).respond_with_response(json_answer(body))
    smtp.faults.drop_data = 1
    result = cortex(thehive4_case(), **oauth)

    assert result.success, result.error
    assert smtp.xoauth2_logins == [(MAILBOX, True), (MAILBOX, True)]
    assert len(entra.log) == 1


LONG_CAMPAIGN = [f"reporter{i}@example.org" for i in range(5)]


def test_a_nested_answer_at_renewal_keeps_the_record_of_who_was_mailed(cortex, smtp, entra, oauth):
    issue_short_lived_tokens(entra, smtp.xoauth2, lifetime=2.5)
    first = entra.handlers[0].request_handler
    asked = []

    def answer(request):
        asked.append(request)
        return first(request) if len(asked) == 1 else json_answer(NESTED)

    entra.clear()
    entra.expect_request(TOKEN_PATH).respond_with_handler(answer)
    smtp.faults.per_session = 3
    result = cortex(thehive4_case("Spam", LONG_CAMPAIGN), **oauth, smtp_max_per_minute=60)

    assert result.success, result.error
    assert notified(result) == LONG_CAMPAIGN[:3]
    assert [f["address"] for f in result.output["full"]["failed"]] == LONG_CAMPAIGN[3:]
    assert "nested deeper than 32 levels" in result.output["full"]["failed"][0]["reason"]
    assert {"type": "AddTagToCase", "tag": f"feedback_sent:{LONG_CAMPAIGN[0]}"} in result.operations
