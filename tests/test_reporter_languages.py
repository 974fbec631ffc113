"""Each reporter in their own language (`language: auto,…`): their mailbox's setting through Microsoft Graph or
the Gmail API, then `reporter_languages`, then the rest of `language` (docs/messages.md).

The mailbox languages come from the loopback Graph and Gmail API (testkit/graph_api.py, gmail_api.py), answering
in their own shapes, with the loopback token endpoints; the jobs run as Cortex runs them.
"""

from __future__ import annotations

import pytest

from testkit.cases import another_case, thehive4_case
from testkit.cortex import MANIFEST, after_job, write_job
from testkit.gmail_api import google_error
from testkit.google_oauth import DELEGATION_MISSING
from testkit.graph_api import UNAVAILABLE, error
from testkit.http_faults import stalled
from testkit.https_server import Reply
from testkit.secret_forms import leaked
from testkit.token_endpoint import CLIENT_SECRET, MAILBOX

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
GREETING = {"en": "Hello,", "fr": "Bonjour,", "nl": "Hallo,", "de": "Guten Tag,", "es": "Hola:"}
SETTINGS_SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"


def language_of(message) -> str:
    """The one language the message's text is written in, by its greeting."""
    text = message.get_body(("plain",)).get_content()
    [language] = [code for code, greeting in GREETING.items() if text.startswith(greeting)]
    assert message["Content-Language"] == language
    assert f'<html lang="{language}">' in message.get_body(("html",)).get_content()
    return language


def languages(messages) -> dict[str, str]:
    return {str(message["To"]): language_of(message) for message in messages}


def warnings(result) -> list[str]:
    return result.output["full"]["warnings"]


def test_a_reporter_whose_mailbox_is_nl_be_gets_dutch_through_graph(cortex, graph, graph_items):
    graph.locales = {ALICE: "nl-BE", BOB: "en-US"}
    result = cortex(thehive4_case("Spam", [ALICE, BOB, CAROL]), language="auto,fr", **graph_items)

    assert result.success, result.error
    # Carol's mailbox is unknown to Graph (404): she gets the rest of the list.
    assert languages(graph.accepted) == {ALICE: "nl", BOB: "en", CAROL: "fr"}
    assert graph.accepted[0]["Subject"] == "Feedback op uw phishingmelding"
    assert [r.path for r in graph.language_requests] == [
        f"/v1.0/users/{address}/mailboxSettings/language" for address in (ALICE, BOB, CAROL)
    ]
    assert warnings(result) == []


def test_without_mailbox_settings_read_graph_is_asked_once_and_the_job_warns_once(cortex, graph, graph_items):
    graph.mailbox_settings_read = False
    graph.locales = {ALICE: "nl-BE", BOB: "nl-BE"}
    items = dict(graph_items, reporter_languages=["bob@example.org=de"])
    result = cortex(thehive4_case("Spam", [ALICE, BOB, CAROL]), language="auto,en", **items)

    assert result.success, result.error
    assert languages(graph.accepted) == {ALICE: "en", BOB: "de", CAROL: "en"}
    assert len(graph.language_requests) == 1
    [warning] = warnings(result)
    assert f"refused to read the mailbox language of {ALICE} (HTTP 403 ErrorAccessDenied)" in warning
    assert "MailboxSettings.Read application permission" in warning and "RBAC for Applications" in warning


def test_the_languages_graph_gave_before_it_refused_a_mailbox_are_kept(cortex, graph, graph_items):
    """An app whose RBAC for Applications scope holds alice's mailbox and not bob's: Graph refuses bob's language,
    the job asks no further, and alice still gets the language her mailbox gave."""
    graph.locales = {ALICE: "nl-BE", BOB: "nl-BE", CAROL: "nl-BE"}
    graph.out_of_scope = {BOB}
    result = cortex(thehive4_case("Spam", [ALICE, BOB, CAROL]), language="auto,fr", **graph_items)

    assert result.success, result.error
    assert languages(graph.accepted) == {ALICE: "nl", BOB: "fr", CAROL: "fr"}
    assert len(graph.language_requests) == 2
    [warning] = warnings(result)
    assert f"refused to read the mailbox language of {BOB}" in warning


def test_a_graph_that_fails_the_lookup_is_not_asked_again_and_the_messages_go_out(cortex, graph, graph_items):
    graph.locales = {ALICE: "nl-BE", BOB: "nl-BE"}
    graph.language_reply = error(UNAVAILABLE)
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), language="auto,es", **graph_items)

    assert result.success, result.error
    assert languages(graph.accepted) == {ALICE: "es", BOB: "es"}
    assert len(graph.language_requests) == 1
    [warning] = warnings(result)
    assert f"did not give the mailbox language of {ALICE} (HTTP 503 ServiceUnavailable)" in warning


def test_a_graph_slower_than_smtp_timeout_is_given_up_once_and_the_messages_go_out(cortex, graph, graph_items):
    graph.language_reply = stalled(3)
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), language="auto,nl", smtp_timeout=1, **graph_items)

    assert result.success, result.error
    assert languages(graph.accepted) == {ALICE: "nl", BOB: "nl"}
    assert len(graph.language_requests) == 1
    [warning] = warnings(result)
    assert f"did not answer within 1 s. The mailbox language of {ALICE} was not read." in warning


@pytest.mark.slow
def test_a_graph_slow_to_give_languages_is_asked_no_longer_than_a_quarter_of_the_job_and_the_rest_get_the_list(
    cortex, graph, graph_items
):
    # jobTimeout 1 (minute): a budget of 48 s, a quarter of it for the languages; Graph takes 2 s for each.
    reporters = [f"reporter{n}@example.org" for n in range(10)]
    graph.locales = dict.fromkeys(reporters, "nl-BE")
    graph.language_reply = stalled(2)
    result = cortex(thehive4_case("Spam", reporters), language="auto,fr", jobTimeout=1, smtp_timeout=30, **graph_items)

    assert result.success, result.error
    # Whichever comes first stops the asking: the quarter spent between two mailboxes, or Graph's answer cut at it.
    assert 2 <= len(graph.language_requests) <= 7  # 6 on a quiet machine, fewer where the job starts slowly
    read = [r for r in reporters if languages(graph.accepted)[r] == "nl"]
    assert read == reporters[: len(read)] and len(graph.language_requests) - len(read) in (0, 1)
    assert all(languages(graph.accepted)[r] == "fr" for r in reporters[len(read) :])
    [warning] = warnings(result)
    assert reporters[len(read)] in warning
    assert warning.endswith(
        "No other mailbox was asked in this job: the other reporters' languages came from reporter_languages and"
        " language."
    )


def test_a_mailbox_language_that_is_not_shipped_falls_back_to_the_next_source(cortex, graph, graph_items):
    graph.locales = {ALICE: "it-IT", BOB: "pt-BR", CAROL: "fr-CA"}
    items = dict(graph_items, reporter_languages=["example.org=de", "bob@example.org=pt"])
    result = cortex(thehive4_case("Spam", [ALICE, BOB, CAROL]), language="auto,en", **items)

    assert result.success, result.error
    # Italian is not shipped: the domain's German. Bob: neither Portuguese, so his domain's. Carol: fr-CA is French.
    assert languages(graph.accepted) == {ALICE: "de", BOB: "de", CAROL: "fr"}
    assert warnings(result) == []


def test_a_gmail_user_whose_language_is_french_gets_french(cortex, google_oauth, gmail_api, gmail_items):
    google_oauth.delegated.add(SETTINGS_SCOPE)
    google_oauth.users.update({ALICE, BOB})
    gmail_api.languages = {ALICE: "fr", BOB: "en-GB"}
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), language="auto,nl", **gmail_items)

    assert result.success, result.error
    assert languages(sent.message for sent in gmail_api.sent) == {ALICE: "fr", BOB: "en"}
    # One token per reporter, impersonating them, with the settings scope alone; and the sender's own for gmail.send.
    settings_tokens = [(c["sub"], c["scope"]) for c in google_oauth.claims if c["scope"] == SETTINGS_SCOPE]
    assert settings_tokens == [(ALICE, SETTINGS_SCOPE), (BOB, SETTINGS_SCOPE)]
    assert warnings(result) == []


@pytest.mark.slow
def test_asking_200_reporters_gmail_languages_takes_about_the_memory_of_asking_one(
    google_oauth, gmail_api, gmail_items, job_config, tmp_path
):
    """One token and one signed assertion a reporter, each a secret the job remembers: whole, not piece by piece."""
    google_oauth.delegated.add(SETTINGS_SCOPE)
    peaks = []
    for count in (1, 200):
        reporters = [f"user{i}@example.org" for i in range(count)]
        google_oauth.users.update(reporters)
        job = write_job(
            tmp_path,
            another_case(thehive4_case("Spam", reporters)),
            job_config(MANIFEST, language="auto,en", **gmail_items),
        )
        peaks.append(int(after_job(job, "__import__('resource').getrusage(__import__('resource').RUSAGE_SELF)[2]")))

    assert len(gmail_api.sent) == 201
    assert peaks[1] - peaks[0] < 30 * 1024, f"{peaks[1] - peaks[0]} KiB more"  # 160 MB more when kept in pieces


def test_without_the_scope_in_the_delegation_google_is_asked_once_and_the_job_warns(
    cortex, google_oauth, gmail_api, gmail_items
):
    google_oauth.users.update({ALICE, BOB})
    gmail_api.languages = {ALICE: "fr", BOB: "fr"}
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), language="auto,nl", **gmail_items)

    assert result.success, result.error
    assert languages(sent.message for sent in gmail_api.sent) == {ALICE: "nl", BOB: "nl"}
    assert [c["sub"] for c in google_oauth.claims if c["scope"] == SETTINGS_SCOPE] == [ALICE]
    assert not any(r.method == "GET" for r in gmail_api.requests)
    [warning] = warnings(result)
    assert f"Google would not give a token to read the language of {ALICE} (HTTP 401, unauthorized_client)" in warning
    assert f"adds the scope {SETTINGS_SCOPE} to the domain-wide delegation" in warning
    assert DELEGATION_MISSING not in warning


def test_a_gmail_answer_that_is_not_json_falls_back_with_one_warning(cortex, google_oauth, gmail_api, gmail_items):
    google_oauth.delegated.add(SETTINGS_SCOPE)
    google_oauth.users.update({ALICE, BOB})
    gmail_api.faults.language = Reply(200, b"<html>sign in</html>", {"Content-Type": "text/html"})
    result = cortex(thehive4_case("Spam", [ALICE, BOB]), language="auto,de", **gmail_items)

    assert result.success, result.error
    assert languages(sent.message for sent in gmail_api.sent) == {ALICE: "de", BOB: "de"}
    [warning] = warnings(result)
    assert f"answered something other than JSON (HTTP 200). The language of {ALICE} was not read." in warning


def test_a_gmail_answer_nested_past_the_bound_is_not_parsed_and_falls_back(
    cortex, google_oauth, gmail_api, gmail_items
):
    google_oauth.delegated.add(SETTINGS_SCOPE)
    google_oauth.users.update({ALICE})
    gmail_api.faults.language = Reply(200, b"[" * 5000 + b"]" * 5000, {"Content-Type": "application/json"})
    result = cortex(thehive4_case("Spam", [ALICE]), language="auto,de", **gmail_items)

    assert result.success, result.error
    [warning] = warnings(result)
    assert "answered JSON nested deeper than 32 levels" in warning


def test_a_graph_refusal_that_echoes_the_secret_is_redacted_in_the_warning(cortex, graph, graph_items):
    graph.language_reply = error((403, f"Denied:{CLIENT_SECRET}", "no"))
    result = cortex(thehive4_case("Spam", [ALICE]), language="auto,de", **graph_items)

    assert result.success, result.error
    [warning] = warnings(result)
    assert "refused to read the mailbox language of alice@example.org (HTTP 403 Denied:********)" in warning
    assert leaked(result.everything_printed(), CLIENT_SECRET, MAILBOX) == []


def test_a_gmail_refusal_of_the_scope_is_one_warning(cortex, google_oauth, gmail_api, gmail_items):
    google_oauth.delegated.add(SETTINGS_SCOPE)
    google_oauth.users.update({ALICE})
    gmail_api.faults.language = google_error(
        403, "insufficientPermissions", "Request had insufficient authentication scopes.", "PERMISSION_DENIED"
    )
    result = cortex(thehive4_case("Spam", [ALICE]), language="auto,de", **gmail_items)

    assert result.success, result.error
    [warning] = warnings(result)
    assert "refused to read the language of alice@example.org (HTTP 403 insufficientPermissions)" in warning


def test_reporter_languages_over_smtp_an_address_before_its_domain(cortex, smtp):
    items = {"reporter_languages": ["example.org=fr", "bob@example.org=nl", "@sub.example.org = es"]}
    items["allowed_recipient_domains"] = ["example.org", "example.net"]
    reporters = [ALICE, BOB, "dan@sub.example.org", "erin@example.net"]
    result = cortex(thehive4_case("Spam", reporters), language="auto,de", **items)

    assert result.success, result.error
    assert languages(d.message for d in smtp.delivered) == {
        ALICE: "fr",
        BOB: "nl",
        "dan@sub.example.org": "es",
        "erin@example.net": "de",
    }


def test_reporter_languages_match_whatever_the_capitals_of_the_entry_and_the_tag(cortex, smtp):
    items = {"reporter_languages": ["Example.FR=fr", "Bob@Example.org=nl"], "allowed_recipient_domains": ["*"]}
    result = cortex(thehive4_case("Spam", ["Alice@Example.FR", "bob@example.org"]), language="auto,de", **items)

    assert result.success, result.error
    assert languages(d.message for d in smtp.delivered) == {"Alice@Example.FR": "fr", "bob@example.org": "nl"}


def test_without_a_known_language_the_rest_of_the_list_is_one_message_in_each(cortex, smtp):
    result = cortex(
        thehive4_case("Spam", [ALICE, BOB]), language="auto,fr,nl", reporter_languages=["bob@example.org=en"]
    )

    assert result.success, result.error
    alice, bob = (d.message for d in smtp.delivered)
    text = alice.get_body(("plain",)).get_content()
    assert text.startswith("Bonjour,") and "Hallo," in text and alice["Content-Language"] == "fr, nl"
    assert language_of(bob) == "en"


def test_the_dry_run_preview_shows_each_reporters_language(cortex, smtp):
    result = cortex(
        thehive4_case("Spam", [ALICE, BOB]), dry_run=True, language="auto,en", reporter_languages=["bob@example.org=es"]
    )

    assert result.success, result.error
    assert [(p["to"], p["language"]) for p in result.output["full"]["preview"]] == [(ALICE, "en"), (BOB, "es")]
    assert result.output["full"]["preview"][1]["text"].startswith("Hola:")
    assert smtp.delivered == []


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ("example.fr", "'example.fr'"),
        ("example.fr=french!", "'example.fr=french!'"),
        ("not a domain=fr", "'not a domain=fr'"),
        ("bob@=nl", "'bob@=nl'"),
    ],
)
def test_a_malformed_reporter_languages_entry_is_a_configuration_error_naming_it(cortex, smtp, entry, named):
    result = cortex(thehive4_case("Spam"), language="auto,en", reporter_languages=["example.org=fr", entry])

    assert not result.success
    assert f"reporter_languages holds {named}, which is not a domain or an address" in result.error
    assert smtp.delivered == []


@pytest.mark.parametrize(
    ("items", "said"),
    [
        (
            {"language": "en", "reporter_languages": ["example.org=fr"]},
            "reporter_languages is set but language does not start with auto",
        ),
        ({"language": "en,auto"}, "language holds 'auto' after another code: write it first"),
    ],
)
def test_auto_where_it_cannot_work_is_a_configuration_error(cortex, smtp, items, said):
    result = cortex(thehive4_case("Spam"), **items)

    assert not result.success
    assert said in result.error
    assert smtp.delivered == []


def test_a_campaign_renders_its_templates_once_per_language_not_per_reporter(job_config, monkeypatch):
    from feedback import messages
    from feedback.case import read_report
    from feedback.composers import Composers, Reporter
    from feedback.plan import decide
    from feedback.settings import read_settings
    from feedback.tags import record_time

    real, rendered = messages.wording, []
    monkeypatch.setattr(
        messages, "wording", lambda settings, which: rendered.append(settings.languages) or real(settings, which)
    )
    reporters = [f"user{i}@example.org" for i in range(500)]
    config = read_settings(job_config(language="auto,en"), {})
    report = read_report(thehive4_case("Spam", reporters), "thehive:case", config.custom_field, config.title_prefix)
    each = {r: Reporter(("fr",) if i % 2 else ("nl",), None) for i, r in enumerate(reporters)}
    composers = Composers(decide(report, [], config.audience, record_time()), report, config.message, each)

    assert sorted(rendered) == [("fr",), ("nl",)]
    assert [item.recipient for item in composers.outgoing] == reporters
    assert [language_of(composers.message(item)) for item in composers.outgoing[:2]] == ["nl", "fr"]


def test_a_way_out_that_keeps_no_mailbox_languages_leaves_the_configured_ones(job_config):
    """A fourth way out that offers no look-up is never taken for another service's: its reporters get
    reporter_languages, then the rest of `language`, and the job no warning."""
    from feedback.case import read_report
    from feedback.plan import decide
    from feedback.reporter_facts import reporters_for
    from feedback.settings import read_settings
    from feedback.shapes import replaced
    from feedback.tags import record_time
    from feedback.way_out import Transport

    class Relay(Transport):
        name = "a relay's HTTP API"

    config = read_settings(job_config(language="auto,fr", reporter_languages=[f"{ALICE}=nl"]), {})
    config = replaced(config, way_out=object())
    report = read_report(thehive4_case("Spam", [ALICE, BOB]), "thehive:case", config.custom_field, config.title_prefix)
    decision = decide(report, [], config.audience, record_time())

    reporters, warned = reporters_for(decision, report, {}, config, None, Relay(), float("inf"))

    assert {address: reporter.languages for address, reporter in reporters.items()} == {ALICE: ("nl",), BOB: ("fr",)}
    assert warned == []


def test_a_graph_404_whose_body_is_not_json_is_an_unknown_mailbox_not_a_failed_lookup(cortex, graph, graph_items):
    """An unknown mailbox answered by a page rather than JSON is still an unknown mailbox, not a failure of Graph that
    ends the look-ups."""
    graph.language_reply = Reply(404, b"<html>Not Found</html>", {"Content-Type": "text/html"})
    result = cortex(thehive4_case("Spam", ["alice@example.org"]), language="auto,fr", **graph_items)

    assert result.success, result.error
    assert result.output["full"]["warnings"] == []
    assert graph.accepted[0]["Content-Language"] == "fr"


@pytest.mark.parametrize("locale", [7, None, ["nl-BE"]])
def test_a_graph_answer_whose_locale_is_not_text_is_one_warning_and_the_messages_go_out(
    cortex, graph, graph_items, locale
):
    """Graph's answer, or a proxy's in its place, may hold a number or a list where the language code stands."""
    graph.language_reply = Reply.json(200, {"locale": locale})
    result = cortex(thehive4_case("Spam", ["alice@example.org"]), language="auto,fr", **graph_items)

    assert result.success, result.error
    [warning] = result.output["full"]["warnings"]
    assert "did not give the mailbox language of alice@example.org (an answer without a locale)" in warning
    assert graph.accepted[0]["Content-Language"] == "fr"
