"""The responder's one HTTP client: no other module speaks HTTP itself, and each way a request to any HTTPS party
fails (an unverified certificate, a refused connection, a redirect, JSON nested too deep) is told in the same
sentence, its name aside."""

from __future__ import annotations

import ast
import contextlib
import json
import socket
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from feedback.alarm import Clock, timeout_within
from feedback.api_session import open_session
from feedback.google.gmail import GmailTransport
from feedback.google.settings import GmailSettings
from feedback.google.token import read_key
from feedback.google.token import request_token as google_token
from feedback.http_exchange import exchange
from feedback.http_failures import Redirected, TimedOut, Unreachable
from feedback.mailbox_settings import Service, Unavailable, asked
from feedback.microsoft.graph import GraphTransport
from feedback.microsoft.settings import GraphSettings, OAuthSettings
from feedback.microsoft.token import request_token as entra_token
from feedback.plain_http import PlainSession
from feedback.reach import Reach
from feedback.redaction import remember, scrub
from feedback.settings import WAYS_OUT
from feedback.thehive.observables_api import TheHiveError, TheHiveShare, fetch_observables
from feedback.thehive.settings import TheHiveSettings
from feedback.tokens import OAuthError, endpoint_shown
from feedback.trust import trust_context
from feedback.way_out import Permanent, Trouble
from testkit.certificates import Certificates
from testkit.google_oauth import MAILBOX as GMAIL_MAILBOX
from testkit.graph_api import entra_for
from testkit.https_server import HttpsServer, Reply
from testkit.ports import free_port
from testkit.proxy import ConnectProxy
from testkit.token_endpoint import CLIENT_ID, CLIENT_SECRET, TOKEN_PATH
from testkit.trickler import Trickler

PACKAGE = Path(__file__).resolve().parent.parent / "PhishFeedback"
# The client, and the pools it mounts, which it alone imports.
CLIENT = {PACKAGE / "feedback" / "api_session.py", PACKAGE / "feedback" / "connection_pools.py"}
HTTP_LIBRARIES = {"requests", "urllib3"}
MAILBOX = "soc@example.org"
ALICE = "alice@example.org"
# What the job says of any HTTPS party whose certificate no CA it trusts has signed.
SENTENCE = (
    "The certificate of {party} could not be verified (unable to get local issuer certificate). Put the CA that"
    " signed it (a TLS-inspecting proxy's, say) in Cortex's cacerts setting or the system's trust store; the"
    " responder never connects without verification."
)


def imported(path: Path) -> set[str]:
    """The top-level names of the packages a module imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_but_the_http_client_imports_an_http_library():
    speaking = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if ".venv" not in path.parts and path not in CLIENT and imported(path) & HTTP_LIBRARIES
    ]

    assert speaking == [], "HTTP goes through feedback/api_session.py"


@pytest.fixture
def impostor():
    """An HTTPS server on loopback whose certificate a CA the job does not know has signed."""
    server = HTTPServer(host="127.0.0.1", ssl_context=Certificates().server_context())
    server.start()
    yield server
    server.stop()


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = MAILBOX, ALICE, "Your report"
    mail.set_content("Thank you.")
    return mail


def oauth_settings(token_url: str, scope: str) -> OAuthSettings:
    return OAuthSettings(token_url, CLIENT_ID, CLIENT_SECRET, None, scope, Reach(None, {}, 5))


def entra_endpoint(root: str, ca: str, entra, google_oauth) -> tuple[str, str]:
    url = f"{root}{TOKEN_PATH}"
    with pytest.raises(OAuthError) as refused:
        entra_token(oauth_settings(url, "https://graph.microsoft.com/.default"), trust_context(ca), *deadlines(5))
    return f"the OAuth2 token endpoint {endpoint_shown(url)}", str(refused.value)


def graph(root: str, ca: str, entra, google_oauth) -> tuple[str, str]:
    entra_for(entra, f"{root}/.default")
    oauth = oauth_settings(entra.url_for(TOKEN_PATH), f"{root}/.default")
    transport = GraphTransport(GraphSettings(root, oauth, Reach(ca, {}, 5)), MAILBOX, time.monotonic() + 30)
    with pytest.raises((Permanent, Trouble)) as refused, transport.channel() as channel:
        channel.send(message(), ALICE)
    return f"Microsoft Graph at {root}", str(refused.value)


def google_endpoint(root: str, ca: str, entra, google_oauth) -> tuple[str, str]:
    url = f"{root}/token"
    account = read_key(json.dumps({**google_oauth.key(), "token_uri": url}))
    with pytest.raises(OAuthError) as refused:
        google_token(open_session(trust_context(ca), {}), account, MAILBOX, 5)
    return f"Google's token endpoint {endpoint_shown(url)}", str(refused.value)


def gmail_api(root: str, ca: str, entra, google_oauth) -> tuple[str, str]:
    account = read_key(json.dumps(google_oauth.key()))
    transport = GmailTransport(GmailSettings(account, root, Reach(ca, {}, 5)), MAILBOX, time.monotonic() + 30)
    with pytest.raises((Permanent, Trouble)) as refused, transport.channel() as channel:
        channel.send(message(), ALICE)
    return f"the Gmail API at {root}", str(refused.value)


def mailbox_settings(root: str, ca: str, entra, google_oauth) -> tuple[str, str]:
    where = f"Microsoft Graph at {root}"
    service = Service(where, "mailbox language", "locale", lambda answer: None, "")
    with pytest.raises(Unavailable) as refused:
        asked(open_session(trust_context(ca), {}), f"{root}/language", 5, {}, service, ALICE)
    return where, str(refused.value)


def thehive(root: str, ca: str, entra, google_oauth) -> tuple[str, str]:
    settings = TheHiveSettings(root, "0123456789abcdef0123", None, "v1", Reach(ca, {}, 5))
    with pytest.raises(TheHiveError) as refused:
        fetch_observables(TheHiveShare(settings, 30), "case", "~1")
    return f"TheHive at {root}", str(refused.value)


def deadlines(timeout: float) -> tuple[float, float]:
    deadline = time.monotonic() + 30
    return deadline, timeout_within(timeout, deadline)


# The mail services, by their `delivery` value, beside the other parties the responder and its commands reach.
WAYS_OUT_PARTIES = {"graph": graph, "gmail": gmail_api}
EVERY_PARTY = [entra_endpoint, google_endpoint, mailbox_settings, thehive, *WAYS_OUT_PARTIES.values()]
# The parties that read a body that is no JSON (or JSON too deep) beside a success as no answer of theirs, and
# say so in their own sentence: the mail APIs, whose 2xx says whether a message went.
JSON_READERS = [entra_endpoint, google_endpoint, mailbox_settings, thehive]


def named(party) -> str:
    return party.__name__


def test_every_way_out_but_smtp_is_among_the_parties():
    assert sorted(WAYS_OUT_PARTIES) == sorted(set(WAYS_OUT) - {"smtp"})


def capital(name: str) -> str:
    return name[:1].upper() + name[1:]


@pytest.mark.parametrize("party", EVERY_PARTY, ids=named)
def test_an_untrusted_certificate_is_told_in_one_sentence_whatever_the_party(
    party, impostor, certificates, entra, google_oauth
):
    name, error = party(impostor.url_for("/").rstrip("/"), certificates.ca_pem, entra, google_oauth)

    assert SENTENCE.format(party=name) in error
    assert impostor.log == []


@pytest.mark.parametrize(
    "chunks",
    [b"40\r\n{", b"zz\r\n{}\r\n0\r\n\r\n", b"1" + b";x" * 40_000],
    ids=["cut-in-a-chunk", "size-no-number", "size-line-past-64kB"],
)
def test_a_chunked_answer_that_breaks_off_is_told_in_one_sentence_by_urllib_too(
    chunks, answering, certificates, entra, google_oauth
):
    """An OAuth2 SMTP login's one token request goes through urllib, where http.client's IncompleteRead and
    LineTooLong are neither OSError nor ValueError: the job ended as a bug that said messages may have gone."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    name, error = entra_endpoint(answering(Reply(200, raw=head + chunks)), certificates.ca_pem, entra, google_oauth)

    assert error.startswith(f"{capital(name)} answered HTTP 200, then the answer was cut short"), error


def test_a_chunked_answer_whose_size_lines_carry_extensions_is_read_whole(answering, certificates):
    """HTTP lets a chunk's size line carry extensions after a semicolon, which a front end on the way may add: the
    size is what comes before them, and the answer is no less whole for them."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    root = answering(Reply(200, raw=head + b'7;name="value"\r\n{"a": 1\r\n1;last\r\n}\r\n0\r\n\r\n'))

    session = open_session(trust_context(certificates.ca_pem), {})
    status, _, value = exchange(session, "GET", root, 1024, 5, decoded=True)

    assert (status, value) == (200, {"a": 1})


@pytest.mark.parametrize("party", EVERY_PARTY, ids=named)
def test_a_refused_connection_is_told_in_one_sentence_whatever_the_party(party, certificates, entra, google_oauth):
    root = f"https://127.0.0.1:{free_port()}"
    name, error = party(root, certificates.ca_pem, entra, google_oauth)

    assert f"{capital(name)} could not be reached (the connection was refused)." in error


@pytest.fixture
def unknown_host(monkeypatch):
    """A host name the resolver knows no address for, as a typing error in a URL gives: asked of no DNS server."""
    resolve, host = socket.getaddrinfo, "thehive.example.invalid"

    def getaddrinfo(name, *rest, **named):
        if name == host:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(name, *rest, **named)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return host


@pytest.mark.parametrize("party", EVERY_PARTY, ids=named)
def test_a_host_name_without_an_address_is_told_in_one_sentence_whatever_the_party(
    party, unknown_host, certificates, entra, google_oauth
):
    name, error = party(f"https://{unknown_host}", certificates.ca_pem, entra, google_oauth)

    assert f"{capital(name)} could not be reached (its host name could not be resolved)." in error


@pytest.mark.parametrize("client", [open_session, PlainSession], ids=["requests", "urllib"])
def test_a_proxy_whose_host_name_has_no_address_is_named_as_the_proxy_not_as_the_party(client, unknown_host):
    """Either client: an OAuth2 SMTP login's one token request goes through urllib."""
    session = client(trust_context(None), {"https": f"http://{unknown_host}:3128"})
    with pytest.raises(Unreachable) as failure:
        exchange(session, "GET", "https://thehive.example.org/api/case", 1024, 5)

    assert failure.value.sentence("TheHive at https://thehive.example.org") == (
        "TheHive at https://thehive.example.org could not be reached (the proxy's host name could not be resolved)."
        " Check that Cortex can reach it, and Cortex's proxy settings."
    )


# What the job says of a proxy that answers the tunnel's request (CONNECT) with a status of its own.
TUNNEL_REFUSALS = {
    b"407 Proxy Authentication Required": (
        "the proxy answered HTTP 407: it wants a user and password, given in its URL, or refused those given"
    ),
    b"403 Forbidden": "the proxy answered HTTP 403: it refused to open a tunnel to it",
}


@pytest.mark.parametrize("refusal", TUNNEL_REFUSALS, ids=["login", "rule"])
@pytest.mark.parametrize("party", EVERY_PARTY, ids=named)
def test_a_proxy_that_refuses_the_tunnel_is_told_with_its_status_whatever_the_party(
    party, refusal, environment_proxy, certificates, entra, google_oauth
):
    port = free_port()
    environment_proxy.refusing[f"127.0.0.1:{port}"] = refusal
    name, error = party(f"https://127.0.0.1:{port}", certificates.ca_pem, entra, google_oauth)

    assert f"{capital(name)} could not be reached ({TUNNEL_REFUSALS[refusal]})." in error
    assert set(environment_proxy.refused) == {f"127.0.0.1:{port}"}


@pytest.mark.parametrize("party", EVERY_PARTY, ids=named)
def test_a_proxy_that_drops_the_tunnels_request_is_named_not_the_party(
    party, environment_proxy, certificates, entra, google_oauth
):
    """Through a proxy, the connection that broke is the proxy's, whichever client made it."""
    port = free_port()
    environment_proxy.refusing[f"127.0.0.1:{port}"] = b""
    name, error = party(f"https://127.0.0.1:{port}", certificates.ca_pem, entra, google_oauth)

    assert f"{capital(name)} could not be reached (the proxy refused or dropped the connection)." in error


@pytest.fixture
def answering(certificates):
    """Serves over HTTPS on loopback, with a certificate the job trusts, the reply a test gives to every request."""
    with contextlib.ExitStack() as servers:
        yield lambda reply: servers.enter_context(HttpsServer(certificates.server_context(), lambda _: reply)).url


def test_a_request_leaves_the_jobs_trust_as_it_was_without_certifis_cas():
    """The job trusts the system's CAs and cacerts only; requests would add certifi's bundle to the shared context. A CA
    of this test's own: the context made for the session's CA is shared with every test before it on this worker."""
    ca = Certificates()
    context = trust_context(ca.ca_pem)
    trusted = context.get_ca_certs()
    with HttpsServer(ca.server_context(), lambda _: Reply.json(200, {})) as server:
        status, _, _ = exchange(open_session(context, {}), "GET", server.url, 1024, 5)

    assert status == 200
    assert context.get_ca_certs() == trusted


# Where a redirect leads, as the sentence names it: its scheme and host, or nothing where no URL parser reads it.
LOCATIONS = {
    "http://127.0.0.1:9/elsewhere?key=x": " to http://127.0.0.1",
    "http://[::1/elsewhere": "",
    "https://[::1]:8443/x": " to https://[::1]",
    "http://[::1]x]:80/": "",
    # Words where a host goes: whoever answers at the party's address would write them into the job's own sentence.
    "https://TheHive moved to thehive-new.evil.example (set thehive_url to it, the API key stays valid) and": "",
    "https://[not an address]/x": "",
    # An IPv6 zone, which Python's address parser takes, holds any text: a terminal's escape too.
    "https://[fe80::1%thehive moved to thehive2.evil.example, set thehive_url to it \x1b[8m]/": "",
    # Shown as written: IDNA would take the soft hyphen away, and the analyst would read a host that is not.
    "https://ex\u00adample.com/x": "",
}


@pytest.mark.parametrize(
    "location",
    LOCATIONS,
    ids=["named", "unreadable", "ipv6", "after-the-bracket", "words", "bracketed-words", "zone", "soft-hyphen"],
)
@pytest.mark.parametrize("party", EVERY_PARTY, ids=named)
def test_a_redirect_is_told_in_one_sentence_whatever_the_party(
    party, location, answering, certificates, entra, google_oauth
):
    root = answering(Reply(307, headers={"Location": location}))
    name, error = party(root, certificates.ca_pem, entra, google_oauth)

    towards = LOCATIONS[location]
    assert f"{capital(name)} answered with a redirect (HTTP 307){towards}, which is never followed." in error


@pytest.mark.parametrize("party", EVERY_PARTY, ids=named)
def test_a_redirect_whose_page_breaks_off_is_told_as_a_redirect_whatever_the_party(
    party, answering, certificates, entra, google_oauth
):
    """A redirect is closed unread, by urllib (an OAuth2 login's one token request) as by requests: its page, cut short,
    would be told as a network failure, and tried again at a token's renewal, where a redirect ends the campaign."""
    root = answering(Reply(307, b"<p>Moved</p>" * 100, {"Location": "https://elsewhere.example/x"}, cut=10))
    name, error = party(root, certificates.ca_pem, entra, google_oauth)

    expected = (
        f"{capital(name)} answered with a redirect (HTTP 307) to https://elsewhere.example, which is never followed."
    )
    assert expected in error


def test_a_300_whose_page_breaks_off_is_told_as_the_redirect_it_is(answering, certificates, entra, google_oauth):
    """300 (Multiple Choices) is a redirect as much as a 307, closed unread: a page that broke off would be told in its
    place, and send the analyst after the network."""
    location = {"Location": "https://elsewhere.example/x"}
    root = answering(Reply(300, b"<p>Choose one</p>" * 100, location, cut=10))
    name, error = thehive(root, certificates.ca_pem, entra, google_oauth)

    towards = " to https://elsewhere.example"
    assert f"{capital(name)} answered with a redirect (HTTP 300){towards}, which is never followed." in error


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_whose_location_no_parser_reads_is_told_in_one_sentence_by_urllib_too(
    status, answering, certificates, entra, google_oauth
):
    """An OAuth2 SMTP login's one token request goes through urllib, which parses the Location of every redirect it
    has a handler for before it asks whether to follow it, a 308 too since Python 3.11: its ValueError would end the
    job as a bug."""
    root = answering(Reply(status, headers={"Location": "http://[::1/elsewhere"}))
    name, error = entra_endpoint(root, certificates.ca_pem, entra, google_oauth)

    assert f"{capital(name)} answered with a redirect (HTTP {status}), which is never followed." in error


def test_a_redirect_towards_a_host_that_holds_a_secret_names_it_as_written_for_the_scrubber_to_find():
    """A server that echoes the client secret into its Location's host: in lower case, no form the scrubber knows."""
    secret = "Abc8Q-xYz-0123456789-AbCdEfGhIjKlMnOpQrStU"
    remember(secret)

    said = scrub(Redirected(302, {"Location": f"https://user@{secret}.evil.example:8443/x"}).told())

    assert said.endswith(" to https://********.evil.example, which is never followed")


def test_a_redirect_towards_a_host_longer_than_any_host_name_names_no_host():
    """No host name runs past 253 characters, and a Location may run to 64 kB: all of it would fill the sentence the
    analyst reads in Cortex."""
    longer = ".".join(["a" * 63] * 4)

    said = Redirected(302, {"Location": f"https://{longer}/x"}).told()

    assert len(longer) == 255
    assert said == "answered with a redirect (HTTP 302), which is never followed"


@pytest.mark.parametrize("party", EVERY_PARTY, ids=named)
def test_an_answer_cut_short_is_told_in_one_sentence_whatever_the_party(
    party, answering, certificates, entra, google_oauth
):
    root = answering(Reply(400, b'{"error": "invalid_request"}' * 100, {"Content-Type": "application/json"}, cut=10))
    name, error = party(root, certificates.ca_pem, entra, google_oauth)

    assert f"{capital(name)} answered HTTP 400, then the answer was cut short (" in error


@pytest.mark.parametrize("party", JSON_READERS, ids=named)
def test_an_answer_nested_too_deep_is_told_in_one_sentence_whatever_the_party(
    party, answering, certificates, entra, google_oauth
):
    root = answering(Reply(200, b"[" * 40 + b"]" * 40, {"Content-Type": "application/json"}))
    name, error = party(root, certificates.ca_pem, entra, google_oauth)

    assert f"{capital(name)} answered JSON nested deeper than 32 levels (HTTP 200)." in error


@pytest.fixture
def environment_proxy(monkeypatch):
    """A loopback proxy named by the environment, as Cortex or the host may set it, and no NO_PROXY."""
    proxy = ConnectProxy()
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    yield proxy
    proxy.close()


def gmail_through(proxies: dict[str, str], google_oauth, gmail_api, certificates) -> None:
    account = read_key(json.dumps(google_oauth.key()))
    gmail_settings = GmailSettings(account, gmail_api.url, Reach(certificates.ca_pem, proxies, 5))
    transport = GmailTransport(gmail_settings, GMAIL_MAILBOX, time.monotonic() + 30)
    with transport.channel() as channel:
        channel.send(message(), ALICE)


def test_without_cortex_proxy_settings_the_environment_proxy_carries_every_request(
    environment_proxy, google_oauth, gmail_api, certificates, entra
):
    gmail_through({}, google_oauth, gmail_api, certificates)
    entra_token(
        oauth_settings(entra.url_for(TOKEN_PATH), "https://outlook.office365.com/.default"),
        trust_context(certificates.ca_pem),
        *deadlines(5),
    )

    assert environment_proxy.tunnels == [
        f"127.0.0.1:{google_oauth.server.port}",
        f"127.0.0.1:{gmail_api.server.port}",
        f"127.0.0.1:{entra.port}",
    ]


def test_an_https_proxy_the_environment_names_carries_a_logins_token_request_over_tls(monkeypatch, certificates, entra):
    """An OAuth2 SMTP login asks for its token with urllib, which cannot speak TLS to a proxy: an https:// proxy named
    by the environment, as one of Cortex's, takes the HTTP client's other way, its CONNECT and login encrypted."""
    proxy = ConnectProxy(certificates.server_context())
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("://", "://proxyuser:Pr0xy-Pass@"))
    try:
        token = entra_token(
            oauth_settings(entra.url_for(TOKEN_PATH), "https://outlook.office365.com/.default"),
            trust_context(certificates.ca_pem),
            *deadlines(5),
        )
    finally:
        proxy.close()

    assert token.value
    assert proxy.refused == [] and proxy.tunnels == [f"127.0.0.1:{entra.port}"]


def test_cortex_proxy_settings_come_before_the_environment_proxy(
    environment_proxy, google_oauth, gmail_api, certificates
):
    cortex_proxy = ConnectProxy()
    try:
        gmail_through({"https": cortex_proxy.url}, google_oauth, gmail_api, certificates)
    finally:
        cortex_proxy.close()

    assert len(cortex_proxy.tunnels) == 2 and environment_proxy.tunnels == []


def test_a_request_the_clock_cuts_before_its_body_went_whole_is_not_said_to_have_gone():
    """urllib3 goes on to await the answer after a broken pipe while the body went: the clock's cut of that wait is a
    timeout, which says the request may have done its work, only for a request that went whole."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # takes the connection, never reads: the body cannot go whole
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/send"
        with Clock(time.monotonic() + 1) as clock, pytest.raises(OSError) as failure:
            exchange(open_session(trust_context(None), {}, clock=clock), "POST", url, 1000, 10, data=b"x" * (64 << 20))

    assert not (isinstance(failure.value, TimedOut) and failure.value.sent), failure.value


def test_a_proxy_that_trickles_its_answer_to_connect_is_cut_at_thehives_share_of_the_time(certificates):
    """A timeout bounds each read only, and a proxy may answer CONNECT a byte at a time, in a header line with no end:
    that answer comes over the plain socket, before any TLS socket exists, which the clock must shut as well, or the
    job runs on until Cortex kills it without a report."""
    proxy = Trickler(b"HTTP/1.1 200 Connection established\r\nVia: ", pace=0.5, lasting=15)
    url = "https://thehive.example.org"
    reach = Reach(certificates.ca_pem, {"https": f"http://127.0.0.1:{proxy.port}"}, 5)
    settings = TheHiveSettings(url, "0123456789abcdef0123", None, "v1", reach)
    started = time.monotonic()
    try:
        with pytest.raises(TheHiveError) as cut:
            fetch_observables(TheHiveShare(settings, 2), "case", "~1")
    finally:
        proxy.close()

    assert time.monotonic() - started < 5
    assert f"TheHive at {url} gave no complete answer within 2 s, the share of the job's time" in str(cut.value)
