"""Jobs against real mail software nobody on the project wrote: Postfix 3.7 with Dovecot 2.3 SASL.

Postfix takes submission on spare ports of 127.0.0.1 (one port per set-up: STARTTLS, LOGIN only,
implicit TLS, a size limit, a rate limit), logs in through Dovecot (a passwd-file for passwords, the
`oauth2` passdb asking an introspection endpoint about tokens), and delivers into Maildir boxes that
the tests read back: who got a message is what the boxes hold. Debian's packages, as root
(docs/real-mail-servers.md); CI installs them (.ci/run) and must run these tests (CI=true).
Run with -s to see each job's time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import pytest

from testkit.cases import thehive4_case
from testkit.cortex import ONCE_JOB_PYTHONS, OTHER_JOB_PYTHONS
from testkit.dovecot import Dovecot
from testkit.introspection import Introspection
from testkit.postfix import Postfix, missing
from testkit.records import told, untimed
from testkit.smtp_faults import PASSWORD, USER
from testkit.token_endpoint import LONG_TOKEN, MAILBOX, TOKEN, issue_token, oauth_items

# The Pythons the jobs run with: the tests' own, and each other one.
JOB_PYTHONS = 1 + len(OTHER_JOB_PYTHONS) + len(ONCE_JOB_PYTHONS)
# One submission port per set-up: the -o overrides that make it (docs/real-mail-servers.md).
SERVICES = {
    "starttls": {},
    "login only": {"smtpd_sasl_mechanism_filter": "login"},
    "implicit tls": {"smtpd_tls_wrappermode": "yes"},
    "small messages": {"message_size_limit": "2000"},
    # anvil counts a client's messages per service for a minute: the rate limit's test, run once for each Python the
    # jobs run with, has a copy of the service of its own each time, as a new minute would give it.
    **{f"two a minute #{n}": {"smtpd_client_message_rate_limit": "2"} for n in range(JOB_PYTHONS)},
    # For logins that fail: a Dovecot started for each test (own_dovecot), since Dovecot delays the logins
    # of a client IP after failed ones (its auth penalty, up to 15 s): later tests' logins would wait.
    # One session per smtpd process: a process kept from an earlier test would still talk to its Dovecot.
    "own dovecot": {"smtpd_sasl_path": "private/auth-own", "max_use": "1"},
}
REPORTERS = ["alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org", "erin@example.org"]
REFUSED_REPLY = "5.7.1 Recipient refused by the mail policy"


class MailServers:
    """The session's Postfix and introspection endpoint, seen from one test: its Maildirs, its part of the log."""

    def __init__(self, postfix: Postfix, introspection: Introspection) -> None:
        self.postfix, self.introspection = postfix, introspection
        self.log_start = 0
        self.used: set[str] = set()

    def port(self, service: str) -> int:
        return self.postfix.ports[service]

    def unused_port(self, service: str) -> int:
        """A copy of the service that no test of the session used: none of its limits has counted anything yet."""
        copies = [name for name in self.postfix.ports if name.startswith(f"{service} #") and name not in self.used]
        assert copies, f"every copy of {service!r} in SERVICES has been used in this session"
        self.used.add(copies[0])
        return self.port(copies[0])

    def begin_test(self) -> None:
        """Whatever an earlier test left in the queue delivered, then every box emptied and the log marked."""
        self.postfix.settle()
        self.postfix.empty_mailboxes()
        self.introspection.asked.clear()
        self.introspection.slow = 0
        self.log_start = len(self.postfix.log_lines())

    def log(self, text: str) -> list[str]:
        """The lines of Postfix's log since the test began that hold `text`."""
        return [line for line in self.postfix.log_lines()[self.log_start :] if text in line]

    def received(self, addresses=REPORTERS) -> dict[str, int]:
        """How many messages each address's Maildir box holds, for those that hold any."""
        counts = {address: len(self.postfix.mailbox(address)) for address in addresses}
        return {address: count for address, count in counts.items() if count}


@pytest.fixture(scope="session")
def mail_servers(certificates):
    """Postfix and Dovecot on loopback for the whole session (about 2 s to start); CI must have them."""
    reason = missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the real mail server tests: {reason}")
        pytest.skip(reason)
    postfix = Postfix(
        certificates,
        SERVICES,
        mailboxes=[*REPORTERS, MAILBOX],
        refused={"carol@example.org": REFUSED_REPLY},
        senders={MAILBOX: f"{USER},{MAILBOX}"},
    )
    with Introspection(certificates) as introspection:
        introspection.tokens.update({TOKEN: MAILBOX, LONG_TOKEN: MAILBOX})
        dovecot = Dovecot(postfix.queue / "private" / "auth", {USER: PASSWORD}, introspection.url, certificates.ca_pem)
        started = time.monotonic()
        try:
            postfix.start()
            dovecot.start()
            print(f"\nPostfix and Dovecot started in {time.monotonic() - started:.1f} s")
            yield MailServers(postfix, introspection)
        finally:
            dovecot.stop()
            postfix.stop()


@pytest.fixture
def servers(mail_servers):
    """The session's servers with empty Maildir boxes, their logs read from this test's start."""
    mail_servers.begin_test()
    return mail_servers


@pytest.fixture
def settings(servers, certificates) -> dict:
    """Configuration items for Postfix's STARTTLS submission port, logging in with a password."""
    return {
        "from": f"SOC <{MAILBOX}>",
        "smtp_host": "127.0.0.1",
        "smtp_port": servers.port("starttls"),
        "smtp_user": USER,
        "smtp_password": PASSWORD,
        "smtp_timeout": 20,
        "smtp_retries": 1,
        "cacerts": certificates.ca_pem,
    }


@pytest.fixture
def job(cortex, servers, request):
    """Runs a job as Cortex does, waits until Postfix delivered what it accepted, and prints the job's time."""

    def run(reporters, verdict="Phishing", **items):
        started = time.monotonic()
        result = cortex(thehive4_case(verdict, reporters), **items)
        print(f"\n{request.node.name}: the job took {time.monotonic() - started:.2f} s")
        servers.postfix.settle()
        return result

    return run


@pytest.fixture
def own_dovecot(servers, certificates):
    """A Dovecot of this test's own behind the `own dovecot` port, with no failed login counted yet."""
    dovecot = Dovecot(
        servers.postfix.queue / "private" / "auth-own",
        {USER: PASSWORD},
        servers.introspection.url,
        certificates.ca_pem,
    )
    dovecot.start()
    yield dovecot
    dovecot.stop()


def job_tags(sent: Sequence[str], failed: Sequence[str] = (), verdict: str = "Phishing") -> list[str]:
    """The tags a job records for these reporters, in the responder's order, untimed (testkit/records.py)."""
    return [
        *told(verdict, *sent),
        *(f"feedback_failed:{address}" for address in failed),
        *(["mail sent"] if sent else []),
        *(["mail failed"] if failed else []),
    ]


def test_starttls_submission_with_sasl_plain_delivers_each_reporter_one_message(job, servers):
    result = job(["alice@example.org", "bob@example.org"])

    assert result.success, result.error
    assert servers.received() == {"alice@example.org": 1, "bob@example.org": 1}
    message = servers.postfix.mailbox("alice@example.org")[0]
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == "Phishing report feedback"
    assert "it was a real phishing attempt" in message.get_body(("plain",)).get_content()
    assert untimed(result) == job_tags(["alice@example.org", "bob@example.org"])
    assert len(servers.log(f"sasl_method=PLAIN, sasl_username={USER}")) == 2  # one line per message accepted


def test_server_that_offers_only_login_gets_the_password_over_login(job, servers):
    result = job(["alice@example.org"], smtp_port=servers.port("login only"))

    assert result.success, result.error
    assert servers.received() == {"alice@example.org": 1}
    assert untimed(result) == job_tags(["alice@example.org"])
    assert len(servers.log(f"sasl_method=LOGIN, sasl_username={USER}")) == 1


def test_implicit_tls_port_with_smtp_security_tls_delivers(job, servers):
    result = job(["alice@example.org"], smtp_port=servers.port("implicit tls"), smtp_security="tls")

    assert result.success, result.error
    assert servers.received() == {"alice@example.org": 1}
    assert untimed(result) == job_tags(["alice@example.org"])


def test_xoauth2_token_from_entra_is_accepted_by_dovecots_oauth2_passdb(job, servers, entra):
    result = job(["alice@example.org", "bob@example.org"], **oauth_items(entra))

    assert result.success, result.error
    assert servers.received() == {"alice@example.org": 1, "bob@example.org": 1}
    assert untimed(result) == job_tags(["alice@example.org", "bob@example.org"])
    assert servers.introspection.asked == [TOKEN]
    assert len(servers.log(f"sasl_method=XOAUTH2, sasl_username={MAILBOX}")) == 2


@pytest.mark.slow
def test_login_that_fails_for_a_moment_at_the_identity_provider_is_retried_and_delivers(
    job, servers, entra, own_dovecot
):
    # Postfix waits 10 s for Dovecot, then answers 454 4.7.0 Temporary authentication failure.
    servers.introspection.slow, servers.introspection.delay = 1, 11

    result = job(["alice@example.org"], smtp_port=servers.port("own dovecot"), **oauth_items(entra))

    assert result.success, result.error
    assert servers.received() == {"alice@example.org": 1}
    assert servers.introspection.asked == [TOKEN, TOKEN]


def test_xoauth2_token_of_2000_characters_logs_in(job, servers, entra, own_dovecot):
    issue_token(entra, LONG_TOKEN)

    result = job(["alice@example.org"], smtp_port=servers.port("own dovecot"), **oauth_items(entra))

    assert result.success, result.error
    assert servers.received() == {"alice@example.org": 1}
    assert servers.introspection.asked == [LONG_TOKEN]


def test_recipient_refused_by_policy_fails_alone_and_the_others_are_delivered_and_recorded(job, servers):
    result = job(["alice@example.org", "carol@example.org", "bob@example.org"])

    assert result.success, result.error
    assert servers.received() == {"alice@example.org": 1, "bob@example.org": 1}
    assert untimed(result) == job_tags(["alice@example.org", "bob@example.org"], failed=["carol@example.org"])
    assert (
        f"carol@example.org (the server refused carol@example.org: 554 5.7.1 <carol@example.org>: Recipient address"
        f" rejected: {REFUSED_REPLY.split(' ', 1)[1]})" in result.output["full"]["message"]
    )


def test_message_over_the_size_limit_reaches_nobody_and_the_error_quotes_the_limit(job, servers):
    result = job(["alice@example.org", "bob@example.org"], smtp_port=servers.port("small messages"))

    assert not result.success
    assert servers.received() == {}
    assert "552 5.3.4 Message size exceeds fixed limit" in result.error
    assert len(servers.log("552 5.3.4 Message size exceeds fixed limit")) >= 1


def test_message_over_the_size_limit_is_not_blamed_on_the_sender(job, servers):
    result = job(["alice@example.org"], smtp_port=servers.port("small messages"))

    assert not result.success
    assert "refused the sender" not in result.error
    assert "Check 'from'" not in result.error


def test_rate_limit_delivers_what_it_allows_and_leaves_the_rest_for_the_next_run(job, servers):
    reporters = ["alice@example.org", "bob@example.org", "dave@example.org", "erin@example.org"]

    result = job(reporters, smtp_port=servers.unused_port("two a minute"))

    assert result.success, result.error
    assert servers.received() == {"alice@example.org": 1, "bob@example.org": 1}
    assert untimed(result) == job_tags(
        ["alice@example.org", "bob@example.org"], failed=["dave@example.org", "erin@example.org"]
    )
    failed = result.output["full"]["failed"]
    assert [f["address"] for f in failed] == ["dave@example.org", "erin@example.org"]
    assert all("450 4.7.1 Error: too much mail from 127.0.0.1" in f["reason"] for f in failed), failed


def test_sender_the_login_does_not_own_reaches_nobody_and_tags_nothing(job, servers):
    result = job(["alice@example.org", "bob@example.org"], **{"from": "SOC <boss@example.org>"})

    assert not result.success
    assert result.operations == []
    assert servers.received() == {}
    assert f"553 5.7.1 <boss@example.org>: Sender address rejected: not owned by user {USER}" in result.error


def test_sender_the_login_does_not_own_is_reported_once_and_points_at_from(job, servers):
    result = job(["alice@example.org", "bob@example.org", "dave@example.org"], **{"from": "SOC <boss@example.org>"})

    assert not result.success
    assert "'from'" in result.error
    assert "alice@example.org" not in result.error
    assert len(servers.log("Sender address rejected: not owned by user")) == 1


def test_wrong_password_is_refused_with_a_sentence_naming_the_settings(job, servers, own_dovecot):
    result = job(["alice@example.org"], smtp_port=servers.port("own dovecot"), smtp_password="Wrong-Horse-Battery")

    assert not result.success
    assert servers.received() == {}
    assert f"refused the login of '{USER}': 535 5.7.8 Error: authentication failed" in result.error
    assert "Check smtp_user and smtp_password." in result.error
    assert "Wrong-Horse-Battery" not in result.everything_printed()


def test_wrong_password_counts_one_failed_login_against_the_account(job, servers, own_dovecot):
    result = job(["alice@example.org"], smtp_port=servers.port("own dovecot"), smtp_password="Wrong-Horse-Battery")

    assert not result.success
    assert len(servers.log("authentication failed")) == 1
    assert len([line for line in own_dovecot.log_lines() if "Password mismatch" in line]) == 1


def test_dry_run_finds_a_sender_the_login_does_not_own_and_points_at_from(job, servers):
    result = job(["alice@example.org", "bob@example.org"], dry_run=True, **{"from": "SOC <boss@example.org>"})

    assert not result.success
    assert f"553 5.7.1 <boss@example.org>: Sender address rejected: not owned by user {USER}" in result.error
    assert "set 'from' to an address smtp_user owns" in result.error
    assert servers.received() == {}
    assert len(servers.log("Sender address rejected: not owned by user")) == 1


def test_dry_run_reports_a_recipient_refused_by_policy_and_delivers_nothing(job, servers):
    result = job(["alice@example.org", "carol@example.org", "bob@example.org"], dry_run=True)

    assert result.success, result.error
    checked = {c["address"]: (c["status"], c["reason"]) for c in result.output["full"]["checked"]}
    assert checked == {
        "alice@example.org": ("accepted", ""),
        "carol@example.org": (
            "refused",
            "the server refused carol@example.org: 554 5.7.1 <carol@example.org>: Recipient address rejected:"
            f" {REFUSED_REPLY.split(' ', 1)[1]}",
        ),
        "bob@example.org": ("accepted", ""),
    }
    assert "would accept 2 of the 3 reporter(s)" in result.output["full"]["message"]
    assert servers.received() == {}
    assert servers.log("status=sent") == []
