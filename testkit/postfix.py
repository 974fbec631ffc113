"""Postfix 3.7 for submission on loopback, from a private configuration folder (docs/real-mail-servers.md).

One instance, several submission services, each on a spare port of 127.0.0.1 with its own `-o`
overrides (a mechanism filter, implicit TLS, a size or rate limit), so that a whole test session
pays for one start. SASL goes through Dovecot (testkit/dovecot.py) over `private/auth`; mail for
example.org lands in virtual Maildir boxes that the tests read back. Runs as root, as Debian's
package expects; nothing listens on port 25.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from testkit.certificates import Certificates
from testkit.ports import free_port, is_free

DOMAIN = "example.org"
# The uid and gid the virtual delivery agent writes the Maildirs as (Debian's nobody and nogroup).
MAILDIR_OWNER = 65534
# Postfix's own services, as Debian's master.cf has them, none chrooted: the private folder is not a chroot.
_INTERNAL_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
# What every submission service has: TLS required before AUTH, AUTH through Dovecot.
SUBMISSION = {"smtpd_tls_security_level": "encrypt", "smtpd_sasl_auth_enable": "yes", "smtpd_tls_auth_only": "yes"}


def missing() -> str:
    """Why these servers cannot run here, as a sentence; empty when they can."""
    if os.geteuid() != 0:
        return "Postfix and Dovecot run from private folders only as root: run the real mail server tests as root."
    absent = [tool for tool in ("postfix", "dovecot", "doveadm") if shutil.which(tool) is None]
    if absent:
        return f"{', '.join(absent)} not found: apt-get install postfix dovecot-core (Debian 12)."
    return ""


class Postfix:
    """A Postfix instance in a folder of its own; `services` maps a name to the -o overrides of one port.

    `mailboxes` are the addresses that have a Maildir box (any other is refused as unknown),
    `refused` maps recipients to the reply `smtpd_recipient_restrictions` gives them (an access map),
    `senders` each envelope sender to the logins that may use it (`reject_sender_login_mismatch`).
    """

    def __init__(
        self,
        certificates: Certificates,
        services: dict[str, dict[str, str]],
        *,
        mailboxes: list[str],
        refused: dict[str, str],
        senders: dict[str, str],
    ) -> None:
        # Postfix's daemons run as the postfix user: the folder must be reachable by it, unlike pytest's tmp_path.
        self.root = Path(tempfile.mkdtemp(prefix="phishfeedback-postfix-"))
        self.root.chmod(0o755)
        # Side by side: Postfix's start-up check warns about every file in its configuration folder not owned by root.
        self.config = self.root / "etc"
        self.queue = self.root / "spool"
        self.mail = self.root / "mail"
        self.log = self.root / "postfix.log"
        self.services = services
        self.ports = {name: free_port() for name in services}
        self._write(certificates, services, mailboxes, refused, senders)

    def _write(self, certificates: Certificates, services: dict, mailboxes: list, refused: dict, senders: dict) -> None:
        root = self.config
        root.mkdir()
        self.queue.mkdir()
        key_and_chain = root / "server.pem"
        certificates.server.private_key_and_cert_chain_pem.write_to_path(str(key_and_chain))
        key_and_chain.chmod(0o600)
        _table(root / "refused", {address: f"REJECT {reply}" for address, reply in refused.items()})
        _table(root / "senders", senders)
        self.mail.mkdir()
        shutil.chown(self.mail, MAILDIR_OWNER, MAILDIR_OWNER)
        (root / "main.cf").write_text(
            f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.root / "data"}
maillog_file = {self.log}
maillog_file_prefixes = {self.root}
myhostname = mail.{DOMAIN}
mydomain = {DOMAIN}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
biff = no
alias_maps =
alias_database =
smtpd_tls_chain_files = {key_and_chain}
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sender_login_maps = texthash:{root / "senders"}
smtpd_sender_restrictions = reject_sender_login_mismatch
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access texthash:{root / "refused"}, permit_sasl_authenticated, reject
# Loopback is exempt from anvil's limits by default ($mynetworks); the rate-limited service must count it.
smtpd_client_event_limit_exceptions =
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{root / "mailboxes"}
virtual_uid_maps = static:{MAILDIR_OWNER}
virtual_gid_maps = static:{MAILDIR_OWNER}
""",
            encoding="utf-8",
        )
        # The virtual delivery agent takes no regular expression here: one Maildir box per address, named for it.
        _table(root / "mailboxes", {address: f"{address}/" for address in mailboxes})
        self._write_services()

    def _write_services(self) -> None:
        lines = [_INTERNAL_SERVICES]
        for name, overrides in self.services.items():
            lines.append(f"127.0.0.1:{self.ports[name]} inet n - n - - smtpd")
            lines += [f"  -o {key}={value}" for key, value in {**SUBMISSION, **overrides}.items()]
        (self.config / "master.cf").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self) -> None:
        """`postfix start` waits until the master daemon reports that it is up (or why not).

        A port another process bound since it was found free (a test session beside this one draws from the same
        stretches) makes the master fail without a word in the log: such ports are chosen again, once.
        """
        for last in (False, True):
            done = subprocess.run(["postfix", "-c", str(self.config), "start"], capture_output=True, text=True)
            if not done.returncode:
                return
            taken = [name for name, port in self.ports.items() if not is_free(port)]
            if last or not taken:
                said = f"{done.stdout}{done.stderr}" + "\n".join(self.log_lines())
                raise RuntimeError(f"Postfix did not start (ports taken by another process: {taken}): {said}")
            self.ports.update({name: free_port() for name in taken})
            self._write_services()

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.config), "stop"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines() if self.log.exists() else []

    def settle(self, timeout: float = 60) -> None:
        """Wait until every message accepted has left the queue: delivered into its Maildir, or bounced."""
        end = time.monotonic() + timeout
        while _queued(self.queue):
            if time.monotonic() > end:
                raise AssertionError(
                    f"Postfix still holds mail after {timeout} s:\n" + "\n".join(self.log_lines()[-20:])
                )
            time.sleep(0.05)

    def mailbox(self, address: str) -> list[EmailMessage]:
        """The messages in the Maildir of `address` (new and seen), oldest first."""
        files = [f for part in ("new", "cur") for f in (self.mail / address / part).glob("*")]
        return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in sorted(files, key=_delivery_time)]

    def empty_mailboxes(self) -> None:
        for box in self.mail.iterdir():
            shutil.rmtree(box)


def _queued(queue: Path) -> bool:
    return any(
        f.is_file() for part in ("maildrop", "incoming", "active", "deferred") for f in (queue / part).rglob("*")
    )


def _delivery_time(file: Path) -> float:
    return file.stat().st_mtime


def _table(path: Path, entries: dict[str, str]) -> None:
    path.write_text("".join(f"{key} {value}\n" for key, value in entries.items()), encoding="utf-8")
