"""The report while the messages go out, rewritten as each one is accepted, so that a kill keeps the record.

Cortex's docker and Kubernetes runners kill the job at the responder's Job timeout without a word, and
that timeout may be shorter than the jobTimeout the job plans for (docs/cortex-and-thehive.md §1). What
the mail service accepted by then must already be in output.json, as a successful report: TheHive then
applies its operations, those reporters are recorded, and the next run does not mail them again.
Each reporter's part is made (and scrubbed) once, when their message is accepted; a rewrite only joins
the parts, so that a campaign's rewrites cost little more than its writes.
"""

from __future__ import annotations

from datetime import datetime

from feedback.flavours import ACKNOWLEDGEMENT
from feedback.job_folder import json_text, write_output, write_output_text
from feedback.messages import Outgoing
from feedback.plan import Decision
from feedback.redaction import spare
from feedback.tags import TAG_OPERATION, UNREACHED, notified_tags, record_tag

ENDED_WHILE_SENDING = (
    "Phish_Feedback was ended while the messages were going out, before the mail service had accepted any: the one"
    " it had at that moment may have gone, but the case records nobody. Look in the SMTP server's log (through"
    " Graph: the mailbox's Sent Items) before running the responder again."
)
NOT_REACHED = "not reached: the job was ended before their turn"


class InterimReport:
    """What Cortex reads if the job is killed now: those accepted so far recorded, the others not reached."""

    def __init__(self, decision: Decision, kind: str, sent_tag: str, failed_tag: str) -> None:
        # The acknowledgement records only whom it reached (feedback/tags.py `acknowledgement_operations`).
        self.verdict = None if decision.message == ACKNOWLEDGEMENT else decision.verdict
        self.operation = TAG_OPERATION[kind]
        self.recipients, self.tags = decision.recipients, (sent_tag, failed_tag)
        self.notified: list[str] = []
        self.records: list[str] = []
        # Made when the first message is accepted, when they are first written.
        self.failed: dict[str, str] = {}
        self.unreached: dict[str, str] = {}
        self.closing: tuple[str, ...] = ()
        write_output({"success": False, "errorMessage": ENDED_WHILE_SENDING})

    def accepted(self, item: Outgoing, at: datetime) -> None:
        """The message to `item.recipient` was accepted at `at`: from now on, a kill leaves their record."""
        if not self.notified:
            self._first()
        self.notified.append(json_text({"address": item.recipient, "message_id": item.message_id}))
        records = notified_tags(item.recipient, at, self.verdict)
        spare(*records)  # as the final report does: a secret learned later must not blot out the record
        self.records += map(self._tag, records)
        del self.failed[item.recipient]
        self.unreached.pop(item.recipient, None)
        try:
            write_output_text(self._text())
        except OSError:  # the job's final report still comes; this one only matters if the job is killed first
            pass

    def _first(self) -> None:
        self.failed = {a: json_text({"address": a, "reason": NOT_REACHED}) for a in self.recipients}
        if self.verdict is not None:
            self.unreached = {a: self._tag(record_tag(UNREACHED, a)) for a in self.recipients}
            self.closing = tuple(self._tag(tag) for tag in self.tags)

    def _tag(self, tag: str) -> str:
        return json_text({"type": self.operation, "tag": tag})

    def _text(self) -> str:
        done, total = len(self.notified), len(self.recipients)
        message = (
            f"Phish_Feedback was ended while the messages were going out, after {done} of the {total} reporter(s)"
            " were mailed: those are recorded, and the next run does not mail them again. It mails the"
            f" {total - done} others; the one whose message the mail service had as the job was ended may get it"
            " twice (the server's log, or through Graph the Sent Items, says). The responder's Job timeout in"
            " Cortex was shorter than the jobTimeout it planned for, or the job was stopped (PhishFeedback README)."
        )
        operations = [*self.records, *self.unreached.values()]
        # The sent tag (the case was answered), and the failed tag while some reporter is not reached.
        operations += self.closing if self.unreached else self.closing[:1]
        # Written from the parts, each already strict JSON: json_text would scrub and encode all of them again.
        return (
            f'{{"success": true, "full": {{"message": {json_text(message)}, "verdict": {json_text(self.verdict)},'
            f' "notified": [{", ".join(self.notified)}], "failed": [{", ".join(self.failed.values())}]}},'
            f' "operations": [{", ".join(operations)}]}}'
        )
