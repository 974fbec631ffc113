"""What the script does before the responder can run: from the first moment, every way it ends leaves a report.

Standard library only, loaded before anything heavy: Cortex's SIGTERM (and SIGINT) is handled and output is
scrubbed of secrets at once, and the job goes to the responder's own virtual environment where README made one
(where the system Python refuses pip, PEP 668: Debian 12+, Ubuntu 24.04); a Python that lacks a requirement
otherwise says what to install.
"""

from __future__ import annotations

import os
import sys

from feedback import stopping
from feedback.errors import not_installed
from feedback.job_folder import REPORTED, write_failure, write_output
from feedback.redaction import ScrubbedStream

ENDED_BEFORE_SENDING = (
    "Phish_Feedback was ended before it finished, before any message was sent: nothing was sent or tagged."
)
# Why the job folder took no report at the start, if it did not: the responder says so once the folder is known to
# be a Cortex job's (a folder without input gets its own sentence).
unwritable: OSError | None = None


def prepare() -> None:
    """The report a kill leaves while the modules load, then the signals taken over and the output scrubbed."""
    global unwritable
    try:
        write_output({"success": False, "errorMessage": ENDED_BEFORE_SENDING})
    except OSError as failure:
        unwritable = failure
    _in_utf8_mode()
    stopping.install()
    if sys.stdout is not None and sys.stderr is not None:
        sys.stdout, sys.stderr = ScrubbedStream(sys.stdout), ScrubbedStream(sys.stderr)


def _in_utf8_mode() -> None:
    """Cortex writes the job's input in UTF-8, and cortexutils opens it in the locale's encoding: on a host whose
    locale is Latin-1 or ASCII, the case's words would reach the reporters garbled, or not be read at all. There the
    script starts again at once in Python's UTF-8 mode, in the same process, which Cortex's signals still reach; the
    report written before it stands until the new start writes its own."""
    if sys.flags.utf8_mode or sys.getfilesystemencoding() == "utf-8" or not sys.executable:
        return
    arguments = sys.orig_argv[1:] if hasattr(sys, "orig_argv") else sys.argv  # the interpreter's own flags from 3.10
    try:
        os.execv(sys.executable, [sys.executable, "-X", "utf8", *arguments])
    except OSError:
        pass


def responder_base(script: str) -> type:
    """cortexutils' Responder, in `<script's folder>/.venv` where there is one, or the job ends with what to do.

    `script` is the file Cortex started (sys.argv[0]): it is started again with the environment's Python.
    """
    run_in_own_environment(script)
    try:
        from cortexutils.responder import Responder
    except ImportError:
        pass
    else:
        return Responder
    write_failure(f"Phish_Feedback cannot start: {not_installed('cortexutils')}")
    sys.exit(REPORTED)


def run_in_own_environment(script: str) -> None:
    """Starts `script` again, with its arguments, under `<script's folder>/.venv/bin/python3`; returns if it cannot.

    README installs the requirements there, and whichever Python started the script may hold other packages: a
    host's system Python with cortexutils alone (it requires nothing), or versions the requirements refuse. A Python
    started from that environment is not sent there again, so a requirement missing there too ends in the caller's
    own words, not in a loop.
    """
    venv = os.path.join(os.path.dirname(os.path.abspath(script)), ".venv")
    venv_python = os.path.join(venv, "bin", "python3")
    if os.path.exists(venv_python) and os.path.realpath(sys.prefix) != os.path.realpath(venv):
        try:
            utf8 = ["-X", "utf8"] if sys.flags.utf8_mode else []  # as this start was made, not to be made again
            os.execv(venv_python, [venv_python, *utf8, os.path.abspath(script), *sys.argv[1:]])
        except OSError:
            pass
