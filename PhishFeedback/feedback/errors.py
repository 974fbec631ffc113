"""The root of the failures the job words for the analyst, how their sentences name many reporters, and what they
say of a requirement this Python lacks.

Each is raised where its cause is known, with the sentence that says what to fix; the Responder
turns any of them into a Cortex error in one place (feedback/responder.py), so that a new kind of
failure only has to derive from this class to be reported, never to be listed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

# What a sentence for the analyst names of a long list (reporters refused, or not reached); the others are counted.
NAMED = 10


def named(
    items: Sequence, word: Callable[[object], str], where: str = "", why: Callable[[object], str] | None = None
) -> str:
    """The first NAMED items, each as `word` says it, then how many more there are (and `where` they are listed): a
    campaign of thousands must not make a sentence of megabytes. With `why`, the items that share a reason are named
    together and the reason said once: a campaign that stopped gives every reporter left the same long one."""
    first, more = items[:NAMED], len(items) - NAMED
    if why is None:
        said = "; ".join(word(item) for item in first)
    else:
        together: dict[str, list[str]] = {}
        for item in first:
            together.setdefault(why(item), []).append(word(item))
        said = "; ".join(f"{', '.join(words)} ({reason})" for reason, words in together.items())
    return said + (f"; and {more} more{where}" if more > 0 else "")


def not_installed(package: str) -> str:
    """What to do when this Python lacks one of the responder's requirements: install them all, as README does."""
    return (
        f"{package} is not installed for {sys.executable}. Install the responder's requirements into a virtual"
        " environment beside it, from Cortex's responders folder: python3 -m venv PhishFeedback/.venv &&"
        " PhishFeedback/.venv/bin/pip install -r PhishFeedback/requirements.txt (or, where the system Python"
        f" allows it: {sys.executable} -m pip install -r PhishFeedback/requirements.txt)."
    )


class PhishFeedbackError(Exception):
    """A failure whose message is the analyst's sentence."""


class CommandError(PhishFeedbackError):
    """What stops an admin's command (thehive_setup.py, thehive_stats.py); the message says what to do, and whether
    anything was changed."""
