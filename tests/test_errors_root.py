"""Every failure the job words for the analyst derives from one root, which the Responder turns into a Cortex error.

A new error class that forgot the root would end a job as "This is a bug"; one that is not a failure
of the job (a signal between two modules, or a standard exception's refinement that callers catch
as such) is named here with the reason.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import feedback
from feedback.errors import PhishFeedbackError

# Exceptions that never reach the Responder as such: each is caught and worded by the module that uses it.
SIGNALS = {
    "feedback.addresses.AddressError": "a refused address, worded by the caller (a refusal or a ConfigError)",
    "feedback.alarm.BudgetSpent": "the time budget, a TimeoutError the transports treat as one",
    "feedback.http_failures.CutShort": "an answer whose body was cut after its status came, read by the caller",
    "feedback.http_failures.Untrusted": "an unverified certificate, worded by each HTTPS caller",
    "feedback.http_failures.HttpFailure": "a request that got no whole answer, an OSError each HTTPS caller words",
    "feedback.http_failures.Unreachable": "no connection to an HTTPS party, worded by its caller",
    "feedback.client_failures.Unanswered": "a connection ended after the whole request, read by the HTTP client",
    "feedback.client_failures.Misanswered": "an answer whose head could not be read, read by the HTTP client",
    "feedback.client_failures.NothingSent": "a wait that ran out before the request went, read by the HTTP client",
    "feedback.client_failures.ProxyUntrusted": "an https:// proxy's certificate not verified, read by the HTTP client",
    "feedback.http_failures.Unreadable": "an answer the client could not read, worded by its caller",
    "feedback.http_failures.Refused": "a refused connection to an HTTPS party, worded by its caller",
    "feedback.http_failures.TunnelRefused": "a proxy's answer to the tunnel's request, worded by the HTTPS caller",
    "feedback.http_failures.TlsFailed": "TLS that failed for another reason than the certificate, worded by its caller",
    "feedback.http_failures.TimedOut": "no answer in time from an HTTPS party, a TimeoutError worded by its caller",
    "feedback.http_failures.TooLarge": "an answer longer than its caller reads, worded by the caller",
    "feedback.http_failures.Malformed": "an answer that is no JSON, or nests too deep, worded by the caller",
    "feedback.http_failures.Redirected": "a redirect the client does not follow, worded by the caller",
    "feedback.bounded_json.PastBound": "an answer past its bounds, worded by each caller",
    "feedback.way_out.Trouble": "transient trouble, an OSError the delivery policy retries",
    "feedback.smtp.connection.RepliedEarly": "a reply before the message, a disconnection the session retries",
    "feedback.smtp.connection.ReplyTooLong": "an SMTP reply past its bound, an SMTPException smtplib's callers catch",
    "feedback.mailbox_settings.Unavailable": "a mailbox language the service does not give, a warning of the caller",
    "feedback.thehive.observables_api.Absent": "a TheHive without the v1 API, which the caller reads the legacy way",
    "feedback.smtp.connection.OutOfTime": "the budget spent inside an SMTP exchange, worded by the session",
    "feedback.smtp.envelopes.SessionOver": "the dry run's session ended by the server, opened again by the transport",
    "feedback.smtp.failures.LoginDeferred": "a 454 at login, retried by the session",
    "feedback.case_journals.NoLock": "no turn on the case to be had on this host, a warning of the caller",
    "feedback.concurrent_jobs.Unlisted": "the jobs on a case TheHive could not list, a warning or Busy of the caller",
    "feedback.stopping.Stopped": "Cortex's SIGTERM, accounted for by the delivery policy",
    "feedback.stopping.Ending": "what ends the sending by itself, the delivery policy's own halt",
}


def exception_classes():
    for module_info in pkgutil.walk_packages(feedback.__path__, "feedback."):
        try:
            module = importlib.import_module(module_info.name)
        except ImportError:  # a module for a job that needs an optional library (cryptography) not installed
            continue
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", value


def test_every_error_class_derives_from_the_root_or_is_a_named_signal():
    unclassified = [
        name
        for name, cls in exception_classes()
        if not issubclass(cls, PhishFeedbackError)
        and name not in SIGNALS
        and not name.rpartition(".")[2].startswith("_")
    ]
    assert not unclassified, f"derive these from PhishFeedbackError, or name them in SIGNALS: {unclassified}"


def test_the_named_signals_exist_and_are_not_failures_of_the_job():
    classes = dict(exception_classes())
    assert set(SIGNALS) <= set(classes)
    assert not any(issubclass(classes[name], PhishFeedbackError) for name in SIGNALS)
