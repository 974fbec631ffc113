"""What the messages take from the configuration: who they come from, their languages and their wording.

Read and checked once by feedback/settings.py; the Composer, the templates and the letterhead are handed
this alone, so that what shapes a message is read in one place and nothing else of the job reaches them.
"""

from __future__ import annotations

from feedback.shapes import shape

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from feedback.logo import Logo


@shape
class MessageSettings:
    sender_name: str
    sender_address: str
    # The display name and address replies go to, when `from` is a mailbox nobody reads.
    reply_to: tuple[str, str] | None
    languages: tuple[str, ...]
    auto_language: bool  # `language` starts with `auto`: each reporter's own language where known
    reporter_languages: dict[str, str]  # address or domain (lower case) → language code
    subject: str | None
    guidance_url: str | None
    signature: str | None
    templates: dict[str, str]  # message → the admin's own template, where one is set
    logo: Logo | None
