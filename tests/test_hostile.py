"""Hostile values, faults and signals: no value ends the job, no record of a sent message is lost.

Each job runs as Cortex runs it (the script by path, the job folder as its argument) against the
loopback SMTP server; a few tests prepare the job folder themselves (a missing input, an output
folder that cannot be written) or end the job the way Cortex's runners do.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from feedback.messages import Outgoing
from feedback.quotation import quoted
from feedback.redaction import remember
from feedback.responder import run_as_cortex_job
from feedback.shown_text import one_line
from feedback.unreached import Failure
from testkit.cases import another_case, thehive4_case, thehive5_alert
from testkit.cortex import (
    ACKNOWLEDGE_MANIFEST,
    MANIFEST,
    JobResult,
    apply_operations,
    finish_job,
    read_output,
    run_job,
    start_job,
    wait_until_it_handles_sigterm,
    write_job,
)
from testkit.full_disk import fill
from testkit.interim_reports import interim_report
from testkit.raw_tcp import RawTcpServer
from testkit.records import failed, notified
from testkit.smtp_faults import PASSWORD, Faults

NOTHING_SENT = "Nothing was sent or tagged"


def job_processes() -> list[int]:
    """The jobs this test process started (Cortex's runner is the test itself): not the servers a session fixture
    of this worker started, which Cortex's SIGTERM would never reach."""
    script = json.loads(MANIFEST.read_text(encoding="utf-8"))["command"].encode()
    jobs = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                started = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:  # it ended since
                continue
            if any(part.endswith(script) for part in started):
                jobs.append(int(pid))
    return jobs


def terminate_jobs(signum: int = signal.SIGTERM) -> None:
    """Cortex's SIGTERM, or another signal (SIGINT: a Ctrl-C, for a job run by hand)."""
    for pid in job_processes():
        os.kill(pid, signum)


# --- Signals: what went out is always reported and recorded -------------------------------------


def test_sigterm_after_the_last_message_was_accepted_still_reports_and_records_it(cortex, smtp):
    # Many refused values make the report long to build: Cortex's SIGTERM lands while it is written.
    junk = [f"user_email:not-an-address-{i}" for i in range(40000)]
    smtp.faults.on_quit = lambda: threading.Timer(0.01, terminate_jobs).start()
    result = cortex(thehive4_case("Spam", ["alice@example.org"], tags=junk))

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    assert {"type": "AddTagToCase", "tag": "feedback_sent:alice@example.org"} in result.operations
    assert "sent to 1 reporter(s)" in result.output["full"]["message"]


def test_sigterm_while_the_server_decides_on_a_message_waits_for_its_verdict_and_records_it(cortex, smtp):
    # The server accepts the message after Cortex's SIGTERM came: giving up on it then would mail alice twice.
    smtp.faults.on_data, smtp.faults.verdict_delay = terminate_jobs, 0.5
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    assert notified(result) == ["alice@example.org"]
    assert {"type": "AddTagToCase", "tag": "feedback_sent:alice@example.org"} in result.operations
    [bob] = result.output["full"]["failed"]
    assert bob["address"] == "bob@example.org" and "Cortex stopped the job" in bob["reason"]


def test_sigterm_while_the_server_refuses_a_message_for_the_quota_leaves_the_quota_as_the_reason(cortex, smtp):
    """The quota ends the sending whatever Cortex asks: its reply, not the stop, is what the next run would meet."""

    def stopped_as_the_quota_is_reached():
        if smtp.delivered:
            terminate_jobs()
            time.sleep(0.5)  # the signal is in before the server's answer

    smtp.faults.limit_after, smtp.faults.on_data = 1, stopped_as_the_quota_is_reached
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org", "carol@example.org"]))

    assert result.success, result.error
    assert notified(result) == ["alice@example.org"]
    reasons = failed(result)
    assert set(reasons) == {"bob@example.org", "carol@example.org"}
    assert all("SubmissionQuotaExceededException" in reason for reason in reasons.values()), reasons
    assert "Cortex stopped the job" not in json.dumps(result.output)


def test_sigterm_while_the_server_decides_then_closes_the_session_stops_the_job_there(cortex, smtp):
    """A closed session is no reason to go on: Cortex's stop, held while the server decided, ends the sending."""

    def stopped_as_the_server_closes():
        if smtp.delivered:
            terminate_jobs()
            time.sleep(0.3)  # the signal is in before the server's answer

    smtp.faults.limit_after, smtp.faults.limit_reply = 1, "421 4.7.0 Try again later, closing connection"
    smtp.faults.on_data = stopped_as_the_server_closes
    result = cortex(
        thehive4_case("Spam", ["alice@example.org", "bob@example.org", "carol@example.org"]), smtp_retries=3
    )

    assert result.success, result.error
    assert notified(result) == ["alice@example.org"]
    reasons = failed(result)
    assert set(reasons) == {"bob@example.org", "carol@example.org"}
    assert all("Cortex stopped the job" in reason for reason in reasons.values()), reasons
    assert smtp.said.count("DATA") == 2, "no session after Cortex's stop"


REPORTERS = [f"reporter{n}@example.org" for n in range(5)]


@hypothesis.settings(
    max_examples=max(int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "150")) // 10, 5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stop_after=st.floats(0.3, 1.5), verdict_delay=st.floats(0.0, 0.3), pace=st.sampled_from([0, 240]))
def test_sigterm_at_any_moment_records_exactly_what_the_server_accepted(cortex, smtp, stop_after, verdict_delay, pace):
    smtp.faults, smtp.delivered[:] = Faults(verdict_delay=verdict_delay), []
    result = cortex(another_case(thehive4_case("Spam", REPORTERS)), smtp_max_per_minute=pace, stop_after=stop_after)

    assert result.output is not None, result.everything_printed()
    if not result.success:
        # Stopped before the first message went out: before the delivery began, or (on a busy machine) within it.
        before = "nothing was sent or tagged" in result.error
        within = result.error.startswith("No feedback was sent. Cortex stopped the job (its jobTimeout ran out)")
        assert smtp.delivered == [] and (before or within), result.error
        return
    mailed = notified(result)
    assert Counter(smtp.recipients()) == Counter(mailed)
    assert Counter(mailed + list(failed(result))) == Counter(REPORTERS)
    assert {f"feedback_sent:{a}" for a in mailed} <= set(result.tags)


def test_sigterm_before_sending_says_nothing_was_sent_or_tagged(cortex, smtp):
    with RawTcpServer("silent") as thehive:
        url = f"http://{thehive.host}:{thehive.port}"
        result = cortex(thehive4_case(), thehive_url=url, thehive_apikey="k3y", smtp_timeout=30, stop_after=1.5)

    assert result.output is not None, result.everything_printed()
    assert not result.success
    assert "before any feedback was sent: nothing was sent or tagged" in result.error
    assert smtp.delivered == []


def test_a_job_stopped_while_it_starts_ends_as_every_reported_job_does(tmp_path, job_config):
    """With code 0 once its report is written: Cortex's Kubernetes Job starts a pod that exited otherwise again."""
    with RawTcpServer("silent") as thehive:
        url = f"http://{thehive.host}:{thehive.port}"
        job = write_job(tmp_path, thehive4_case(), job_config(thehive_url=url, thehive_apikey="k3y"))
        process = start_job(job)
        while thehive.connections == 0 and process.poll() is None:
            time.sleep(0.05)
        process.terminate()
        result = finish_job(process, job)

    assert "before any feedback was sent: nothing was sent or tagged" in result.error
    assert process.returncode == 0


def test_ctrl_c_while_the_server_decides_on_a_message_waits_for_its_verdict_and_records_it(cortex, smtp):
    """Taken as Cortex's SIGTERM is, in its own words: a traceback in its place dropped the message the server then
    accepted, and the next run mailed that reporter again."""
    smtp.faults.on_data, smtp.faults.verdict_delay = lambda: terminate_jobs(signal.SIGINT), 0.5
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"] and notified(result) == ["alice@example.org"]
    [bob] = result.output["full"]["failed"]
    assert bob["reason"] == "The job was interrupted (SIGINT) before this feedback went out. Run the responder again."
    assert "Traceback" not in result.everything_printed()


def test_ctrl_c_before_sending_says_nothing_was_sent_or_tagged(cortex, smtp):
    with RawTcpServer("silent") as thehive:
        url = f"http://{thehive.host}:{thehive.port}"
        stop = {"stop_after": 1.5, "stop_signal": signal.SIGINT}
        result = cortex(thehive4_case(), thehive_url=url, thehive_apikey="k3y", smtp_timeout=30, **stop)

    assert result.error == (
        "The job was interrupted (SIGINT) before any feedback was sent: nothing was sent or tagged."
        " Run the responder again."
    )
    assert "Traceback" not in result.everything_printed() and smtp.delivered == []


def test_job_killed_while_it_loads_its_modules_leaves_a_report_that_says_nothing_was_sent(tmp_path, job_config):
    job = write_job(tmp_path, thehive4_case(), job_config())
    process = start_job(job)
    wait_until_it_handles_sigterm(process)
    process.kill()
    result = finish_job(process, job)

    assert result.output is not None, f"no report: Cortex would show {result.everything_printed()!r}"
    assert not result.success and "nothing was sent or tagged" in result.error


def test_job_killed_while_sending_leaves_a_report_that_says_so(tmp_path, job_config):
    # Cortex's docker runner kills the container at jobTimeout: no SIGTERM, no chance to write.
    with RawTcpServer("silent") as silent:
        job = write_job(tmp_path, thehive4_case(), job_config(smtp_port=silent.port, smtp_timeout=30))
        process = start_job(job)
        deadline = time.monotonic() + 30
        while silent.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.kill()
        result = finish_job(process, job)

    assert result.output is not None, result.everything_printed()
    assert result.output["success"] is False
    assert "ended while the messages were going out" in result.error
    assert f"Look in the log of the SMTP server 127.0.0.1:{silent.port} before running" in result.error


def killed_with_the_second_message_at_the_server(job: Path, smtp) -> JobResult:
    """The job killed as Cortex's docker runner kills it while the stalled server holds its second message: the
    first was accepted, and the server will refuse the second whatever the test changes afterwards."""
    messages = threading.Semaphore(0)
    smtp.faults.stall_after, smtp.faults.on_data = 1, messages.release
    process = start_job(job)
    for _ in range(2):
        assert messages.acquire(timeout=30), "the job sent no second message"
    process.kill()
    return finish_job(process, job)


def test_job_killed_after_a_reporter_was_mailed_still_records_them_and_the_next_run_mails_only_the_others(
    tmp_path, job_config, smtp
):
    # Cortex's docker runner kills at the responder's Job timeout, which may come before the jobTimeout it plans for.
    case = thehive4_case("Spam", ["alice@example.org", "bob@example.org", "carol@example.org"])
    killed = killed_with_the_second_message_at_the_server(
        write_job(tmp_path / "first", case, job_config(smtp_timeout=30)), smtp
    )

    assert killed.success, killed.everything_printed()
    said = killed.output["full"]["message"]
    assert "ended while the messages were going out, after 1 of the 3 reporter(s)" in said
    assert "It mails the 2 others" in said
    assert {"feedback_sent:alice@example.org", "mail sent", "mail failed"} <= set(killed.tags)
    assert not any("bob@example.org" in tag or "carol@example.org" in tag for tag in killed.tags)

    smtp.faults.stall_after = -1
    again = run_job(tmp_path / "second", apply_operations(case, killed), job_config())

    assert again.success, again.error
    assert smtp.recipients() == ["alice@example.org", "bob@example.org", "carol@example.org"]


def test_the_report_a_kill_leaves_once_every_reporter_was_mailed_says_nobody_is_left(tmp_path, job_config, monkeypatch):
    interim = interim_report(job_config, tmp_path, monkeypatch)
    interim.accepted(Outgoing("alice@example.org", "<1@example.org>", None), datetime.now(timezone.utc))

    output, _ = read_output(tmp_path)
    assert output["success"] is True
    assert output["full"]["message"].startswith("Phish_Feedback was ended after all 1 reporter(s) were mailed")
    assert "twice" not in output["full"]["message"]
    assert [op["tag"] for op in output["operations"]][-1] == "mail sent"


def test_the_report_a_kill_leaves_once_the_only_message_went_unanswered_says_none_was_accepted(
    tmp_path, job_config, monkeypatch
):
    """Alice's message went whole with no answer, and the job is killed before its final report: the report records
    her as feedback_unsure, and must not say that anyone mailed is recorded."""
    interim = interim_report(job_config, tmp_path, monkeypatch)
    interim.unsure(Failure("alice@example.org", "no answer", True, False))

    output, _ = read_output(tmp_path)
    assert output["success"] is True
    said = output["full"]["message"]
    assert said.startswith(
        "Phish_Feedback was ended after its last message went, before its report was written: the mail service had"
        " accepted none."
    ), said
    assert "mailed are recorded" not in said
    assert [op["tag"] for op in output["operations"]] == ["feedback_unsure:alice@example.org"]


def test_a_bug_once_a_message_was_accepted_keeps_its_record_and_says_it_is_a_bug(tmp_path, job_config, monkeypatch):
    """The record written as the service accepted alice's message must reach TheHive whatever fails after it."""
    job = write_job(tmp_path, thehive4_case("Spam"), job_config())
    interim = interim_report(job_config, job, monkeypatch)

    def respond(cortex_job):
        interim.accepted(Outgoing("alice@example.org", "<1@example.org>", None), datetime.now(timezone.utc))
        interim.unsure(Failure("bob@example.org", "no answer", True, False))
        raise RuntimeError("a bug in the final report")

    run_as_cortex_job(respond)

    output, _ = read_output(job)
    assert output["success"] is True
    assert {"feedback_sent:alice@example.org", "mail sent"} <= {op["tag"] for op in output["operations"]}
    assert output["full"]["message"].startswith("Phish_Feedback stopped on an unexpected RuntimeError at test_hostile")
    assert "those the mail service accepted are recorded" in output["full"]["message"]
    assert "the whole message to bob@example.org and never answered" in output["full"]["message"], "look first"


def test_a_bug_before_any_message_was_accepted_says_nothing_was_tagged(tmp_path, job_config, monkeypatch):
    job = write_job(tmp_path, thehive4_case("Spam"), job_config())
    monkeypatch.setattr(sys, "argv", ["phish_feedback.py", str(job)])

    run_as_cortex_job(lambda cortex_job: {}["a bug"])

    output, _ = read_output(job)
    assert output["success"] is False
    assert output["errorMessage"].startswith("Phish_Feedback stopped on an unexpected KeyError at test_hostile")
    assert "Nothing was tagged" in output["errorMessage"]


def test_the_report_a_kill_leaves_tags_the_case_mail_sent_though_a_secret_of_the_configuration_reads_so(
    tmp_path, job_config, monkeypatch
):
    """A secret of the configuration, 'mailsent', is 'mail sent' with its white space changed: the final report keeps
    the case's own tags whole, and the report a kill leaves must too."""
    remember("mailsent")
    interim = interim_report(job_config, tmp_path, monkeypatch)

    interim.accepted(Outgoing("alice@example.org", "<1@example.org>", None), datetime.now(timezone.utc))

    output, _ = read_output(tmp_path)
    assert [op["tag"] for op in output["operations"]][-1] == "mail sent"


def test_the_report_a_kill_leaves_keeps_its_records_whole_though_a_secret_learnt_equals_a_word_of_them(
    tmp_path, job_config, monkeypatch
):
    interim = interim_report(job_config, tmp_path, monkeypatch)
    remember("feedback_sent")  # a token a service handed out that happens to be a word of the record

    interim.accepted(Outgoing("alice@example.org", "<1@example.org>", None), datetime.now(timezone.utc))

    output, _ = read_output(tmp_path)
    assert "feedback_sent:alice@example.org" in [op["tag"] for op in output["operations"]]


def test_acknowledgement_killed_after_a_reporter_was_acknowledged_records_only_them(tmp_path, job_config, smtp):
    case = thehive4_case(None, ["alice@example.org", "bob@example.org"])
    job = write_job(tmp_path, case, job_config(ACKNOWLEDGE_MANIFEST, smtp_timeout=30))
    killed = killed_with_the_second_message_at_the_server(job, smtp)

    assert killed.success, killed.everything_printed()
    assert [tag.split(":")[0] for tag in killed.tags] == ["feedback_ack", "feedback_ack_at"]
    assert "alice@example.org" in killed.tags[0]


# --- The job's folder ---------------------------------------------------------------------------


def test_output_folder_that_cannot_be_written_is_found_before_any_message(tmp_path, job_config, smtp):
    job = write_job(tmp_path, thehive4_case(), job_config())
    (job / "output").write_text("a file where Cortex's output folder should be")
    result = finish_job(start_job(job), job)

    assert smtp.delivered == []
    assert "cannot write its report" in result.stderr and "sent nothing" in result.stderr
    assert "Traceback" not in result.everything_printed()


def test_a_report_that_cannot_be_written_at_the_end_is_printed_without_the_password(tmp_path, job_config, smtp):
    job = write_job(tmp_path, thehive4_case("Spam", ["bob@example.org"]), job_config(smtp_retries=0))
    smtp.faults.refuse["bob@example.org"] = f"550 5.1.1 No such user here (you logged in as {PASSWORD})"

    def output_made_unwritable():
        (job / "output" / "output.json").unlink()
        (job / "output" / "output.json").mkdir()
        (job / "output" / "output.json" / "kept").write_text("")

    smtp.faults.on_quit = output_made_unwritable
    result = finish_job(start_job(job), job)

    assert "No such user here" in result.stderr, result.everything_printed()
    assert PASSWORD not in result.everything_printed()


def test_a_report_that_cannot_be_written_after_messages_went_prints_whom_the_job_mailed(tmp_path, job_config, smtp):
    """No output.json at all: Cortex shows what the job printed (docs/cortex-and-thehive.md §1), the record to enter."""
    reporters = ["alice@example.org", "bob@example.org"]
    job = write_job(tmp_path, thehive4_case("Spam", reporters), job_config())

    def output_made_unwritable():
        if not smtp.delivered:
            (job / "output" / "output.json").unlink()
            (job / "output" / "output.json").mkdir()
            (job / "output" / "output.json" / "kept").write_text("")

    smtp.faults.on_data = output_made_unwritable
    result = finish_job(start_job(job), job)

    assert smtp.recipients() == ["alice@example.org"], "bob is not mailed once nothing can record him"
    assert result.output is None
    assert "Tag the case by hand with: feedback_sent:alice@example.org" in result.stderr, result.everything_printed()
    assert "feedback_failed:bob@example.org" in result.stderr and "Traceback" not in result.everything_printed()
    assert "lest a reporter be mailed and not recorded" in result.stderr


@pytest.mark.slow
def test_a_disk_that_fills_up_during_a_large_campaign_stops_the_sending_and_records_everyone_it_mailed(
    on_a_full_disk, smtp
):
    """Past what the room the job reserved can hold, the report cannot be written whole again: nothing more goes out,
    lest a reporter be mailed and not recorded, and the report on disk, filled in place, records the last one mailed
    and says why the job stopped."""
    campaign = [f"user{i:04d}@example.org" for i in range(2000)]
    job = on_a_full_disk(thehive4_case("Spam", campaign), "4m")
    smtp.faults.on_data = lambda: fill(job / "output") if not smtp.delivered else None
    result = finish_job(start_job(job), job, timeout=300)

    mailed = smtp.recipients()
    assert 0 < len(mailed) < len(campaign)
    assert result.success, result.everything_printed()[-2000:]
    assert [tag.removeprefix("feedback_sent:") for tag in result.tags if tag.startswith("feedback_sent:")] == mailed
    assert {"mail sent", "mail failed"} <= set(result.tags)
    said = result.output["full"]["message"]
    assert said.startswith("Phish_Feedback could not write the report that records each reporter"), said
    assert f"{len(mailed)} of the 2000 reporter(s) were mailed: those are recorded" in said
    assert f"it mails the {2000 - len(mailed)} others" in said


@pytest.mark.parametrize("size", ["256k", "8k"], ids=["room-reserved", "a-page-reserved"])
def test_a_disk_that_fills_up_while_messages_go_out_still_records_whom_the_job_mailed(on_a_full_disk, smtp, size):
    """Full from the first message on: no room left for the second copy of the report that replaces it, but the room
    the job reserved (all it asked for, or the one page left at its start)."""
    job = on_a_full_disk(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), size)
    smtp.faults.on_data = lambda: fill(job / "output") if not smtp.delivered else None
    result = finish_job(start_job(job), job)

    assert smtp.recipients() == ["alice@example.org", "bob@example.org"]
    assert result.success, result.everything_printed()
    assert {"feedback_sent:alice@example.org", "feedback_sent:bob@example.org", "mail sent"} <= set(result.tags)
    assert result.output["full"]["message"] == "Feedback 'Spam' sent to 2 reporter(s)."


def test_a_campaign_of_a_hundred_and_fifty_reporters_on_a_disk_full_from_its_first_message_mails_and_records_them_all(
    on_a_full_disk, smtp
):
    """The room the job reserves at its start holds a report of some 300 reporters' records: on a disk another
    program fills as the first message goes out, every report after it is written in that room, and the campaign
    goes on to its end."""
    campaign = [f"user{i:03d}@example.org" for i in range(150)]
    job = on_a_full_disk(thehive4_case("Spam", campaign), "512k")
    smtp.faults.on_data = lambda: fill(job / "output") if not smtp.delivered else None
    result = finish_job(start_job(job), job, timeout=120)

    assert smtp.recipients() == campaign
    assert result.success, result.everything_printed()[-2000:]
    assert [tag.removeprefix("feedback_sent:") for tag in result.tags if tag.startswith("feedback_sent:")] == campaign
    assert result.output["full"]["message"] == "Feedback 'Spam' sent to 150 reporter(s)."


@pytest.mark.parametrize("size", ["256k", "8k"], ids=["room-reserved", "a-page-reserved"])
def test_a_campaign_on_a_disk_that_fills_up_grows_its_report_without_taking_the_room_its_records_need(
    on_a_full_disk, smtp, size
):
    """The report a kill leaves is given blank room to grow in only where the disk has it to spare: another program
    takes every page freed as the messages go out."""
    campaign = [f"user{i}@example.org" for i in range(6)]
    job = on_a_full_disk(thehive4_case("Spam", campaign), size)
    smtp.faults.on_data = lambda: fill(job / "output")
    result = finish_job(start_job(job), job)
    assert smtp.recipients() == campaign
    assert result.success, result.everything_printed()
    assert {f"feedback_sent:{address}" for address in campaign} <= set(result.tags)


@pytest.mark.parametrize("verdict", ["Spam", "Nonsense"], ids=["sent", "refused"])
def test_a_job_leaves_its_report_alone_in_the_output_folder(tmp_path, job_config, smtp, verdict):
    """The room reserved for a full disk is given back however the job ends."""
    job = write_job(tmp_path, thehive4_case(verdict), job_config())
    result = finish_job(start_job(job), job)

    assert result.output is not None and result.success == (verdict == "Spam")
    assert [entry.name for entry in (job / "output").iterdir()] == ["output.json"]


def test_a_full_disk_with_no_room_for_the_whole_report_still_takes_its_records(on_a_full_disk, smtp):
    """A thousand long refused values make the report longer than the room the job reserved; the records fit."""
    junk = [f"user_email:not-an-address-{i}-{'x' * 300}" for i in range(1000)]
    job = on_a_full_disk(thehive4_case("Spam", ["alice@example.org"], tags=junk))
    smtp.faults.on_data = lambda: fill(job / "output")
    result = finish_job(start_job(job), job)

    assert smtp.recipients() == ["alice@example.org"]
    assert result.success, result.everything_printed()
    assert {"feedback_sent:alice@example.org", "mail sent"} <= set(result.tags)
    assert result.output["full"]["message"].endswith("could not be written (No space left on device).")


def test_a_final_report_too_large_for_the_disk_still_records_whom_the_job_mailed(tmp_path, job_config, smtp):
    # A file size limit stands for a nearly full disk: the report of a thousand long refused values is past it, its
    # records not.
    limited = tmp_path / "limited"
    limited.mkdir()
    (limited / "python3").write_text(
        "#!/bin/sh\n"
        f"exec '{sys.executable}' -c 'import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (200000,"
        f" 200000)); os.execv(sys.argv[1], sys.argv[1:])' '{sys.executable}' \"$@\"\n"
    )
    (limited / "python3").chmod(0o755)
    junk = [f"user_email:not-an-address-{i}-{'x' * 300}" for i in range(1000)]
    case = thehive4_case("Spam", ["alice@example.org"], tags=junk)
    result = run_job(tmp_path / "job", case, job_config(), python_dir=limited)

    assert smtp.recipients() == ["alice@example.org"]
    assert result.success, result.everything_printed()
    assert "feedback_sent:alice@example.org" in result.tags and "mail sent" in result.tags
    assert "The rest of the report could not be written" in result.output["full"]["message"]


def test_output_json_that_cannot_be_replaced_is_found_before_any_message(tmp_path, job_config, smtp):
    job = write_job(tmp_path, thehive4_case(), job_config())
    (job / "output" / "output.json").mkdir(parents=True)
    result = finish_job(start_job(job), job)

    assert smtp.delivered == []
    assert "cannot write its report" in result.stderr
    assert "Traceback" not in result.everything_printed()


def edited(job: Path, change) -> None:
    """The job's input with one value changed by `change(input)`."""
    path = job / "input" / "input.json"
    job_input = json.loads(path.read_text())
    change(job_input)
    path.write_text(json.dumps(job_input))


WRONG_TYPE = "tlp, pap, config.max_tlp and config.max_pap must be numbers"


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda job: (job / "input" / "input.json").unlink(), "does not exist"),
        (lambda job: (job / "input" / "input.json").write_text('{"data": {"title": '), "cannot be read"),
        (lambda job: (job / "input" / "input.json").write_bytes(b'{"data": "\xff\xfe"}'), "cannot be read"),
        (lambda job: (job / "input" / "input.json").write_text("[1, 2]"), "cannot be read"),
        (lambda job: (job / "input" / "input.json").write_text("[" * 100_000 + "]" * 100_000), "nested too deeply"),
        (lambda job: edited(job, lambda i: i.update(tlp="AMBER")), WRONG_TYPE),
        (lambda job: edited(job, lambda i: i["config"].update(max_tlp="2")), WRONG_TYPE),
        (lambda job: edited(job, lambda i: i["config"].update(proxy={"http": 3128})), WRONG_TYPE),
    ],
    ids=["missing", "truncated", "not_utf8", "not_an_object", "nested", "tlp_text", "max_tlp_text", "proxy_number"],
)
def test_unreadable_input_is_an_error_about_the_input_that_says_nothing_was_sent(
    tmp_path, job_config, smtp, damage, says
):
    job = write_job(tmp_path, thehive4_case(), job_config())
    damage(job)
    result = finish_job(start_job(job), job)

    assert result.output is not None and result.output["success"] is False, result.everything_printed()
    assert says in result.error and NOTHING_SENT in result.error
    assert "unexpected" not in result.error and "please report" not in result.error.lower()
    assert smtp.delivered == []


def test_missing_job_folder_is_an_error_about_the_input(tmp_path, smtp):
    job = tmp_path / "no-such-job"
    result = finish_job(start_job(job), job)

    assert result.output is not None, result.everything_printed()
    assert "input.json does not exist" in result.error and NOTHING_SENT in result.error


# --- Hostile values -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["x@[", "a@[1.2.3.4"])
def test_reporter_value_the_address_parser_chokes_on_is_refused_and_the_others_mailed(cortex, smtp, value):
    result = cortex(thehive4_case("Spam", [value, "alice@example.org"]))

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    assert [r["value"] for r in result.output["full"]["refused"]] == [value]


@pytest.mark.parametrize(
    "value",
    [
        '"alice@example.org>, <mallory@evil.example"@example.org',
        '"a;b:c"@example.org',
        '"a\\"b"@example.org',
        '"alice,mallory"@example.org',
    ],
    ids=["another-address", "list-separators", "escaped-quote", "comma"],
)
def test_a_reporter_whose_quoted_local_part_could_read_as_another_address_is_refused(cortex, smtp, value):
    """Graph and the Gmail API take the recipients from the message's To: a parser less careful than Python's with
    quotes would mail another address."""
    result = cortex(thehive4_case("Spam", [value, "bob@example.org"]), manifest=ACKNOWLEDGE_MANIFEST)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    [refused] = result.output["full"]["refused"]
    assert refused["value"] == value and "a mail service may read as another address" in refused["reason"]


@pytest.mark.parametrize(
    "value", ["victim%attacker.example@example.org", "attacker.example!victim@example.org"], ids=["percent", "bang"]
)
def test_a_reporter_a_relay_would_route_to_another_domain_is_refused_though_the_domain_is_allowed(cortex, smtp, value):
    """Postfix, by default, rewrites both to victim@attacker.example: allowed_recipient_domains would be no bar."""
    alert = thehive5_alert(None, [value, "bob@example.org"])
    result = cortex(
        alert, data_type="thehive:alert", manifest=ACKNOWLEDGE_MANIFEST, allowed_recipient_domains=["example.org"]
    )

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    [refused] = result.output["full"]["refused"]
    assert refused["value"] == value and "a relay may route it to another domain" in refused["reason"]


@pytest.mark.parametrize(
    "value",
    ["alice@-example.org", "alice@example-.org", "alice@example.-org", "alice@10.0.0.25", "alice@127.0.0.1"],
    ids=["label-begins-with-dash", "label-ends-with-dash", "top-label-begins-with-dash", "ip", "loopback"],
)
def test_a_reporter_whose_domain_is_no_host_name_is_refused_and_the_others_mailed(cortex, smtp, value):
    """No relay delivers to such a domain, so every run would try again and fail; and where a relay reads a bare IP
    address as the address literal `[10.0.0.25]` (Postfix's resolve_numeric_domain), the message would go to the host
    whoever wrote the tag chose."""
    result = cortex(thehive4_case("Spam", [value, "bob@example.org"]))

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    [refused] = result.output["full"]["refused"]
    assert refused["value"] == value and "its domain is not a host name" in refused["reason"]


@pytest.mark.parametrize("value", ['"alice."@example.org', '".alice"@example.org', '"al..ice"@example.org'])
def test_a_reporter_whose_quoted_local_part_holds_dots_only_quotes_allow_is_refused(cortex, smtp, value):
    """The parser drops quotes that a plain name would not need: `"alice."` would reach the server as `alice.@`, which
    no relay needs to take, and the reporter would fail at every run."""
    result = cortex(thehive4_case("Spam", [value, "bob@example.org"]))

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    [refused] = result.output["full"]["refused"]
    assert refused["value"] == value and "which only quotes allow" in refused["reason"]


def test_lone_surrogates_and_control_characters_in_the_case_are_replaced(cortex, smtp):
    title = "Phishing report: Invoice \ud83d overdue\x00\x1b[31m\x7f\x9b1m\x90"
    result = cortex(thehive4_case("Spam", title=title), subject="Re: {reported_subject}")

    assert result.success, result.error
    message = smtp.delivered[0].message
    assert message["Subject"] == "Re: Invoice \ufffd overdue\ufffd\ufffd[31m\ufffd\ufffd1m\ufffd"
    assert "Invoice \ufffd overdue" in message.get_body(("plain",)).get_content()


def test_input_nested_as_deep_as_json_allows_is_echoed_cut_with_the_error(tmp_path, job_config, smtp):
    job = write_job(tmp_path, {**thehive4_case(None), "severity": "DEEP"}, job_config())
    path = job / "input" / "input.json"
    path.write_text(path.read_text().replace('"DEEP"', "[" * 900 + "]" * 900))
    result = finish_job(start_job(job), job)

    assert result.output["success"] is False and "custom field" in result.error
    assert "…" in json.dumps(result.output["input"]["data"]["severity"], ensure_ascii=False)


def test_output_is_strict_json_even_when_the_input_holds_a_number_json_cannot_write(tmp_path, job_config, smtp):
    job = write_job(tmp_path, {**thehive4_case(None), "severity": "HUGE"}, job_config())
    path = job / "input" / "input.json"
    path.write_text(path.read_text().replace('"HUGE"', "1e400"))
    result = finish_job(start_job(job), job)

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    output = json.loads(result.raw_output, parse_constant=refuse)
    assert output["success"] is False and "custom field" in output["errorMessage"]
    assert output["input"]["data"]["severity"] == "inf"


def test_lone_surrogates_and_control_characters_in_the_configured_texts_are_replaced(cortex, smtp):
    result = cortex(
        thehive4_case("Spam"),
        **{"from": "SOC \ud800 <soc@example.org>"},
        subject="Re\x07: {reported_subject}",
        signature="The \udfff SOC",
        template_spam="Hello\x00 {reporter}\n\n{signature}",
    )

    assert result.success, result.error
    message = smtp.delivered[0].message
    assert message["Subject"] == "Re\ufffd: Invoice overdue"
    assert "Hello\ufffd alice@example.org" in message.get_body(("plain",)).get_content()
    assert "The \ufffd SOC" in message.get_body(("plain",)).get_content()


# --- Encoded words in the case: headers and body stay ours -------------------------------------

# An RFC 2047 encoded word that decodes to a line break, a Reply-To and an HTML body of the attacker's.
SMUGGLED = "\r\nReply-To: evil@evil.example\r\nContent-Type: text/html\r\n\r\n<h1>owned</h1>"
ENCODED_WORD = f"=?utf-8?b?{base64.b64encode(SMUGGLED.encode()).decode()}?="
OUR_HEADERS = sorted(
    ("Subject", "From", "To", "Date", "Message-ID", "Auto-Submitted", "X-Auto-Response-Suppress", "Content-Language")
    + ("Content-Type", "MIME-Version")
)
FLAVOURS = pytest.mark.parametrize("manifest", [MANIFEST, ACKNOWLEDGE_MANIFEST], ids=["verdict", "acknowledge"])


def assert_only_our_headers_and_body(message, subject: str) -> None:
    assert sorted(message.keys()) == OUR_HEADERS
    assert message["Subject"] == subject
    assert message["Reply-To"] is None
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message.get_body(("plain",)).get_content().startswith("Hello,")
    page = message.get_body(("html",)).get_content()
    assert page.startswith("<!DOCTYPE html>") and "<h1>" not in page


@FLAVOURS
@pytest.mark.parametrize("placeholder", ["{reported_subject}", "{case_title}"])
def test_encoded_word_in_the_title_is_shown_literally_and_adds_no_header_or_body(
    cortex, way_out, manifest, placeholder
):
    title = f"Phishing report: {ENCODED_WORD}"
    case = thehive4_case("Spam", title=title)
    result = cortex(case, manifest=manifest, subject=f"Re: {placeholder}", **way_out.items)

    assert result.success, result.error
    shown = ENCODED_WORD if placeholder == "{reported_subject}" else title
    assert_only_our_headers_and_body(way_out.accepted()[0], f"Re: {shown}")


def encoded_words(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode('utf-8', 'surrogatepass')).decode()}?="


TITLE_TEXTS = st.one_of(
    st.text(),
    st.lists(st.one_of(st.text(), st.text().map(encoded_words), st.sampled_from(["\r\n", "=?", "?=", "\n\n"]))).map(
        "".join
    ),
)


@hypothesis.settings(
    max_examples=max(int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "150")) // 10, 5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TITLE_TEXTS)
def test_whatever_the_title_holds_the_message_has_our_headers_and_our_body(cortex, smtp, text):
    smtp.delivered[:] = []
    title = f"Phishing report: {text}"
    result = cortex(another_case(thehive4_case("Spam", title=title)), subject="{case_title}")

    assert result.success, result.error
    message = smtp.delivered[0].message
    shown, subject = quoted(one_line(title)), message["Subject"]
    # The title as messages quote it (its links defanged), cut short in the Subject where it is long.
    assert subject == (shown if len(shown) <= 200 else f"{shown[:199].rstrip()}…")
    assert_only_our_headers_and_body(message, subject)


def test_the_report_a_kill_leaves_midway_says_where_to_look_for_the_message_in_flight(tmp_path, job_config, smtp):
    case = thehive4_case("Spam", ["alice@example.org", "bob@example.org", "carol@example.org"])
    killed = killed_with_the_second_message_at_the_server(write_job(tmp_path, case, job_config(smtp_timeout=30)), smtp)

    assert killed.success, killed.everything_printed()
    said = killed.output["full"]["message"]
    assert f"may get it twice (the log of the SMTP server 127.0.0.1:{smtp.port} says)" in said, said
