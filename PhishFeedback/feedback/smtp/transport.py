"""SMTP as a way out: sessions from feedback/smtp/logins.py, and each refusal read into the policy's `Answer`.

What a reply means at each step is feedback/smtp/replies.py's to say; here it becomes the sentence an
analyst reads. A session's own failures are put in words here too, so that the delivery policy
(feedback/delivery.py) never needs to know it speaks SMTP.
"""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage

from feedback import pacing, way_out
from feedback.items import is_loopback
from feedback.pacing import Limits
from feedback.reach import in_container
from feedback.smtp import replies
from feedback.smtp.failures import client_advice, client_rate, describe_trouble, reply_text, shown_reply, unanswered
from feedback.smtp.logins import sender_advice, sessions
from feedback.smtp.session import Session
from feedback.smtp.settings import SmtpSettings
from feedback.way_out import (
    EXCHANGE_LIMITS,
    NOT_CHECKED,
    Answer,
    Check,
    Drops,
    Permanent,
    Transport,
    Trouble,
    quota_stop,
    stop,
    unsure,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from feedback.smtp.envelopes import Envelopes


class SmtpTransport(Transport):
    advice = "Check smtp_host and smtp_port, that the server is up and accepts connections from Cortex"

    def __init__(self, smtp: SmtpSettings, sender: str, deadline: float) -> None:
        self.smtp, self.reach, self.sender, self.deadline = smtp, smtp.reach, sender, deadline
        self.name = f"the SMTP server {smtp.where}"
        self.sent_record = f"the log of {self.name}"
        self.open_session = None  # the job's trust and login (for OAuth2, its token), settled at the first channel
        self.drops = Drops()
        self.refused_content: str | None = None  # the last refusal of a message's content: a second alike stops
        if is_loopback(smtp.host.lower()) and in_container():  # the default smtp_host under the docker runner
            self.advice = (
                f"{self.advice}. The job runs in a container (Cortex's docker or Kubernetes runner, or a Cortex that"
                f" runs in one), where {smtp.host} is the container itself: set smtp_host to the mail server's name or"
                " address as seen from the container"
            )

    def channel(self) -> _Channel:
        if self.open_session is None:
            self.open_session = sessions(self.smtp, self.deadline)
        return _Channel(self, self.open_session())

    def check(self, recipients: list[str], limits: Limits) -> Check:
        """The dry run: sessions opened as a send opens them, asking the server about the sender and each reporter.

        Trouble is tried again as the real run tries it (the same back-off and smtp_retries); a check that
        could ask about nobody fails the job, saying what went wrong.
        """
        from feedback.smtp.envelopes import Envelopes, SessionOver  # for dry runs only

        asked = Envelopes(recipients, self.sender, self.answer, limits, self.deadline)
        stalled = 0
        while True:
            before = len(asked.checked)
            try:
                with self.channel() as channel:
                    try:
                        asked.ask(channel.connection)
                    except SessionOver as over:
                        trouble = str(over)
                    else:
                        return Check(tuple(asked.checked), self._unchecked(recipients))
            except Trouble as failed:
                trouble = str(failed)
            stalled = 0 if len(asked.checked) > before else stalled + 1
            wait = pacing.pause(stalled)
            now = time.monotonic()
            if not pacing.may_try_again(stalled, limits.retries, now, wait, self.reach.timeout, self.deadline):
                return self._given_up(asked, f"{trouble} (after {max(stalled, 1)} attempt(s))", recipients)
            time.sleep(wait)

    def _given_up(self, asked: Envelopes, reason: str, recipients: list[str]) -> Check:
        if not asked.opened:
            raise Permanent(f"The dry run could not open a session: {reason}. {self.advice}.")
        asked.rest(reason)
        if all(checked.status == NOT_CHECKED for checked in asked.checked):
            raise Permanent(f"The dry run could not ask {self.name} about any reporter: {reason}. {self.advice}.")
        return Check(tuple(asked.checked), self._unchecked(recipients))

    def _unchecked(self, recipients: list[str]) -> tuple[str, ...]:
        if not recipients:
            return (
                f"No reporter is left to mail, so the dry run logged in to {self.name} and quit without asking it"
                " about the sender ('from') or any address.",
            )
        return (
            f"What {self.name} says of a message itself comes only when one is sent: its size and content, and"
            " any check of the sender made at the end of the message (Exchange Online's SendAsDenied).",
        )

    def answer(self, step: str, code: int, said: bytes | str, recipient: str) -> Answer:
        """The policy's answer to a refusal of `recipient`'s message at `step`, in which the server `said` so."""
        text = reply_text(said)
        meaning = replies.meaning(step, code, text, self.sender)
        reply = f"{code} {shown_reply(said)}"
        if step == replies.MESSAGE and code < 400:  # DATA's own reply, no 354: a server out of step with SMTP
            return Answer(way_out.RECONNECT, f"{self.name} answered DATA with {reply} where SMTP has 354", None)
        if meaning == replies.QUOTA:
            return quota_stop(self.name, reply, EXCHANGE_LIMITS)
        if meaning == replies.SENDER_REFUSED:
            return stop(f"The SMTP server refused the sender {self.sender}: {reply}. {sender_advice(text, self.smtp)}")
        if meaning == replies.TOO_LARGE:
            return stop(
                f"The SMTP server {self.smtp.where} refused the message as too large ({reply}), and every message of"
                " this job is about that size: raise the server's size limit (Postfix: message_size_limit) or"
                " shorten the template."
            )
        if meaning == replies.CLIENT_RATE:
            return stop(client_rate(self.name, reply))
        if meaning == replies.CLIENT_REFUSED:
            return stop(f"{self.name} refused this client, whatever the reporter ({reply}). {client_advice(text)}")
        if step == replies.MESSAGE and meaning == replies.REFUSED:
            if reply == self.refused_content:
                return stop(
                    f"{self.name} refused the message of two reporters alike ({reply}): its"
                    " content checks refuse what every message of this job says. Look for what they refuse (Postfix:"
                    " header_checks, body_checks, or a content filter's log) in the subject, the template and"
                    " guidance_url, then run the responder again: it mails only those not reached."
                )
            self.refused_content = reply
        if meaning == replies.CLOSED:
            return Answer(way_out.RECONNECT, f"{self.name} closed the session ({reply})", None)
        lasting = _if_it_lasts(code, text, self.smtp)
        if meaning == replies.THROTTLED:
            return Answer(way_out.RECONNECT, f"{self.name} answered {reply}{lasting}", None)
        about = recipient if step == replies.RECIPIENT else "the message"
        kind = way_out.REFUSED if meaning == replies.REFUSED else way_out.DEFERRED
        return Answer(kind, f"the server refused {about}: {reply}{lasting}", None)


def _if_it_lasts(code: int, text: str, smtp: SmtpSettings) -> str:
    """For a 4xx worded as a refusal for good (a relay with Postfix's soft_bounce on): what to change if retries do not
    mend it, as the 5xx would have said; else nothing."""
    worded = replies.worded_for_good(code, text)
    if worded == replies.SENDER_REFUSED:
        advice = sender_advice(text, smtp).rstrip(".")
        return f" (if it lasts: {advice[:1].lower()}{advice[1:]})"
    if worded == replies.TOO_LARGE:
        return " (if it lasts: raise the server's size limit, Postfix's message_size_limit, or shorten the template)"
    return ""


class _Channel:
    """One SMTP session; its transient failures leave it as `Trouble`, in words, and `Permanent` as it is."""

    def __init__(self, transport: SmtpTransport, session: Session) -> None:
        self.transport, self.session = transport, session

    def __enter__(self) -> _Channel:
        try:
            self.connection = self.session.__enter__()
        except (smtplib.SMTPException, OSError) as trouble:
            raise Trouble(describe_trouble(trouble, self.transport.smtp)) from trouble
        return self

    def __exit__(self, kind: type | None, failure: BaseException | None, trace: object) -> None:
        try:
            self.session.__exit__(kind, failure, trace)
        except (smtplib.SMTPException, OSError) as trouble:
            raise Trouble(describe_trouble(trouble, self.transport.smtp)) from trouble
        if isinstance(failure, (smtplib.SMTPException, OSError)):
            raise Trouble(describe_trouble(failure, self.transport.smtp)) from failure

    def send(self, message: EmailMessage, recipient: str) -> Answer:
        answer = self.transport.answer
        self.connection.message_went = False
        try:
            self.connection.send_message(message, from_addr=self.transport.sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as refused:
            code, reply = next(iter(refused.recipients.values()))
            return answer(replies.RECIPIENT, code, reply, recipient)
        except smtplib.SMTPSenderRefused as refused:
            return answer(replies.SENDER, refused.smtp_code, refused.smtp_error, recipient)
        except smtplib.SMTPDataError as refused:
            if self.connection.message_went and 200 <= refused.smtp_code < 300:
                return way_out.TAKEN  # smtplib takes 250 alone; a 2xx to the message's end is the server taking it
            return answer(replies.MESSAGE, refused.smtp_code, refused.smtp_error, recipient)
        except (smtplib.SMTPServerDisconnected, OSError) as lost:
            transport = self.transport
            if not self.connection.message_ended:
                raise
            late = unanswered(lost, transport.smtp)
            if late is None and not transport.drops.again(recipient):
                raise
            return unsure(transport.name, late or Drops.ended, transport.sent_record)
        return way_out.TAKEN
