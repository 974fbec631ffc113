"""Header values that carry text from the case: written so that a reader finds nothing in them but that text.

The reported subject is the attacker's. Python's email package decodes the RFC 2047 encoded words
(`=?utf-8?b?…?=`) in a value it is given, and interpreters without the fix for CVE-2024-6923
(3.9.18 and 3.11.7 among them) then wrote the line breaks a word decoded to as they were: a title
holding `=?utf-8?b?DQpSZXBseS1Ubzog…?=` ended the headers after `Subject:`, and a Reply-To and a
body of the attacker's choosing followed. Here a value is first flattened to one line of printable
text; one that still holds `=?` is never handed to that parser, but written as encoded words made
here, which every reader decodes once, to the text as it was: the reporter sees the attacker's
`=?…?=` literally, and no reader decodes it again.
"""

from __future__ import annotations

from email.header import Header
from email.policy import Policy

from feedback.shown_text import one_line

# What starts an encoded word, to the email package's parser and to mail readers.
ENCODED_WORD = "=?"


class EncodedWords(str):
    """A header the email package stores as it is (a header object, never parsed) and writes as encoded words."""

    def __new__(cls, name: str, text: str) -> EncodedWords:
        header = super().__new__(cls, text)
        header.name = name
        return header

    def fold(self, *, policy: Policy) -> str:
        """The header's line(s) as a generator writes them: `Name: =?utf-8?q?…?=`, each encoded word within RFC 2047's
        75 characters (folded at the policy's 76; at 78, a word of three-byte characters reached 76)."""
        words = Header(str(self), "utf-8", policy.max_line_length, self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {words}{policy.linesep}"


def header_value(name: str, text: str) -> str:
    """The text as the value of header `name`: one line, no control character, and never read as an encoded word."""
    line = one_line(text)
    # Beyond ASCII too: the email package's folding of such a line may drop a space or add one where it splits
    # the text into encoded words (`…Ihre Adresse über` arrived as `…Ihre Adress e über`).
    return EncodedWords(name, line) if ENCODED_WORD in line or not line.isascii() else line
