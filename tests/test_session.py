"""The SMTP session keeps to the job's time budget, and logs in with any password the admin typed.

The budget tests call the session directly, in-process, against a real listener on loopback:
Cortex's smallest jobTimeout (one minute) would make an end-to-end test wait most of a minute.
"""

from __future__ import annotations

import signal
import socket
import time

import pytest

from feedback.alarm import Clock, timeout_within
from feedback.settings import read_settings
from feedback.smtp.transport import SmtpTransport
from feedback.way_out import Permanent
from testkit.cases import thehive4_case
from testkit.cortex import cortex_config
from testkit.raw_tcp import RawTcpServer
from testkit.smtp_faults import USER
from testkit.smtp_server import LoopbackSmtp
from testkit.trickler import Trickler

NON_ASCII_PASSWORD = "Grüße-Пароль-密码 ok"


@pytest.mark.parametrize(
    "greeting, in_tls",
    [(b"", False), (b"220 slow.example.org ESMTP\r\n", False), (b"250", True)],
    ids=["trickled-greeting", "trickled-ehlo-reply", "trickled-once-in-tls"],
)
def test_a_server_that_trickles_bytes_is_cut_at_the_deadline(greeting, in_tls, certificates):
    server = Trickler(greeting, pace=0.5, lasting=15, starttls=certificates.server_context() if in_tls else None)
    config = cortex_config({"from": "soc@example.org", "smtp_host": "127.0.0.1", "smtp_port": server.port})
    settings = read_settings({**config, "smtp_timeout": 1, "smtp_user": None, "cacerts": certificates.ca_pem}, {})
    started = time.monotonic()
    try:
        with pytest.raises(Permanent) as cut:
            SmtpTransport(settings.way_out, settings.message.sender_address, started + 2).check([], settings.limits)
    finally:
        server.close()

    assert time.monotonic() - started < 5
    assert "the job's time budget ran out while waiting for the SMTP server" in str(cut.value)
    assert "did not answer within" not in str(cut.value)


def test_a_non_ascii_password_logs_in_as_utf8(cortex, smtp):
    smtp.faults.password = NON_ASCII_PASSWORD
    result = cortex(thehive4_case(), smtp_password=NON_ASCII_PASSWORD)

    assert result.success, result.error
    assert smtp.logins == [(USER, True)]
    assert smtp.recipients() == ["alice@example.org"]


def test_a_wrong_non_ascii_password_is_a_refused_login(cortex, smtp):
    result = cortex(thehive4_case(), smtp_password=NON_ASCII_PASSWORD)

    assert not result.success
    assert f"refused the login of '{USER}': 535" in result.error
    assert "Grüße" not in result.everything_printed()
    assert smtp.delivered == []


def test_a_token_request_inside_a_session_leaves_the_sessions_deadline_in_force():
    """A renewed OAuth2 token is asked for under its own clock while the session, under the job's, logs in."""
    started = time.monotonic()
    held, server = socket.socketpair()
    held.settimeout(5)
    with held, server, Clock(started + 1) as session:  # the session's
        session.watch(held)
        with Clock(started + 1):  # the token request's, answered at once
            pass
        cut = held.recv(1)  # a server that holds the session past the deadline

    assert cut == b""
    assert time.monotonic() - started < 3


def test_the_server_is_greeted_with_a_fully_qualified_name_or_an_address_literal(cortex, smtp):
    result = cortex(thehive4_case())

    assert result.success, result.error
    assert len(smtp.ehlo_names) == 2  # before and after STARTTLS
    for name in smtp.ehlo_names:
        assert name == "[127.0.0.1]" or ("." in name and not name.startswith("localhost")), name


def test_smtp_ehlo_name_is_the_name_given_in_ehlo(cortex, smtp):
    result = cortex(thehive4_case(), smtp_ehlo_name="soc-relay.example.org")

    assert result.success, result.error
    assert smtp.ehlo_names == ["soc-relay.example.org", "soc-relay.example.org"]


@pytest.mark.parametrize("name", ["soc relay", "relay\r\nRSET", "localhost-only"])
def test_an_ehlo_name_that_is_no_domain_nor_address_literal_names_the_setting(cortex, smtp, name):
    result = cortex(thehive4_case(), smtp_ehlo_name=name)

    assert not result.success
    assert "smtp_ehlo_name must be a fully qualified domain name" in result.error
    assert smtp.ehlo_names == []


def refused_ehlo(reply: str, *, in_tls: bool, times: int = 1):
    """An EHLO reply that refuses the first `times` EHLOs said before (or after) STARTTLS with `reply`."""
    left = [times]

    def ehlo(lines: list[str], tls: bool) -> list[str]:
        if tls == in_tls and left[0] > 0:
            left[0] -= 1
            return [reply]
        return lines

    return ehlo


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_an_ehlo_name_the_server_refuses_is_named_with_the_servers_reply(cortex, certificates, security):
    """Exchange refuses a name it cannot take with 501 5.5.4, which read as a server without STARTTLS or a login."""
    with LoopbackSmtp(certificates, tls="implicit" if security == "tls" else "starttls") as server:
        server.faults.ehlo = refused_ehlo("501 5.5.4 Invalid domain name", in_tls=False)  # the first EHLO
        result = cortex(thehive4_case(), smtp_port=server.port, smtp_security=security, smtp_ehlo_name="relay.example")

    assert not result.success
    assert "refused the EHLO name the responder gave: 501 5.5.4 Invalid domain name" in result.error
    assert "Set smtp_ehlo_name" in result.error and "STARTTLS" not in result.error and "login" not in result.error
    assert server.delivered == []


def test_a_server_that_knows_neither_ehlo_nor_helo_is_no_mail_server_to_the_job(cortex, certificates):
    with LoopbackSmtp(certificates, tls="none", auth=False) as relay:
        relay.faults.ehlo = lambda lines, tls: ["502 5.5.2 Error: command not recognized"]
        relay.faults.helo_reply = "502 5.5.2 Error: command not recognized"
        result = cortex(thehive4_case(), smtp_port=relay.port, smtp_security="none", smtp_user=None, smtp_password=None)

    assert not result.success
    assert "knows neither EHLO nor HELO (502 5.5.2 Error: command not recognized)" in result.error
    assert "smtp_ehlo_name" not in result.error and "Check smtp_host and smtp_port" in result.error


@pytest.mark.parametrize("reply", ["500 5.5.1 Command unrecognized", "502 5.5.2 Error: command not recognized"])
def test_a_relay_that_does_not_know_ehlo_is_greeted_with_helo(cortex, certificates, reply):
    with LoopbackSmtp(certificates, tls="none", auth=False) as relay:
        relay.faults.ehlo = lambda lines, tls: [reply]
        result = cortex(thehive4_case(), smtp_port=relay.port, smtp_security="none", smtp_user=None, smtp_password=None)

    assert result.success, result.error
    assert relay.recipients() == ["alice@example.org"]


@pytest.mark.parametrize("in_tls", [False, True], ids=["before-starttls", "after-starttls"])
def test_a_server_busy_at_ehlo_is_tried_again_and_the_next_session_delivers(cortex, smtp, in_tls):
    smtp.faults.ehlo = refused_ehlo("421 4.3.2 Service shutting down, try again later", in_tls=in_tls)
    result = cortex(thehive4_case(), smtp_retries=1)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]


def test_a_server_still_busy_at_ehlo_after_the_retries_is_quoted_not_said_to_lack_tls_or_a_login(cortex, smtp):
    smtp.faults.ehlo = refused_ehlo("421 4.3.2 Service shutting down, try again later", in_tls=True, times=9)
    result = cortex(thehive4_case(), smtp_retries=1)

    assert not result.success
    assert "421 4.3.2 Service shutting down" in result.error
    assert "offers no login" not in result.error and "clear smtp_user" not in result.error


def test_a_greeting_of_endless_continuation_lines_ends_the_job_with_an_error_naming_the_server(cortex):
    with RawTcpServer("flood") as flood:
        result = cortex(thehive4_case(), smtp_port=flood.port, smtp_timeout=5, jobTimeout=1)

    assert not result.success
    assert f"The SMTP server 127.0.0.1:{flood.port} sent a reply longer than 100 lines" in result.error
    assert flood.connections == 1


def test_a_reply_line_longer_than_any_server_sends_is_not_put_in_the_servers_mouth(cortex):
    """smtplib answers a line past 8 KiB with a "500 Line too long." of its own making."""
    with RawTcpServer("long-line") as server:
        result = cortex(thehive4_case(), smtp_port=server.port)

    assert not result.success
    assert f"The SMTP server 127.0.0.1:{server.port} sent a reply longer than" in result.error
    assert "a line longer than 8 KiB" in result.error and "Line too long" not in result.error


def test_a_wait_is_cut_to_what_is_left_of_the_budget_but_never_under_a_second():
    """The Clock shuts only the sockets it watches, and a socket is watched once connected: a connect to a host that
    drops packets must not wait the whole smtp_timeout past the budget, into Cortex's kill."""
    assert timeout_within(30, time.monotonic() + 5) <= 5
    assert timeout_within(30, time.monotonic() - 5) == 1.0


def test_a_clock_entered_after_its_deadline_still_rings():
    """A call begun at the deadline still has an alarm: a server that trickles a byte a second cannot hold it."""
    previous = signal.getitimer(signal.ITIMER_REAL)
    with Clock(time.monotonic() - 1) as clock:
        time.sleep(0.2)
        assert clock.rang
    assert signal.getitimer(signal.ITIMER_REAL) == previous == (0.0, 0.0)
