"""The report while the messages go out, kept up to date as each one is accepted, so that a kill keeps the record.

Cortex's docker and Kubernetes runners kill the job at the responder's Job timeout without a word, and
that timeout may be shorter than the jobTimeout the job plans for (docs/cortex-and-thehive.md §1). What
the mail service accepted by then must already be in output.json, as a successful report: TheHive then
applies its operations, those reporters are recorded, and the next run does not mail them again.
The report holds the records alone (who was mailed, which verdict, when; whose message may have gone), each made
once, and grows in place (feedback/growing_report.py).
The final report, written when the sending ends, says the rest (who failed and why).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from feedback.errors import named
from feedback.flavours import ACKNOWLEDGEMENT
from feedback.growing_report import GrowingReport
from feedback.job_folder import json_text, write_output
from feedback.messages import Outgoing
from feedback.plan import Decision
from feedback.redaction import spare
from feedback.tags import (
    TAG_OPERATION,
    UNSURE,
    closing_tags,
    maybe_reached,
    notified_tags,
    record_tag,
    record_time,
)
from feedback.unreached import Failure
from feedback.way_out import Permanent

UNRECORDED = (
    "Phish_Feedback could not write the report that records each reporter as the mail service accepts their message"
    " ({reason}), so nothing more went out in this job, lest a reporter be mailed and not recorded. Free space where"
    " Cortex keeps its jobs, then run the responder again."
)
# The case's own tags, which a report filled in place keeps as the report before it had them (`_tags_to_mend`).
WRONG_TAG = " Take the tag '{tag}' off the case: this report still adds it, as the one before the last message did."
MISSING_TAG = " Add the tag '{tag}' to the case: this report could not add it after the last message."
TAGS_KEPT = " The case's own tags are those of the report before the last message: check them by hand."
ENDED_WHILE_SENDING = (
    "Phish_Feedback was ended while the messages were going out, before the mail service had accepted any: the one"
    " it had at that moment may have gone, but the case records nobody. Look in {sent_record} before running the"
    " responder again."
)


class InterimReport:
    """What Cortex reads if the job is killed now: the records of those accepted so far."""

    def __init__(
        self,
        decision: Decision,
        kind: str,
        sent_tag: str,
        failed_tag: str,
        sent_record: str,
        keep: Callable[[Iterable[str]], None],
        taken: Sequence[str] = (),
    ) -> None:
        """`sent_record`: where the way out shows what it took (feedback/way_out.py), for the analyst to look; `keep`
        keeps each record for a job on the same case that starts before TheHive adds them, and `taken` are the records
        of such jobs before this one that the case does not show (feedback/concurrent_jobs.py): TheHive may never add
        them, so a kill keeps them too, once a record of this job's own is in the report."""
        # The acknowledgement records only whom it reached (feedback/tags.py `acknowledgement_operations`).
        self.verdict = None if decision.message == ACKNOWLEDGEMENT else decision.verdict
        self.operation = TAG_OPERATION[kind]
        self.total, self.done = len(decision.recipients), 0
        # Whether someone was mailed, whether someone is left -> the case's own tags (the acknowledgement writes none).
        self.closing = (
            {
                (reached, left): tuple(map(self._tag, closing_tags(sent_tag, failed_tag, reached=reached, left=left)))
                for reached in (False, True)
                for left in (False, True)
            }
            if self.verdict is not None
            else {}
        )
        self.named = {self._tag(tag): tag for tag in (sent_tag, failed_tag)} if self.verdict is not None else {}
        self.records = [self._tag(tag) for tag in taken]
        self.carried = len(self.records)
        self.maybe: list[str] = []  # whose message the service had whole and never answered
        self.sent_record = sent_record
        self.keep = keep
        # Written from the parts, each already strict JSON: json_text would scrub and encode them all again.
        middle = f', "verdict": {json_text(self.verdict)}}}, "operations": ['
        self.file = GrowingReport('{"success": true, "full": {"message": ', middle, "]}", self._kept_room(decision))
        write_output(self._nothing_accepted())

    def accepted(self, item: Outgoing, at: datetime) -> None:
        """The message to `item.recipient` was accepted at `at`: from now on, a kill leaves their record."""
        tags = notified_tags(item.recipient, at, self.verdict)
        self.keep(tags)
        self.records += map(self._tag, tags)
        self.done += 1
        self._write()

    def unsure(self, failure: Failure) -> None:
        """The service had the message to `failure.address` whole and never answered: a kill keeps that it may have
        gone, recorded as the final report records it."""
        self.maybe.append(failure.address)
        if self.verdict is not None:
            tag = record_tag(UNSURE, failure.address)
            self.keep((tag,))
            self.records.append(self._tag(tag))
        self._write()

    @property
    def records_unsure(self) -> bool:
        """Whether the report records a message that may have gone, so that no run mails it again: the verdict's
        feedback does; the acknowledgement records only whom it reached."""
        return self.verdict is not None

    def _write(self) -> None:
        if len(self.records) == self.carried:  # nothing of this job's own on record
            try:
                write_output(self._nothing_accepted())
            except OSError:
                pass
            return
        left = self.done + len(self.maybe) < self.total
        closing = self.closing.get((self.done > 0, left), ())
        try:
            said = json_text(self._said())
            if not self.file.grow(said, self.records, closing):
                self.file.write(said, self.records, closing, left)
        except OSError as failure:  # a message went that only this report records: no other may go unrecorded after it
            reason = failure.strerror or type(failure).__name__
            mend = self._tags_to_mend(self.file.closing, closing)
            saids = [self._stopped_said(reason, mend), *([self._stopped_said(reason, TAGS_KEPT)] if mend else [])]
            self.file.last([json_text(said) for said in saids], self.records)
            raise Permanent(UNRECORDED.format(reason=reason)) from None

    def _kept_room(self, decision: Decision) -> tuple[int, int]:
        """The room every report keeps for the records of one message more, whoever it goes to (twice over: they may
        not fit before a page's end), and for the sentence of a job stopped because the report could not be written
        whole: so that the last reporter mailed is recorded all the same (feedback/growing_report.py `last`). A job
        with one reporter has no message more to keep room for."""
        if len(decision.recipients) < 2:
            return 0, 0
        # The longest records: an address holding '=' is written in quotes (tags.py `record_tag`).
        longest = max(decision.recipients, key=lambda address: len(json.dumps(record_tag("", address))))
        tags = notified_tags(longest, record_time(), self.verdict)
        records = sum(len(", ") + len(json.dumps({"type": self.operation, "tag": tag})) for tag in tags)
        most = (10 ** len(str(self.total)) - 1,) * 3
        mends = (self._tags_to_mend(tuple(self.named), ()), TAGS_KEPT)  # a tag is to take off or to add, never both
        return 2 * records, max(len(json_text(self._stopped_said("x" * 64, mend, most))) for mend in mends)

    def _stopped_said(self, reason: str, mend: str, counts: tuple[int, int, int] | None = None) -> str:
        """Why the job stops, where the report could not be written whole, and what to mend of the case's own tags.
        `counts`: how many were mailed, may have been, and are left; the job's own unless given."""
        done, maybe, others = counts or (self.done, len(self.maybe), self.total - self.done - len(self.maybe))
        left = f"it mails the {others} others" if others else "nobody is left to mail"
        gone = f" The mail service may have had the message to {maybe} more. {maybe_reached(self.verdict)}"
        return (
            f"{UNRECORDED.format(reason=reason)} {done} of the {self.total} reporter(s) were mailed: those are"
            f" recorded, and the next run does not mail them again; {left}.{gone if maybe else ''}{mend}"
        )

    def _tags_to_mend(self, written: Sequence[str], due: Sequence[str]) -> str:
        """The report filled in place keeps the case's own tags of the report before (feedback/growing_report.py
        `last`): what the analyst changes of them by hand."""
        wrong = "".join(WRONG_TAG.format(tag=self.named[item]) for item in written if item not in due)
        return wrong + "".join(MISSING_TAG.format(tag=self.named[item]) for item in due if item not in written)

    def _tag(self, tag: str) -> str:
        """One operation, its tag spared as the final report spares every one it writes: a secret learned later, or
        one that reads as a tag with its white space changed, must not blot out the record."""
        spare(tag)
        return json_text({"type": self.operation, "tag": tag})

    def _nothing_accepted(self) -> dict:
        """A kill before anything was on record leaves an error, which TheHive applies no record of: whose message
        may have gone (the acknowledgement's) is said, for the analyst to look before running the responder again."""
        said = ENDED_WHILE_SENDING.format(sent_record=self.sent_record)
        return {"success": False, "errorMessage": f"{said} {self._maybe_said()}" if self.maybe else said}

    def _maybe_said(self) -> str:
        """Whose message went with no answer from the service: it may have gone."""
        return (
            f"The mail service had the whole message to {named(self.maybe, str)} and never answered: it may have gone"
            f" out all the same ({self.sent_record} says)."
        )

    def _said(self) -> str:
        maybe = ""
        if self.maybe:
            maybe = f" {self._maybe_said()} {maybe_reached(self.verdict)}"
        if self.done + len(self.maybe) == self.total:
            ended = "its last message went" if self.maybe else f"all {self.total} reporter(s) were mailed"
            mailed = f"the {self.done} mailed are" if self.maybe else "they are"
            recorded = (
                f"{mailed} recorded, and the next run does not mail them again"
                if self.done
                else "the mail service had accepted none"
            )
            return f"Phish_Feedback was ended after {ended}, before its report was written: {recorded}.{maybe}"
        so_far = (
            f"after {self.done} of the {self.total} reporter(s) were mailed: those are recorded, and the next run does"
            " not mail them again"
            if self.done
            else "before the mail service had accepted any message"
        )
        return (
            f"Phish_Feedback was ended while the messages were going out, {so_far}.{maybe} It mails"
            f" the {self.total - self.done - len(self.maybe)} others; the one whose message the mail service had as the"
            f" job was ended may get it twice ({self.sent_record} says). The responder's Job timeout in Cortex was"
            " shorter than the jobTimeout it planned for, or the job was stopped (PhishFeedback README)."
        )
