"""Dovecot 2.3 as Postfix's SASL back end, from a private configuration file (docs/real-mail-servers.md).

Only its auth service runs (no IMAP, no POP3): PLAIN and LOGIN against a passwd-file of
SHA512-CRYPT hashes, XOAUTH2 and OAUTHBEARER through the `oauth2` passdb, which asks an RFC 7662
introspection endpoint (testkit/introspection.py) about every token. Its socket is the one
Postfix's `smtpd_sasl_path = private/auth` names.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class Dovecot:
    """A Dovecot started in the foreground by the tests, in a folder of its own, ended by its process id."""

    def __init__(self, socket: Path, users: dict[str, str], introspection_url: str, ca_pem: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="phishfeedback-dovecot-"))
        self.root.chmod(0o755)
        self.socket = socket
        self.log = self.root / "dovecot.log"
        self.config = self.root / "dovecot.conf"
        self.process: subprocess.Popen | None = None
        (self.root / "ca.pem").write_text(ca_pem, encoding="utf-8")
        _private(self.root / "users", "".join(f"{user}:{_hash(password)}\n" for user, password in users.items()))
        _private(
            self.root / "oauth2.conf",
            f"""\
introspection_mode = post
introspection_url = {introspection_url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = {self.root / "ca.pem"}
""",
        )
        self.config.write_text(
            f"""\
base_dir = {self.root / "run"}
state_dir = {self.root / "state"}
log_path = {self.log}
protocols =
ssl = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_verbose = yes
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {self.root / "users"}
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {self.root / "oauth2.conf"}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {socket} {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
""",
            encoding="utf-8",
        )

    def start(self, timeout: float = 60) -> None:
        """Started in the foreground (-F), so that the tests own its process; ready once the socket is there."""
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        end = time.monotonic() + timeout
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > end:
                self.stop()
                raise RuntimeError(f"Dovecot did not start: {self.process.stdout.read().decode(errors='replace')}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines() if self.log.exists() else []


def _hash(password: str) -> str:
    """The hash as an admin makes it: doveadm pw, the password on standard input rather than the command line."""
    done = subprocess.run(
        ["doveadm", "pw", "-s", "SHA512-CRYPT"], input=f"{password}\n{password}\n", capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"doveadm pw failed: {done.stderr}")
    return done.stdout.strip()


def _private(path: Path, text: str) -> None:
    """Readable by Dovecot's auth process alone, which runs as the dovecot user."""
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    shutil.chown(path, "dovecot", "dovecot")
