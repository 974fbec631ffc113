"""`./dev mailserver`: the settings it prints are enough for a job to send through it, and it shows the message."""

from __future__ import annotations

import re
import smtplib
import ssl

import pytest

from testkit.cases import thehive4_case
from testkit.cortex import cortex_config, run_job
from testkit.mailserver import MailserverProcess


def printed_settings(printed: str) -> dict:
    """The items as an admin copies them from the server's terminal into Cortex."""
    items = dict(re.findall(r"^  (smtp_\w+) +(\S+)$", printed, re.MULTILINE))
    items["smtp_port"] = int(items["smtp_port"])
    return items


def test_a_job_with_the_printed_settings_and_ca_is_delivered_and_shown(mailserver, tmp_path):
    printed = mailserver.printed
    ca_path = re.search(r"^cacerts: the CA below, also in (\S+)$", printed, re.MULTILINE).group(1)
    ca = open(ca_path, encoding="ascii").read()
    assert ca in printed
    config = cortex_config({"from": "SOC <soc@example.org>", **printed_settings(printed)}, cacerts=ca)

    result = run_job(tmp_path, thehive4_case("Phishing", ["alice@example.org"]), config)

    assert result.success, result.everything_printed()
    shown = mailserver.wait_for("== and its HTML alternative")
    assert "== Delivered to alice@example.org (login phishfeedback)" in shown
    assert "Subject: Phishing report feedback" in shown and "it was a real phishing attempt" in shown


def test_ctrl_c_stops_it_cleanly(mailserver):
    assert mailserver.stop() == 0
    assert "Traceback" not in mailserver.wait_for("stopped.")


@pytest.mark.slow
def test_a_port_in_use_is_said_in_one_line(mailserver, tmp_path):
    second = MailserverProcess(tmp_path / "second", port=mailserver.port)

    assert "cannot listen on 127.0.0.1:" in second.wait_for("try --port")
    assert second.process.wait(timeout=30) == 1
    assert "Traceback" not in second.printed


def test_a_client_that_rejects_the_certificate_gets_one_line_pointing_at_the_ca(mailserver):
    client = smtplib.SMTP("127.0.0.1", mailserver.port, timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        client.starttls(context=ssl.create_default_context())

    printed = mailserver.wait_for("does not trust this server's certificate")
    assert "Traceback" not in printed and "ca.pem (Cortex: cacerts)" in printed


def test_each_login_is_shown_accepted_or_refused(mailserver):
    ca = re.search(r"^cacerts: the CA below, also in (\S+)$", mailserver.printed, re.MULTILINE).group(1)
    items = printed_settings(mailserver.printed)
    for password in ("wrong", items["smtp_password"]):
        with smtplib.SMTP("127.0.0.1", mailserver.port, timeout=10) as client:
            client.starttls(context=ssl.create_default_context(cafile=ca))
            try:
                client.login(items["smtp_user"], password)
            except smtplib.SMTPAuthenticationError:
                pass

    printed = mailserver.wait_for("login as 'phishfeedback' accepted")
    assert "login as 'phishfeedback' refused (wrong user or password)" in printed
