"""No secret leaves the job: not in output.json, stdout, stderr or a message, whatever a server echoes.

Each job runs as Cortex runs it, against a loopback SMTP server whose replies quote what the client
sent (the password, the AUTH strings) and a loopback TheHive that reflects the API key.
"""

from __future__ import annotations

import base64
import html
import json
import re
import unicodedata
from urllib.parse import quote, quote_plus

import pytest

from feedback import redaction
from testkit.cases import another_case, thehive4_case, thehive5_alert, thehive5_case, thehive_alert
from testkit.cortex import MANIFEST, apply_operations
from testkit.proxy import ConnectProxy
from testkit.records import told, untimed
from testkit.secret_forms import leaked, reflecting_thehive, spaced
from testkit.slow_scrub import forget_secrets
from testkit.smtp_faults import PASSWORD, USER
from testkit.thehive_api import API_KEY, v1_observable
from testkit.token_endpoint import MAILBOX, TOKEN, TOKEN_PATH

XOAUTH2_STRING = base64.b64encode(f"user={MAILBOX}\x01auth=Bearer {TOKEN}\x01\x01".encode()).decode()

V1 = "/api/v1/query"
PROXY_PASSWORD = "Pr0xy-S3cret-Passw0rd"
PROXY = f"http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:9/"
# Outer white space, an inner run of spaces and a tab: a server's reply parsing collapses and strips them.
SPACED = "  Two  spaced\tWords-4-Login  "


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def leaks(result, smtp, secret: str) -> list[str]:
    """The forms of the secret found in anything the job wrote, printed or sent."""
    sent = []
    for delivered in smtp.delivered:
        message = delivered.message
        sent += [str(message["Subject"]), *delivered.rcpt_tos]
        sent += [message.get_body((k,)).get_content() for k in ("plain", "html")]
    everything = "\n".join([result.everything_printed(), json.dumps(result.output, ensure_ascii=False), *sent])
    return leaked(everything, secret, USER)


def test_reply_quoting_the_password_after_a_partial_success_shows_it_nowhere(cortex, smtp):
    smtp.faults.refuse["bob@example.org"] = f"550 5.1.1 No such user here (you logged in as {USER}/{PASSWORD})"
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    assert result.output["full"]["failed"][0]["address"] == "bob@example.org"
    assert "No such user here" in result.output["full"]["failed"][0]["reason"]
    assert leaks(result, smtp, PASSWORD) == []


@pytest.mark.parametrize(
    ("mechanism", "reply"),
    [("PLAIN", "535 5.7.8 Bad credentials in AUTH PLAIN {plain}"), ("LOGIN", "535 5.7.8 Bad password {login}")],
)
def test_login_refusal_quoting_the_auth_string_shows_it_nowhere(cortex, smtp, mechanism, reply):
    smtp.controller.SMTP_kwargs["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN") if m != mechanism]
    smtp.faults.auth_reply = reply
    result = cortex(thehive4_case())

    assert not result.success
    assert "refused the login" in result.error and "Bad" in result.error
    assert leaks(result, smtp, PASSWORD) == []
    assert smtp.delivered == []


def test_password_reaches_the_server_exactly_as_configured(cortex, smtp):
    smtp.faults.password = SPACED
    result = cortex(thehive4_case(), smtp_password=SPACED)

    assert result.success, result.error
    assert smtp.logins == [(USER, True)]


def test_reply_quoting_the_password_with_its_white_space_changed_shows_it_nowhere(cortex, smtp):
    smtp.faults.password = SPACED
    smtp.faults.refuse["bob@example.org"] = f"550 5.7.1 Relaying denied for {SPACED} ({SPACED.strip()})"
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), smtp_password=SPACED)

    assert result.success, result.error
    assert leaks(result, smtp, SPACED) == []


def test_reply_quoting_the_password_in_upper_case_shows_it_nowhere(cortex, smtp):
    smtp.faults.refuse["bob@example.org"] = f"550 5.7.1 RELAYING DENIED FOR {USER.upper()}/{PASSWORD.upper()}"
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert result.success, result.error
    assert "RELAYING DENIED" in result.output["full"]["failed"][0]["reason"]
    assert leaks(result, smtp, PASSWORD) == []


def test_a_password_quoted_over_the_login_methods_a_server_offers_shows_it_nowhere(cortex, smtp):
    """A hostile server that learnt the password offers it as login methods, ten characters an AUTH line."""
    pieces = [f"250-AUTH {PASSWORD[i : i + 10]}" for i in range(0, len(PASSWORD), 10)]
    smtp.faults.ehlo = lambda lines, tls: [
        *(line for line in lines[:-1] if not line.startswith("250-AUTH")),
        "250-AUTH CRAM-MD5",
        *pieces,
        lines[-1],
    ]
    result = cortex(thehive4_case())

    assert not result.success
    assert "offers no password login the responder uses (CRAM-MD5" in result.error
    assert not [piece for piece in pieces if piece[9:].upper() in result.everything_printed().upper()], result.error
    assert leaks(result, smtp, PASSWORD) == []


def test_api_key_reflected_by_thehive_reaches_neither_the_report_nor_the_reporter(cortex, smtp, thehive, api):
    """Echoed into the reported subject, which every message quotes: the job stops, saying the secret is out."""
    thehive.expect_request(V1).respond_with_handler(reflecting_thehive)
    template = "{reported_subject} from {reported_sender}, {reporter}. {signature}"
    result = cortex(
        thehive5_case("Spam", ["bob@example.org"]),
        **api,
        subject="Re: {reported_subject}",
        template_spam=template,
    )

    assert not result.success
    assert "The case's reported subject holds one of the responder's secrets (thehive_apikey)" in result.error
    assert smtp.delivered == [] and result.operations == []
    assert leaks(result, smtp, API_KEY) == []


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy"])
def test_a_proxy_login_from_the_environment_that_thehive_echoes_reaches_neither_the_report_nor_the_reporter(
    cortex, smtp, thehive_tls, variable
):
    """Where Cortex names no proxy, the HTTP client takes the environment's, whose login a proxy's page may quote;
    in lower case too, as curl and wget read it."""
    proxy = ConnectProxy()
    login = "soc-proxy:Pr0xy-zq8Xv7Lk3"
    thehive_tls.clear_all_handlers()
    observables = [v1_observable("mail", "bob@example.org", ["reporter"]), v1_observable("mail_subject", login, [])]
    thehive_tls.expect_request(V1).respond_with_json(observables)
    other = "HTTPS_PROXY" if variable == "https_proxy" else "https_proxy"
    environment = {
        variable: proxy.url.replace("http://", f"http://{login}@"),
        other: None,
        "NO_PROXY": None,
        "no_proxy": None,
    }
    try:
        url = thehive_tls.url_for("/").rstrip("/")
        result = cortex(thehive5_case("Spam", ()), environment=environment, thehive_url=url, thehive_apikey=API_KEY)
    finally:
        proxy.close()

    assert set(proxy.tunnels) == {f"127.0.0.1:{thehive_tls.port}"}
    assert not result.success
    assert "The case's reported subject holds one of the responder's secrets (a proxy's credentials)" in result.error
    assert smtp.delivered == [] and "Pr0xy" not in result.everything_printed()


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u034f", "\ufe0f", "\u3164", "\u180b"],
    ids=["zero-width-space", "grapheme-joiner", "variation-selector", "hangul-filler", "mongolian-variation-selector"],
)
def test_api_key_echoed_into_an_observable_with_invisible_characters_is_not_in_the_report(
    cortex, smtp, thehive, api, invisible
):
    hidden = invisible.join(API_KEY[i : i + 4] for i in range(0, len(API_KEY), 4))
    observables = [v1_observable("mail", address, ["reporter"]) for address in ("bob@example.org", f"{hidden}@x.org")]
    thehive.expect_request(V1).respond_with_json(observables)
    result = cortex(thehive5_case("Spam", ()), **api)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"] and result.output["full"]["refused"]
    assert API_KEY not in json.dumps(result.output, ensure_ascii=False).replace(invisible, "")


def test_api_key_echoed_into_the_subject_with_control_characters_reaches_neither_report_nor_reporter(
    cortex, smtp, thehive, api
):
    """A message shows a case's control characters as U+FFFD, which is looked through as they are."""
    hidden = "\x01".join(API_KEY[i : i + 4] for i in range(0, len(API_KEY), 4))
    observables = [v1_observable("mail", "bob@example.org", ["reporter"]), v1_observable("mail_subject", hidden, [])]
    thehive.expect_request(V1).respond_with_json(observables)
    result = cortex(thehive5_case("Spam", ()), **api, subject="Re: {reported_subject}")

    assert not result.success
    assert "The case's reported subject holds one of the responder's secrets" in result.error
    assert API_KEY not in json.dumps(result.output, ensure_ascii=False).replace("\x01", "")
    assert smtp.delivered == []


@pytest.mark.parametrize(
    "proxies",
    [
        {"proxy_http": PROXY, "proxy_https": PROXY},
        {"proxy": {"http": PROXY, "https": PROXY}},
        # Without a scheme, as requests and urllib take a proxy too: as http://.
        {"proxy_http": PROXY.removeprefix("http://"), "proxy_https": PROXY.removeprefix("http://")},
    ],
    ids=["proxy_items", "proxy_object", "proxy_without_scheme"],
)
@pytest.mark.parametrize(
    ("case", "job", "says"),
    [(thehive4_case(None), {}, "custom field"), (thehive4_case(), {"tlp": 3}, "is above this responder's Max TLP (2)")],
    ids=["responder_error", "cortexutils_error"],
)
def test_proxy_credentials_are_not_in_the_input_echoed_on_error(cortex, smtp, proxies, case, job, says):
    result = cortex(case, **job, **proxies)

    assert not result.success and says in result.error
    assert "input" in result.output
    assert PROXY_PASSWORD not in result.everything_printed()
    assert "proxyuser:" not in result.everything_printed()


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("Pr0xy/S3cret-Passw0rd", "is no URL a connection can take"),
        ("Pr0xy S3cret-Passw0rd", "custom field"),
    ],
    ids=["slash", "space"],
)
@pytest.mark.parametrize("where", ["proxy_items", "proxy_object"])
def test_a_proxy_password_written_as_typed_with_a_slash_or_a_space_is_not_in_the_input_echoed_on_error(
    cortex, smtp, password, says, where
):
    """Not percent-encoded, such a password ends the URL's authority where it stands: still a secret. With a slash no
    connection can take the URL (its port would be a piece of the password): the setting is refused at the start."""
    proxy = f"http://proxyuser:{password}@127.0.0.1:9/"
    proxies = {"proxy_http": proxy, "proxy_https": proxy} if where == "proxy_items" else {"proxy": {"https": proxy}}
    result = cortex(thehive4_case(None), **proxies)

    assert not result.success and says in result.error
    assert password not in result.everything_printed()
    assert "proxyuser:" not in result.everything_printed()


@pytest.mark.parametrize("password", ["Hive/Passw0rd-77", "Hive Passw0rd-77"], ids=["slash", "space"])
def test_credentials_in_thehive_url_that_make_it_no_url_are_refused_as_credentials_and_never_shown(
    cortex, smtp, password
):
    result = cortex(thehive4_case(), thehive_url=f"https://admin:{password}@127.0.0.1:9", thehive_apikey=API_KEY)

    assert not result.success
    assert "thehive_url holds a user name or password" in result.error
    assert password not in result.everything_printed()
    assert smtp.delivered == []


# The items that hold an API's URL, a login possibly typed into it; not the guidance link, whose path may hold an '@'
# (https://www.youtube.com/@Acme).
API_URL_ITEMS = sorted(
    item["name"]
    for item in json.loads(MANIFEST.read_text(encoding="utf-8"))["configurationItems"]
    if item["name"].endswith("_url") and item["name"] != "guidance_url"
)


@pytest.mark.parametrize("item", API_URL_ITEMS)
def test_a_password_typed_into_any_api_url_stays_out_of_the_echoed_input(cortex, item):
    """A job that fails echoes its input, every item's value: a login typed into an API's URL, a '/' in its password
    making it no URL, is a secret there too, whichever way out the job took (a new `_url` item is one more case)."""
    result = cortex(thehive4_case(), delivery="pigeon", **{item: "https://admin:Hive/Passw0rd-77@127.0.0.1:9"})

    assert not result.success
    assert "Hive/Passw0rd-77" not in result.everything_printed()


# Passwords whose forms differ from the plain one: characters JSON, HTML and URLs escape, letters beyond ASCII (whose
# UTF-8 Latin-1 and Windows-1252 read alike, or not), a space that a form's encoding writes as '+', what other JSON
# and HTML writers than Python's escape, and letters that Unicode's compatibility forms (SASLprep's NFKC) rewrite.
ESCAPED, ACCENTED, POLISH, SPACED_OUT, QUOTED, LIGATURE = (
    'Pa"ss\\w<o>rd&4/2',
    "Pässwörd/Ständig~9",
    "Hasło-Świeże/9",
    "Horse Battery Staple 9",
    "Hunter2'Pass+<9>&",
    "Pässwörd-ﬁ²",
)


def go_json(text: str) -> str:
    """As Go's encoding/json writes a string: `<`, `>` and `&` as escapes, letters beyond ASCII as they are."""
    return "".join(f"\\u{ord(c):04x}" if c in "<>&" else c for c in json.dumps(text, ensure_ascii=False)[1:-1])


def java_url_encoded(text: str) -> str:
    """As Java's URLEncoder writes it: '*' bare, '~' escaped, a space as '+'."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def httputility_url_encoded(text: str) -> str:
    """As .NET's HttpUtility.UrlEncode writes it: "!*()" bare, a space as '+', escapes in lower case."""
    return re.sub("%[0-9A-F]{2}", lambda e: e.group().lower(), quote_plus(text, safe="!*()").replace("~", "%7E"))


def dotnet_json(text: str) -> str:
    """As .NET's System.Text.Json writes a string of ASCII by default: HTML's characters and `+` as escapes."""
    return "".join(f"\\u{ord(c):04X}" if c in "\"&'+<>`" else c for c in text)


@pytest.mark.parametrize(
    "password, echo",
    [
        (ESCAPED, lambda text: json.dumps(text)[1:-1]),
        (ESCAPED, lambda text: json.dumps(text).replace("/", "\\/")[1:-1]),
        (ESCAPED, html.escape),
        (ACCENTED, lambda text: quote(quote(text, safe=""), safe="")),
        (SPACED_OUT, lambda text: quote(quote_plus(text), safe="")),
        (ACCENTED, lambda text: quote(text, safe="").upper()),
        (ACCENTED, lambda text: quote(text, safe="").lower()),
        (POLISH, lambda text: text.encode().decode("latin-1")),
        (POLISH, lambda text: text.encode().decode("cp1252")),
        (ACCENTED, lambda text: unicodedata.normalize("NFD", text)),
        (unicodedata.normalize("NFD", ACCENTED), lambda text: unicodedata.normalize("NFC", text)),
        (QUOTED, lambda text: html.escape(text).replace("&#x27;", "&#39;")),
        (QUOTED, lambda text: html.escape(text).replace("&#x27;", "&#039;")),
        (QUOTED, go_json),
        (QUOTED, dotnet_json),
        (LIGATURE, lambda text: unicodedata.normalize("NFKC", text)),
        (SPACED_OUT, str.upper),
        (SPACED_OUT, str.lower),
        ("P&w9", html.escape),
        ('Pä"ss\\wörd-9', lambda text: json.dumps(text, ensure_ascii=False)[1:-1]),
        ("Entra~Key9", java_url_encoded),
        ("Pässwort-9", lambda text: re.sub("%[0-9A-F]{2}", lambda e: e.group().lower(), quote(text, safe=""))),
        ("It's+Pw9", lambda text: quote(text, safe="!~*'()")),
        ("Grüße&Co-2024", go_json),
        ("Winter2024!@Hive", lambda text: quote(quote(text, safe="!~*'()"), safe="!~*'()")),
        ("Summer*2024<Go", lambda text: java_url_encoded(java_url_encoded(text))),
        ("Horse Battery/9", lambda text: httputility_url_encoded(httputility_url_encoded(text))),
    ],
    ids=[
        "json",
        "json_with_slashes_escaped",
        "html",
        "url_encoded_twice",
        "form_encoded_then_url_encoded",
        "url_encoded_then_upper_case",
        "url_encoded_then_lower_case",
        "utf8_read_as_latin1",
        "utf8_read_as_cp1252",
        "nfd",
        "nfc",
        "html_apostrophe_as_jinja2_and_go_write_it",
        "html_apostrophe_as_php_writes_it",
        "json_as_go_writes_it",
        "json_as_dotnet_writes_it",
        "nfkc_as_saslprep_normalises_it",
        "upper_case_where_a_space_gives_a_url_form_of_its_own",
        "lower_case_where_a_space_gives_a_url_form_of_its_own",
        "html_of_the_shortest_password_looked_for",
        "json_leaving_letters_beyond_ascii_as_most_writers_do",
        "tilde_as_javas_url_encoder_writes_it",
        "url_escapes_in_lower_case_as_dotnets_httputility_writes_them",
        "apostrophe_left_bare_as_javascripts_encodeuricomponent_does",
        "json_as_go_writes_letters_beyond_ascii_and_an_ampersand",
        "url_encoded_twice_by_javascripts_encodeuricomponent",
        "url_encoded_twice_by_javas_url_encoder",
        "url_encoded_twice_by_dotnets_httputility",
    ],
)
def test_a_reply_quoting_the_password_escaped_or_re_encoded_shows_it_nowhere(cortex, smtp, password, echo):
    echoed = echo(password)
    smtp.faults.password = password
    smtp.faults.refuse["bob@example.org"] = f"550 5.7.1 Relaying denied for [{echoed}]"
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), smtp_password=password)

    assert result.success, result.error
    assert "Relaying denied for [********]" in result.output["full"]["failed"][0]["reason"]
    assert echoed not in result.everything_printed()


def test_a_password_with_letters_beyond_ascii_escaped_as_json_is_scrubbed():
    redaction.remember("Pässwörd-9!")

    assert redaction.scrub('{"error": "bad password P\\u00e4ssw\\u00f6rd-9!"}') == '{"error": "bad password ********"}'


def test_credentials_in_thehive_url_are_refused_and_never_shown(cortex, smtp):
    result = cortex(thehive4_case(), thehive_url="https://admin:Hive-Passw0rd-77@127.0.0.1:9", thehive_apikey=API_KEY)

    assert not result.success
    assert "thehive_url holds a user name or password" in result.error and "thehive_apikey" in result.error
    assert "Hive-Passw0rd-77" not in result.everything_printed()
    assert API_KEY not in result.everything_printed()
    assert smtp.delivered == []


@pytest.mark.parametrize("prefix", ["", "x", "xy", "AUTH PLAIN for "])
def test_password_inside_a_longer_base64_string_a_server_quotes_cannot_be_decoded(cortex, smtp, prefix):
    quoted = b64(f"{prefix}{PASSWORD} (from 127.0.0.1)")
    smtp.faults.refuse["bob@example.org"] = f"550 5.7.1 Session {quoted} is not allowed to mail bob"
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert result.success, result.error
    assert "is not allowed to mail bob" in result.output["full"]["failed"][0]["reason"]
    assert leaks(result, smtp, PASSWORD) == []


# --- Redaction applies to text from outside, never to the record ----------------------------------


@pytest.fixture
def issuing(entra, smtp, oauth):
    """Entra issuing the given token, which the mail server takes; returns the oauth items."""

    def issue(token: str) -> dict:
        entra.clear()
        entra.expect_request(TOKEN_PATH).respond_with_json({"token_type": "Bearer", "access_token": token})
        smtp.xoauth2.tokens[token] = MAILBOX
        return oauth

    return issue


@pytest.mark.parametrize("token", ["feedback_sent", "example", "sent:alice", "mail sent"])
def test_a_token_equal_to_a_word_of_the_record_leaves_the_record_whole(cortex, smtp, issuing, token):
    case = thehive4_case("Spam", ["alice@example.org"])
    oauth = issuing(token)
    first = cortex(case, **oauth)
    second = cortex(apply_operations(case, first), **oauth)

    assert first.success and second.success, (first.error, second.error)
    assert untimed(first) == [*told("Spam", "alice@example.org"), "mail sent"]
    assert first.output["full"]["notified"][0]["address"] == "alice@example.org"
    assert smtp.recipients() == ["alice@example.org"]
    assert second.output["full"]["already_notified"] == ["alice@example.org"]


@pytest.mark.parametrize("offset", [50, 60, 70, 72])
def test_a_key_echoed_into_an_observable_is_scrubbed_before_the_value_is_cut(cortex, smtp, thehive, api, offset):
    echoed = "x" * offset + API_KEY + "@evil.example"
    thehive.expect_request(V1).respond_with_json([v1_observable("mail", echoed, ["reporter"])])
    result = cortex(thehive5_case("Spam", ()), **api)

    assert not result.success
    assert "holds one of the responder's secrets" in result.error
    assert API_KEY[:6] not in result.everything_printed()


def test_a_key_echoed_as_a_reporters_address_in_the_allowed_domain_is_refused_and_never_mailed(
    cortex, smtp, thehive, api
):
    thehive.expect_request(V1).respond_with_json([v1_observable("mail", f"{API_KEY}@example.org", ["reporter"])])
    result = cortex(thehive5_case("Spam", ["alice@example.org"]), **api)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    [refused] = result.output["full"]["refused"]
    assert "holds one of the responder's secrets" in refused["reason"]
    assert API_KEY not in result.everything_printed()


def test_what_a_cut_leaves_of_a_secret_at_its_end_is_dropped():
    forget_secrets()
    try:
        redaction.remember(API_KEY)
        for kept in range(4, len(API_KEY)):
            assert API_KEY[:4] not in redaction.shortened("x" * (79 - kept) + API_KEY[:kept] + " and more", 80)
        assert redaction.shortened("x" * 76 + "hiv and more", 80) == "x" * 76 + "hiv…"
    finally:
        forget_secrets()


@pytest.mark.parametrize("split", [40, 76, 100])
def test_an_xoauth2_string_quoted_over_several_reply_lines_cannot_be_joined_back(cortex, smtp, entra, oauth, split):
    smtp.xoauth2.tokens.clear()
    smtp.xoauth2.echo, smtp.xoauth2.split = True, split
    result = cortex(thehive4_case(), **oauth)

    assert not result.success
    assert "refused the OAuth2 login" in result.error
    assert "535 5.7.3 ******** Authentication unsuccessful" in result.error, "the lines read as one, the quote masked"
    assert leaked(result.everything_printed(), TOKEN, MAILBOX) == []
    assert leaked(result.everything_printed(), XOAUTH2_STRING, MAILBOX) == []


@pytest.mark.parametrize("every", [1, 3, 10, 20])
def test_a_password_quoted_with_white_space_inserted_shows_it_nowhere(cortex, smtp, every):
    forms = (PASSWORD, b64(PASSWORD), b64(f"\0{USER}\0{PASSWORD}"))
    smtp.faults.refuse["bob@example.org"] = "550 5.7.1 You are " + " / ".join(spaced(f, every, " ") for f in forms)
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert result.success, result.error
    assert "You are" in result.output["full"]["failed"][0]["reason"]
    assert leaks(result, smtp, PASSWORD) == []


def test_any_23_characters_of_a_secret_are_blotted_out_wherever_they_stand():
    """docs/security.md: any 23 characters or more of a secret's forms, a piece a server quotes alone, after any
    number of other characters."""
    secret = "Qw7-Lp2x-Zr9v-Kt4m-Hn6b-Fd8c-Js3g"
    redaction.remember(secret)

    for start in range(len(secret) - 22):
        for before in range(24):
            piece = secret[start : start + 23]
            assert redaction.scrub(f"{'#' * before} {piece} (wrong)") == f"{'#' * before} ******** (wrong)"


def test_proxy_credentials_written_percent_encoded_are_scrubbed_as_they_travel():
    """A proxy password holding '@' and ':' is written percent-encoded in the URL; it travels decoded, in the
    Proxy-Authorization header's base64, and a proxy's page may quote either."""
    redaction.remember_secrets({"proxy_https": "http://proxyuser:Pr0xy%40S3cret%3APass@proxy.example:3128"})
    basic = base64.b64encode(b"proxyuser:Pr0xy@S3cret:Pass").decode()

    scrubbed = redaction.scrub(f"407 Proxy Authentication Required (Basic {basic}; password Pr0xy@S3cret:Pass)")

    assert basic not in scrubbed and "Pr0xy@S3cret:Pass" not in scrubbed
    assert scrubbed.startswith("407 Proxy Authentication Required (Basic ")


@pytest.mark.parametrize(
    ("width", "code"),
    [(8, "5.7.8 "), (12, "5.7.8 "), (16, "5.7.8 "), (12, "5.7.8\t"), (12, "5.7.8: "), (12, "5.7.8 5.7.8 ")],
)
@pytest.mark.parametrize("form", ["password", "auth_plain"])
def test_a_login_refusal_quoting_the_password_a_few_characters_a_line_shows_it_nowhere(cortex, smtp, form, width, code):
    """Each line of the reply opens with its codes (RFC 2034), which smtplib keeps between the pieces of the quote;
    a server may write them followed by a tab or a colon, and a proxy may add its own."""
    quoted = PASSWORD if form == "password" else b64(f"\0{USER}\0{PASSWORD}")
    pieces = [quoted[start : start + width] for start in range(0, len(quoted), width)]
    smtp.faults.auth_reply = "\r\n".join([*(f"535-{code}{p}" for p in pieces[:-1]), f"535 {code}{pieces[-1]}"])
    result = cortex(thehive4_case())

    assert not result.success
    assert f"refused the login of '{USER}': 535 5.7.8" in result.error
    assert leaks(result, smtp, PASSWORD) == []


def test_a_token_equal_to_a_refused_reporter_is_scrubbed_from_the_report(cortex, smtp, issuing):
    refused = "bob@partner.example"
    case = thehive4_case("Spam", ["alice@example.org", refused])
    result = cortex(case, allowed_recipient_domains=["example.org"], **issuing(refused))

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    assert "feedback_sent:alice@example.org" in result.tags
    assert result.output["full"]["refused"][0]["reason"] == "its domain is not in allowed_recipient_domains"
    assert refused not in result.everything_printed()


def test_a_token_inside_the_sender_address_is_scrubbed_from_the_server_refusal_quoting_it(cortex, smtp, issuing):
    token = "soc-desk-7Hq2"
    sender = f"{token}@example.org"
    smtp.faults.refuse_sender = f"553 5.7.1 <{sender}>: Sender address rejected: not owned by user {MAILBOX}"
    result = cortex(thehive4_case(), **{"from": f"SOC <{sender}>"}, **issuing(token))

    assert not result.success
    assert "Sender address rejected" in result.error
    assert token not in result.everything_printed()
    assert smtp.delivered == []


def test_a_password_with_html_characters_in_the_reported_subject_is_found_though_escaping_would_change_it(cortex, smtp):
    secret = "Pa<ss&Word-4-Login"
    smtp.faults.password = secret
    result = cortex(thehive4_case("Spam", title=f"Phishing report: your password {secret}"), smtp_password=secret)

    assert not result.success
    assert "The case's reported subject holds one of the responder's secrets" in result.error
    assert smtp.delivered == [] and leaked(json.dumps(result.output), secret, USER) == []


# 24 characters of the base64 login string, past what the user name alone gives: a reporter who guesses the next
# character of the password writes such a piece, and the mask would tell them the guess was right.
GUESSED = b64(f"\0{USER}\0{PASSWORD}")[8:32]


def test_a_piece_of_the_login_string_in_the_reported_subject_is_not_masked_so_the_mask_answers_no_guess(cortex, smtp):
    result = cortex(thehive4_case("Spam", title=f"Phishing report: {GUESSED}"))

    assert result.success, result.error
    text = smtp.delivered[0].message.get_body(("plain",)).get_content()
    assert GUESSED in "".join(text.split()) and redaction.MASK not in text


def test_a_reporter_whose_address_holds_a_piece_of_the_login_string_is_answered_like_any_other(cortex, smtp):
    reporter = f"{GUESSED}@example.org"
    result = cortex(thehive4_case("Spam", [reporter]))

    assert result.success, result.error
    assert smtp.recipients() == [reporter]


def test_an_accepted_reporter_holding_a_piece_of_the_login_string_stays_whole_where_the_piece_is_masked(cortex, smtp):
    """The reporter accepted is the record, spared; the same piece in a refused value is outside text, blotted out."""
    accepted, refused = f"{GUESSED}@example.org", f"{GUESSED}@partner.example"
    result = cortex(thehive4_case("Spam", [accepted, refused]), allowed_recipient_domains=["example.org"])

    assert result.success, result.error
    assert smtp.recipients() == [accepted]
    assert result.output["full"]["notified"][0]["address"] == accepted
    assert f"feedback_sent:{accepted}" in result.tags
    assert result.output["full"]["refused"][0]["value"] == f"{redaction.MASK}@partner.example"


@pytest.mark.parametrize("guess", [PASSWORD, b64(f"\0{USER}\0{PASSWORD}")], ids=["password", "login"])
def test_a_secret_among_the_words_of_the_reported_subject_stops_the_job_rather_than_single_it_out(cortex, smtp, guess):
    """A reporter may have written the reported e-mail: masked, the secret would tell them which of the guesses they
    wrote is the SMTP password (or the login it makes), one report for a whole list; refused, the SOC learns that
    the secret is out, and the reporter nothing a failure would not tell."""
    guesses = ["Summer2024!", "Welcome-SOC-1", guess, "Corr3ct-Horse-Battery-Stapl3"]
    result = cortex(thehive4_case("Spam", title="Phishing report: " + " ".join(guesses)))

    assert not result.success
    assert "The case's reported subject holds one of the responder's secrets (smtp_password)" in result.error
    assert "Change it where it was issued and in the responder's configuration" in result.error
    assert smtp.delivered == [] and result.operations == []
    assert PASSWORD not in json.dumps(result.output)


@pytest.mark.parametrize("before", [990, 995, 999])
def test_a_secret_the_cut_of_a_long_reported_subject_would_split_still_stops_the_job(cortex, smtp, before):
    """A message quotes the first thousand characters: the secret is looked for in the whole subject first, or the
    reporter would read the start of it."""
    result = cortex(thehive4_case("Spam", title="Phishing report: " + "x" * before + " " + PASSWORD))

    assert not result.success
    assert "The case's reported subject holds one of the responder's secrets (smtp_password)" in result.error
    assert smtp.delivered == []


def test_a_guidance_link_with_an_at_in_its_path_and_a_proxy_login_that_is_an_address_are_no_secrets(cortex, smtp):
    """Only a URL that may carry a login is read as typed, to the last '@' before its host."""
    guidance = "https://www.youtube.com/@AcmeSecurity"
    proxy = "http://alice@example.org:Pr0xy-Pass-77@127.0.0.1:9/"
    result = cortex(thehive4_case("Spam", ["alice@example.org"]), guidance_url=guidance, proxy_https=proxy)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    assert guidance in smtp.delivered[0].message.get_body(("plain",)).get_content()
    assert "Pr0xy-Pass-77" not in result.everything_printed()


def test_a_secret_shorter_than_any_kept_masks_none_of_its_escaped_forms():
    redaction.remember('"')

    assert redaction.scrub('He said &quot;click&quot; ("click")') == 'He said &quot;click&quot; ("click")'


def test_a_secret_shorter_than_any_kept_masks_none_of_its_forms_beyond_ascii():
    redaction.remember("한국")
    decomposed = unicodedata.normalize("NFD", "한국어 보고서")

    assert redaction.scrub(decomposed) == decomposed


def test_a_secret_in_an_alerts_reference_stops_the_job_as_the_reference_line_names_it(cortex, smtp):
    alert = thehive5_alert("Spam", ["alice@example.org"])
    alert["sourceRef"] = f"report-{PASSWORD}"
    result = cortex(alert, data_type="thehive:alert")

    assert not result.success
    assert "The case's number holds one of the responder's secrets" in result.error
    assert smtp.delivered == [] and PASSWORD not in json.dumps(result.output)


def test_a_secret_in_a_value_no_message_shows_is_no_reason_to_stop(cortex, smtp):
    """The shipped messages never name the reported sender: a reporter reads nothing of it, so it tells them
    nothing; only a template that names it makes the job stop."""
    sender = {"dataType": "mail", "data": f"{PASSWORD}@evil.example", "tags": ["from"], "message": "the sender"}
    alert = thehive_alert("Spam", ["alice@example.org"], artifacts=[sender])
    shipped = cortex(alert, data_type="thehive:alert")
    naming = cortex(
        another_case(alert), data_type="thehive:alert", template_spam="From {reported_sender}.\n\n{signature}"
    )

    assert shipped.success, shipped.error
    assert smtp.recipients() == ["alice@example.org"]
    assert not naming.success
    assert "The case's reported sender holds one of the responder's secrets" in naming.error


def test_a_token_equal_to_a_word_of_an_already_notified_address_leaves_it_whole_in_the_report(cortex, smtp, issuing):
    case = thehive4_case("Spam", ["alice@example.org", "bob@example.org"], tags=["feedback_sent:alice@example.org"])
    result = cortex(case, **issuing("example"))

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert result.output["full"]["already_notified"] == ["alice@example.org"]


def test_a_secret_pasted_into_the_signature_is_blotted_out_of_both_parts(cortex, smtp):
    """Values are scrubbed one by one; a secret in the admin's own wording (a password pasted into the signature) must
    not go to every reporter either."""
    result = cortex(thehive4_case("Spam"), signature=f"The SOC (smtp: {PASSWORD})")

    assert result.success, result.error
    message = smtp.delivered[0].message
    for kind in ("plain", "html"):
        assert PASSWORD not in message.get_body((kind,)).get_content(), kind


@pytest.mark.parametrize("password", ["Pw-9", "Pw-9x"])
@pytest.mark.parametrize("prefix", ["", "x", "xy"])
def test_a_short_password_inside_a_longer_base64_string_cannot_be_decoded(cortex, smtp, prefix, password):
    """Four bytes give four or five base64 characters that depend on the password alone, by alignment; five, six."""
    smtp.faults.password = password
    quoted = b64(f"{prefix}{password} (from 127.0.0.1)")
    smtp.faults.refuse["bob@example.org"] = f"550 5.7.1 Session {quoted} is not allowed to mail bob"
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), smtp_password=password)

    assert result.success, result.error
    assert "is not allowed to mail bob" in result.output["full"]["failed"][0]["reason"]
    assert leaks(result, smtp, password) == []


def test_a_secret_of_exactly_one_kilobyte_echoed_in_upper_case_is_scrubbed():
    """Secrets up to 1 kB may travel in a URL, and so come back in its case and URL forms: 1024 bytes included."""
    secret = ("Key-" + "abcdefghij" * 102)[:1024]
    redaction.remember(secret)

    assert redaction.scrub(f"400 BAD KEY {secret.upper()}") == "400 BAD KEY ********"


def test_a_percent_encoded_proxy_password_quoted_decoded_and_alone_is_scrubbed_wherever_it_stands():
    """Shorter than the pieces sure to be found: the decoded password is a form of its own, found whole anywhere."""
    redaction.remember_secrets({"proxy_https": "http://proxyuser:Pr0xy%40S3cret%3APass@proxy.example:3128"})

    for before in range(24):
        text = f"{'#' * before} 407 wrong password Pr0xy@S3cret:Pass"
        assert redaction.scrub(text) == f"{'#' * before} 407 wrong password ********", before


def test_a_password_with_spaces_in_the_reported_subject_stops_the_job_naming_the_item_to_change(cortex, smtp):
    """The subject shows the password with its white space as written; the item is found all the same."""
    smtp.faults.password = SPACED_OUT
    result = cortex(thehive4_case("Spam", title=f"Phishing report: {SPACED_OUT}"), smtp_password=SPACED_OUT)

    assert not result.success
    assert "The case's reported subject holds one of the responder's secrets (smtp_password)" in result.error
    assert smtp.delivered == [] and SPACED_OUT not in json.dumps(result.output)


def test_a_secret_over_one_kilobyte_with_letters_beyond_ascii_echoed_decomposed_is_scrubbed():
    """Only the case, URL and escaped forms are kept to secrets up to 1 kB: a longer one still comes back composed
    or decomposed otherwise."""
    secret = ("Pässwörter-Schlüssel-" * 60)[:1100]
    redaction.remember_secrets({"api_secret": secret})
    decomposed = unicodedata.normalize("NFD", secret)

    assert unicodedata.normalize("NFC", redaction.scrub(f"echo: {decomposed}")) == "echo: ********"


def test_a_secret_shorter_than_four_characters_blots_out_no_url_encoded_text():
    """A secret that short is not looked for: its URL form would blot out the letters of a link a message shows."""
    redaction.remember_secrets({"smtp_password": "ü"})
    link = "Read https://example.org/M%C3%BCnchen/Gr%C3%BC%C3%9Fe before you click."

    assert redaction.scrub(link) == link


def test_a_secret_shorter_than_four_characters_blots_out_no_base64_text():
    """Its base64 (four characters for three letters) stands in ordinary base64 by chance, an image's or an ID's."""
    redaction.remember_secrets({"thehive_apikey": "key"})
    text = "logo data:image/png;base64,iVBORw0KGgoa2V5AAAA"

    assert redaction.scrub(text) == text


def test_a_proxy_password_beyond_ascii_inside_the_basic_login_the_http_client_sends_is_scrubbed():
    """requests writes a proxy's Basic login in Latin-1: a proxy page quoting that header quotes the base64 of a text
    holding the password, in the bytes the job itself sent."""
    from requests.auth import _basic_auth_str

    redaction.remember_secrets({"proxy_https": "http://proxyuser:Pässwort-9@proxy.example:3128"})
    header = _basic_auth_str("proxyuser", "Pässwort-9")  # Basic cHJveHl1c2VyOlDkc3N3b3J0LTk=

    assert redaction.scrub(f"407 refused {header}") == "407 refused Basic ********"
