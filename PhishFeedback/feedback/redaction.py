"""Keeping secrets out of everything the job writes or sends.

A secret can come back from a server in many forms (quoted in a reply, inside the base64 of an
AUTH string), and some are only known while the job runs (an OAuth2 token), so every secret is
remembered here once, in every form, and `scrub` is applied to whatever leaves the process.
"""

from __future__ import annotations

MASK = "********"
_forms: set[str] = set()


def remember(secret: str | None) -> None:
    """Keep this secret, and the forms of it a server may echo, out of every output from now on."""
    if secret:
        _forms.add(secret)


def scrub(text: str) -> str:
    """The text with every remembered secret blotted out, longest form first."""
    for form in sorted(_forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text
