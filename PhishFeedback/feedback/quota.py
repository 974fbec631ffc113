"""Whether a service's refusal speaks of a sending quota, read from its words, whatever the service.

Past a quota nothing more goes out until it resets, so the job stops and the next run goes on;
SMTP servers and Microsoft Graph word it alike. The addresses a reply quotes back are no words of
the service's: a reporter's own address ("quota@...") must not read as a quota.
"""

from __future__ import annotations

import re

# Patterns, compiled (and cached by `re`) on first use: most jobs never meet a refusal.
# "SubmissionQuotaExceededException", "Daily user sending limit exceeded", "RecipientRateLimitExceeded",
# "has exceeded the configured limit", "you've reached your daily limit", Graph's "ErrorQuotaExceeded"...
# Each is linear in the text: no open-ended run of letters after a word's stem ("exceeded", "exceeding").
_QUOTA_WORDS = r"(?i)quota|(limit|rate)\s*(exceeded|reached)|(exceed\w{0,4}|reached)\s+(\S+\s+){0,3}?limit"
# ...but a limit on parallel work ("sender thread limit exceeded") passes within seconds: throttling.
_CONCURRENCY_WORDS = r"(?i)(thread|connection|concurren\w{0,4})\s*limit"
# What a reply quotes back: <...>, and any word that holds a mailbox@domain. Linear in the text: a bracket's match
# ends at the next bracket, and a word is matched from its start only, so no character is read again for each start.
_QUOTED = r"<[^<>]*>|(?<!\S)\S+@\S+"
# What of a refusal is read: its words that matter come first, and the patterns' cost grows with the text.
LONGEST_TEXT = 2000


def words(text: str) -> str:
    """The reply's own words (its first LONGEST_TEXT characters), without the addresses it quotes back."""
    return re.sub(_QUOTED, " ", text[:LONGEST_TEXT])


def speaks_of_quota(text: str) -> bool:
    said = words(text)
    return bool(re.search(_QUOTA_WORDS, said)) and not re.search(_CONCURRENCY_WORDS, said)
