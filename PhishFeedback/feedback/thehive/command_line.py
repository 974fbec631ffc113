"""What thehive_setup.py and thehive_stats.py share: the environment they run in, their TheHive options, the key.

Both are run by an admin at a shell, not by Cortex: the key comes from the environment only (a command
line shows in `ps` and in the shell's history), TLS is verified against the system's CAs and --cacerts,
plain http:// goes to this machine only, and the whole command keeps to --time-limit however TheHive
answers. Each mistake is one sentence.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

from feedback.errors import CommandError
from feedback.items import UNSENDABLE, cleartext_refusal, header_safe, is_url
from feedback.reach import Reach
from feedback.redaction import ScrubbedStream, remember, remember_proxies
from feedback.secret_forms import typed_url_credentials
from feedback.startup import run_in_own_environment
from feedback.thehive.settings import TheHiveSettings

ENVIRONMENT_KEY = "THEHIVE_APIKEY"
# Each call's wait for TheHive; --time-limit bounds them all together.
TIMEOUT = 30.0
LONGEST_LIMIT = 24 * 3600.0


def started(script: str, arguments: Callable[[], argparse.Namespace]) -> tuple[argparse.Namespace, str]:
    """The command's options and key, once it runs where requests is and nothing it prints can show a secret.

    Where README made PhishFeedback/.venv, the command starts again there, whatever the Python that started it
    holds. The key is remembered before the options are read: one typed on the command
    line by mistake comes back in argparse's complaint.
    """
    run_in_own_environment(script)
    if hasattr(sys.stdout, "reconfigure"):  # a terminal or a pipe that is not UTF-8 (a Latin-1 locale): escapes
        sys.stdout.reconfigure(errors="backslashreplace")
    # A stream the shell closed (`>&-`) is None: what goes there is dropped, as Python's print drops it.
    sys.stdout, sys.stderr = (ScrubbedStream(stream or open(os.devnull, "w")) for stream in (sys.stdout, sys.stderr))
    apikey = os.environ.get(ENVIRONMENT_KEY, "").strip()
    remember(apikey)
    remember_proxies(os.environ)  # HTTPS_PROXY's login, which a proxy's page may quote back
    return arguments(), apikey


def printed(text: str) -> None:
    """The text on standard output; nothing more where its reader quit (`head`, a pager, `| true`): what it did not
    want is no error, and Python's own complaint at exit is kept off the terminal."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as failure:  # a full disk, a file the command may not write
        raise CommandError(
            f"Standard output could not be written ({failure.strerror or failure.__class__.__name__}), so what the"
            " command did is not shown: run it again with its output going to a terminal or a file that can take it."
        ) from None


def thehive_parser(purpose: str, whose: str, time_limit: float) -> argparse.ArgumentParser:
    """A command's arguments, TheHive's first; `whose`: the key the command needs, said where the help says whence."""
    parser = argparse.ArgumentParser(
        description=f"{purpose} The API key {whose} is read from the environment variable {ENVIRONMENT_KEY}."
    )
    parser.add_argument("--url", required=True, help="TheHive's URL, e.g. https://thehive.example.org")
    parser.add_argument("--organisation", help="the organisation to act in, when the key's user has several")
    parser.add_argument("--cacerts", metavar="FILE", help="PEM file of the CA that signed TheHive's certificate")
    parser.add_argument(
        "--time-limit",
        type=_seconds,
        default=time_limit,
        metavar="SECONDS",
        help=f"the longest the whole command may take, all calls to TheHive together (default {time_limit:g})",
    )
    return parser


def settings_from_options(options: argparse.Namespace, apikey: str, whose: str) -> TheHiveSettings:
    """TheHive as the options and the key name it; `whose`: the user the key must belong to, for the sentences."""
    if not apikey:
        raise CommandError(f"Set the environment variable {ENVIRONMENT_KEY} to the API key of {whose}.")
    url = options.url.rstrip("/")
    # A password typed with a '/' or a space ends the host before its '@': the key would go to the user's name.
    if typed_url_credentials(url) or "@" in urlsplit(url).netloc:
        raise CommandError(
            "--url must be TheHive's address like https://thehive.example.org, with no user or password in it"
            f" (the key comes from {ENVIRONMENT_KEY})."
        )
    if not is_url(url, ("https", "http")):  # a host and port alone, as a browser's address bar takes them
        raise CommandError("--url must be TheHive's address with its scheme, like https://thehive.example.org.")
    refusal = cleartext_refusal("--url", url, f"the API key ({ENVIRONMENT_KEY})")
    if refusal:
        raise CommandError(refusal)
    organisation = (options.organisation or "").strip() or None
    if not header_safe(apikey):
        raise CommandError(f"{ENVIRONMENT_KEY} {UNSENDABLE}: copy the key again from TheHive.")
    if organisation and not header_safe(organisation):
        raise CommandError(
            f"--organisation {UNSENDABLE}: run the command without it, with the key of a user of the organisation"
            " to act in."
        )
    return TheHiveSettings(
        url=url,
        apikey=apikey,
        organisation=organisation,
        api="auto",
        # No Cortex here to name a proxy: the HTTP client takes the environment's (HTTPS_PROXY).
        reach=Reach(_pem(options.cacerts), {}, TIMEOUT),
    )


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= LONGEST_LIMIT:
        raise argparse.ArgumentTypeError(f"give a number of seconds from 1 to {LONGEST_LIMIT:g}")
    return seconds


def _pem(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="ascii") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as failure:
        raise CommandError(f"--cacerts {path} cannot be read ({failure.__class__.__name__}).") from None
