"""The root of the failures the job words for the analyst.

Each is raised where its cause is known, with the sentence that says what to fix; the Responder
turns any of them into a Cortex error in one place (feedback/responder.py), so that a new kind of
failure only has to derive from this class to be reported, never to be listed.
"""

from __future__ import annotations


class PhishFeedbackError(Exception):
    """A failure whose message is the analyst's sentence."""


class CommandError(PhishFeedbackError):
    """What stops an admin's command (thehive_setup.py, thehive_stats.py); the message says what to do, and whether
    anything was changed."""
