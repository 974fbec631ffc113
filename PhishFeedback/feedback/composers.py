"""The messages of a job whose reporters differ: each one's language, and the report each answers (docs/messages.md).

One Composer (feedback/messages.py) per set of languages the job's reporters need, each made once
with its reporters: a campaign of 500 reporters in two languages renders its templates twice, not
500 times, and every template is still checked before the first message goes out. Each message
then says its language (Content-Language, RFC 3282) and, where the reporter's own report is known,
names it as its parent (feedback/message_ids.py).
"""

from __future__ import annotations

from email.message import EmailMessage

from feedback.case import Report
from feedback.message_ids import threaded
from feedback.message_settings import MessageSettings
from feedback.messages import Composer, Outgoing
from feedback.plan import Decision
from feedback.shapes import replaced, shape


@shape
class Reporter:
    """What the job knows of one reporter beyond the address: the languages of their message, their report's ID."""

    languages: tuple[str, ...]
    parent: str | None  # the Message-ID of the report they sent, as feedback/message_ids.py checked it


class Composers:
    """The job's messages, as a Composer offers them: `outgoing` in the decision's order, and `message(item)`."""

    def __init__(
        self,
        decision: Decision,
        report: Report,
        settings: MessageSettings,
        reporters: dict[str, Reporter],
    ) -> None:
        groups: dict[tuple[str, ...], list[str]] = {}
        for recipient in decision.recipients:
            groups.setdefault(reporters[recipient].languages, []).append(recipient)
        self.reporters = reporters
        self.logo = settings.logo
        self.composer_of: dict[str, Composer] = {}  # each recipient's, by their languages
        made: dict[str, Outgoing] = {}
        for languages, recipients in groups.items():
            group = replaced(decision, recipients=tuple(recipients))
            composer = Composer(group, report, replaced(settings, languages=languages))
            for item in composer.outgoing:
                self.composer_of[item.recipient], made[item.recipient] = composer, item
        self.outgoing = [made[recipient] for recipient in decision.recipients]
        # What each wording set aside, said once in the job's report however many languages it was made in.
        self.notes = list(dict.fromkeys(note for c in self.composer_of.values() for note in c.wording.notes))

    def message(self, item: Outgoing) -> EmailMessage:
        message = self.composer_of[item.recipient].message(item)
        reporter = self.reporters[item.recipient]
        message["Content-Language"] = ", ".join(reporter.languages)
        if reporter.parent is not None:
            threaded(message, reporter.parent)
        return message
