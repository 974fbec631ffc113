"""Two jobs on one case on the same Cortex host: an analyst who clicks again while the first job sends, or before
TheHive has added its tags. TheHive hands each job the case as it was at the click, so the second one's case shows
none of the first one's records. Every job runs as Cortex's process runner runs it, its folder beside the others in
one job directory."""

from __future__ import annotations

import copy
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from werkzeug import Response

from feedback import case_journals, recent_records, stopping
from feedback.case import read_report
from feedback.concurrent_jobs import take_turn
from feedback.tags import verdict_tag
from testkit.cases import another_case, thehive4_case, thehive40_case
from testkit.cortex import (
    ACKNOWLEDGE_MANIFEST,
    apply_operations,
    finish_job,
    read_output,
    start_job,
    write_job,
)
from testkit.full_disk import fill
from testkit.smtp_faults import Faults
from testkit.thehive40_tags import stored

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"


def shared_folder(job_directory: Path) -> Path:
    """Where the jobs of the Cortex user meet, in Cortex's job directory (docs/exactly-once.md)."""
    return job_directory / f".phish_feedback-{os.geteuid()}"


def wait_until_it_opened(process, folder: Path) -> None:
    """Until the job has opened a file in `folder`: the case's, whose lock it then waits for."""
    limit = time.monotonic() + 60
    while not any(link.resolve().parent == folder for link in Path(f"/proc/{process.pid}/fd").iterdir()):
        assert process.poll() is None and time.monotonic() < limit
        time.sleep(0.05)


def started_and_sending(tmp_path: Path, case: dict, config: dict, smtp, first: str = ALICE):
    """A job started on the case, once the server has accepted its message to `first` and the job has recorded them:
    the server holds a message as accepted a moment before the job has its answer, and a kill in that moment leaves
    that reporter unrecorded (docs/exactly-once.md)."""
    folder = write_job(tmp_path, case, config)
    process = start_job(folder)
    limit = time.monotonic() + 60
    while not (first in smtp.recipients() and f"feedback_sent:{first}" in recorded_so_far(folder)):
        assert process.poll() is None and time.monotonic() < limit, finish_job(process, folder).everything_printed()
        time.sleep(0.05)
    return process, folder


def second_click_while_held(tmp_path: Path, case: dict, config: dict, released: threading.Event):
    """A second job on the case, started while the first is held mid-send (`Faults.rcpt_held_for`), the first let go
    once the second has waited for its turn a second: however slowly a busy machine starts the second."""
    folder = write_job(tmp_path, case, config)
    process = start_job(folder)
    wait_until_it_opened(process, shared_folder(tmp_path))
    time.sleep(1)  # from opening the case's file to trying its lock: a few instructions
    released.set()
    return finish_job(process, folder)


def recorded_so_far(folder: Path) -> list[str]:
    """The records in the report the job keeps as it sends, read while it may be writing."""
    try:
        output, _ = read_output(folder)
    except ValueError:  # read halfway through a write in place
        return []
    return [operation.get("tag") for operation in (output or {}).get("operations", [])]


def test_a_second_click_while_the_first_job_sends_mails_each_reporter_once(tmp_path, job_config, smtp):
    """The first job is held at bob until the second waits for its turn: a busy machine may take seconds to start
    the second, which must still find the first sending."""
    released = threading.Event()
    smtp.faults = Faults(rcpt_held_for={BOB: released})
    case = thehive4_case("Spam", [ALICE, BOB, CAROL])
    first, folder = started_and_sending(tmp_path, case, job_config(), smtp)

    second = second_click_while_held(tmp_path, case, job_config(), released)
    first_result = finish_job(first, folder)

    assert first_result.success and second.success, second.error
    smtp.assert_each_got_exactly_one([ALICE, BOB, CAROL])
    assert (
        second.output["full"]["message"]
        == "All 3 reporter(s) of this case were already notified; nothing was sent. See the 1 warning(s)."
    )
    [waited] = second.output["full"]["warnings"]
    assert waited.startswith("Another Phish_Feedback job was answering this case when this one started: this one")
    records = [tag for tag in first_result.tags if tag.startswith(("feedback_sent:", "feedback_verdict:"))]
    assert len(records) == 6 and sorted(second.tags) == sorted(records)  # theirs, should TheHive never add the first's


def test_a_job_started_before_thehive_added_the_last_ones_tags_mails_nobody_again(cortex, smtp):
    case = thehive4_case("Spam", [ALICE, BOB])
    assert cortex(case).success

    again = cortex(case)

    assert again.success, again.error
    smtp.assert_each_got_exactly_one([ALICE, BOB])
    assert (
        again.output["full"]["message"]
        == "All 2 reporter(s) of this case were already notified; nothing was sent. See the 1 warning(s)."
    )


def test_a_reporter_whose_tag_was_taken_off_once_the_case_showed_the_records_is_mailed_again(cortex, smtp):
    case = thehive4_case("Spam", [ALICE, BOB])
    recorded = apply_operations(case, cortex(case))
    recorded["tags"].remove(f"feedback_sent:{ALICE}")

    again = cortex(recorded)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, BOB, ALICE]


def test_the_records_of_a_job_killed_midway_spare_its_reporters_the_next_run(tmp_path, job_config, cortex, smtp):
    """Cortex kills a job without a word at the responder's Job timeout; it then reads the report the job left, and
    TheHive adds its tags some seconds later. A job started meanwhile mails only those the killed one had not
    reached."""
    smtp.faults = Faults(rcpt_delay_for={BOB: 30.0})
    case = thehive4_case("Spam", [ALICE, BOB, CAROL])
    first, folder = started_and_sending(tmp_path, case, job_config(smtp_timeout=60), smtp)
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)
    smtp.faults = Faults()

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, BOB, CAROL]


def test_jobs_on_two_cases_go_out_side_by_side(tmp_path, job_config, cortex, smtp):
    smtp.faults = Faults(rcpt_delay_for={BOB: 40.0})
    first, folder = started_and_sending(
        tmp_path, thehive4_case("Spam", [ALICE, BOB]), job_config(smtp_timeout=60), smtp
    )

    other = cortex(another_case(thehive4_case("Spam", [CAROL])))

    assert first.poll() is None, "the job on the other case waited for the first"
    assert other.success, other.error
    assert not other.output["full"]["warnings"]
    smtp.assert_each_got_exactly_one([ALICE, CAROL])
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)


def test_a_dry_run_waits_for_no_job(tmp_path, job_config, cortex, smtp):
    smtp.faults = Faults(stall_after=1, stall_for=40.0)  # the message to bob, held at its end; a dry run sends none
    case = thehive4_case("Spam", [ALICE, BOB])
    first, folder = started_and_sending(tmp_path, case, job_config(), smtp)

    preview = cortex(case, dry_run=True)

    assert first.poll() is None, "the dry run waited for the job"
    assert preview.success, preview.error
    assert not preview.output["full"]["warnings"]
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)


@pytest.mark.slow
def test_a_job_that_waited_half_its_time_for_another_sends_nothing_and_says_why(tmp_path, job_config, cortex, smtp):
    """jobTimeout 1 minute: the job plans 48 s, and gives the other job 24 of them."""
    smtp.faults = Faults(rcpt_delay_for={BOB: 40.0})
    case = thehive4_case("Spam", [ALICE, BOB, CAROL])
    first, folder = started_and_sending(tmp_path, case, job_config(smtp_timeout=60), smtp)

    second = cortex(case, jobTimeout=1)

    assert not second.success
    assert second.error.startswith(
        "Another Phish_Feedback job on this case was still going when this one had waited half its time for it, so"
        " this one sent nothing. Run the responder again once that job has ended and its tags are on the case"
    )
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)
    assert smtp.recipients() == [ALICE]


def age_records(job_directory: Path, minutes: float = 16) -> None:
    """The records the jobs wrote beside their reports, as so many minutes later."""
    past = time.time() - minutes * 60
    for journal in shared_folder(job_directory).iterdir():
        lines = [json.loads(line) for line in journal.read_text().splitlines() if line]
        journal.write_text("".join("\n" + json.dumps([job, past, tag]) for job, _, tag in lines))
        os.utime(journal, (past, past))


def shift_records(job_directory: Path, minutes: float) -> None:
    """The records the jobs wrote beside their reports, each as written so many minutes earlier, in the same file: a
    job may still hold it."""
    for journal in shared_folder(job_directory).iterdir():
        lines = [json.loads(line) for line in journal.read_text().splitlines() if line]
        with open(journal, "r+") as file:
            file.truncate(0)
            file.write("".join("\n" + json.dumps([job, at - minutes * 60, tag]) for job, at, tag in lines))
        past = time.time() - minutes * 60
        os.utime(journal, (past, past))


def killed_long_after_its_last_record(tmp_path: Path, config: dict, smtp) -> dict:
    """A job whose server stalled for a quarter of an hour after alice's message, then killed without a word: TheHive
    adds its records seconds later. Its case."""
    smtp.faults = Faults(rcpt_delay_for={BOB: 40.0})
    case = thehive4_case("Spam", [ALICE, BOB])
    first, folder = started_and_sending(tmp_path, case, config, smtp)
    shift_records(tmp_path, minutes=16)
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)
    smtp.faults = Faults()
    return case


def said_until(warning: str) -> float:
    """How many seconds from now the time a warning names, after which the records it counted count no more."""
    day, said = re.search(r"after ([0-9-]{10} )?([0-9:]{8}) UTC", warning).groups()
    now = datetime.now(timezone.utc)
    date = datetime.strptime(day, "%Y-%m-%d ").date() if day else now.date()
    return (datetime.combine(date, datetime.strptime(said, "%H:%M:%S").time(), timezone.utc) - now).total_seconds()


def test_the_records_of_a_job_killed_long_after_its_last_one_count_a_quarter_of_an_hour_from_the_next_job(
    tmp_path, job_config, cortex, smtp
):
    """The next job on the case, started in those seconds, mails only bob: it holds the lock the kill released."""
    case = killed_long_after_its_last_record(tmp_path, job_config(smtp_timeout=60), smtp)

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, BOB]
    [counted] = again.output["full"]["warnings"]
    assert counted.startswith(f"{ALICE}: counted as notified by a Phish_Feedback job on this case")
    assert 14 * 60 < said_until(counted) <= 15 * 60


def test_a_job_on_another_case_keeps_the_file_of_a_job_killed_long_after_its_last_record(
    tmp_path, job_config, cortex, smtp
):
    """It removes the files no job wrote in for a quarter of an hour, but this one's records still count."""
    case = killed_long_after_its_last_record(tmp_path, job_config(smtp_timeout=60), smtp)
    assert cortex(another_case(thehive4_case("Spam", [CAROL]))).success

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, CAROL, BOB]


def test_the_file_of_a_killed_job_goes_a_quarter_of_an_hour_after_a_job_on_another_case_kept_it(
    tmp_path, job_config, cortex, smtp
):
    killed_long_after_its_last_record(tmp_path, job_config(smtp_timeout=60), smtp)
    [kept] = shared_folder(tmp_path).iterdir()
    assert cortex(another_case(thehive4_case("Spam", [CAROL]))).success
    shift_records(tmp_path, minutes=16)

    assert cortex(another_case(thehive4_case("Spam", [CAROL]))).success

    assert kept not in shared_folder(tmp_path).iterdir()


def test_the_records_of_a_killed_job_count_no_more_a_quarter_of_an_hour_after_the_next_job_on_its_case(
    tmp_path, job_config, cortex, smtp
):
    """That job ended it, once it held the lock the kill released: an analyst who then takes alice's tags off, to have
    her mailed again, waits no longer than after a job that ended of itself."""
    smtp.faults = Faults(rcpt_delay_for={BOB: 40.0})
    case = thehive4_case("Spam", [ALICE, BOB])
    first, folder = started_and_sending(tmp_path, case, job_config(smtp_timeout=60), smtp)
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)
    smtp.faults = Faults()
    recorded = apply_operations(case, cortex(case))
    recorded["tags"] = [tag for tag in recorded["tags"] if ALICE not in tag or tag.startswith("user_email:")]
    shift_records(tmp_path, minutes=16)

    again = cortex(recorded)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, BOB, ALICE]


def test_records_written_a_few_bytes_at_a_time_are_read_whole_and_a_refused_one_is_told_with_its_reason(
    tmp_path, monkeypatch
):
    """A disk that takes a few bytes of each write, then none (no root needed, unlike a small file system)."""
    name = tmp_path / "case"
    journal = os.open(name, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    write, room = os.write, [80]

    def short(fd: int, data: bytes) -> int:
        if not room[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        taken = write(fd, data[: min(7, room[0])])
        room[0] -= taken
        return taken

    monkeypatch.setattr(os, "write", short)
    assert case_journals.append(journal, "1.1", ["feedback_sent:a@example.org"]) == ""
    assert case_journals.append(journal, "1.1", ["feedback_sent:b@example.org"]) == "No space left on device"
    room[0] = 10**6
    assert case_journals.append(journal, "1.1", ["feedback_sent:c@example.org", None]) == ""

    found = case_journals.lines(journal)
    os.close(journal)
    assert [tag for _, _, tag in found] == ["feedback_sent:a@example.org", "feedback_sent:c@example.org", None]


def journal_of(job_directory: Path, case: dict) -> Path:
    """The case's file where the jobs meet, named as a job on it names it."""
    report = read_report(case, "thehive:case", "phishFeedback", "Phishing report")
    return shared_folder(job_directory) / case_journals.file_name(report, {"organisation": "SOC"})


def test_a_line_a_kill_cut_short_leaves_the_next_jobs_records_whole(tmp_path, cortex, smtp):
    case = thehive4_case("Spam", [ALICE])
    shared_folder(tmp_path).mkdir(mode=0o700)
    journal_of(tmp_path, case).write_text(json.dumps(["9.9", time.time() - 3600, None])[:17])  # an hour ago

    assert cortex(case).success
    again = cortex(case)  # before TheHive has added the first job's tags

    assert again.success, again.error
    assert smtp.recipients() == [ALICE]


def test_a_line_a_full_disk_cut_short_leaves_the_next_jobs_records_whole(tmp_path, small_disk, cortex, smtp):
    """The disk where the jobs meet fills up as a job writes its first line there, 10 bytes before a page's end; once
    there is room again, the next job's lines are read whole."""
    folder = small_disk(shared_folder(tmp_path), "size=64k,mode=0700")
    case = thehive4_case("Spam", [ALICE])
    old = "\n" + json.dumps(["1.1", 1000.0, None])
    journal_of(tmp_path, case).write_text(" " * (4096 - 10 - len(old)) + old)
    fill(folder)
    first = cortex(case)
    assert first.success, first.error
    (folder / "filler").unlink()
    recorded = apply_operations(case, first)
    recorded["tags"].append(f"user_email:{BOB}")

    assert cortex(recorded).success
    third = cortex(recorded)  # before TheHive has added the second job's tags

    assert third.success, third.error
    assert smtp.recipients() == [ALICE, BOB]


def test_a_job_that_cannot_write_its_records_where_the_jobs_meet_says_a_second_click_would_mail_again(
    tmp_path, small_disk, cortex, smtp
):
    fill(small_disk(shared_folder(tmp_path), "size=64k,mode=0700"))

    sent = cortex(thehive4_case("Spam", [ALICE]))

    assert sent.success, sent.error
    assert "mail sent" in sent.tags
    [warning] = sent.output["full"]["warnings"]
    assert warning == (
        f"This job could not write its records beside the other jobs' in {shared_folder(tmp_path)} (No space left on"
        " device): a second click before TheHive adds its tags would mail its reporters again. Wait for them to show"
        " on the case before running the responder on it again."
    )


def test_cases_of_one_id_on_two_thehive_in_organisations_named_alike_keep_their_records_apart(cortex, smtp):
    """Two TheHive that answer to one Cortex (production and staging, say) may give a case the same id."""
    assert cortex(thehive4_case("Spam", [ALICE])).success
    staging = dict(thehive4_case("Phishing", [BOB]), caseId=7)

    other = cortex(staging)

    assert other.success, other.error
    assert not [tag for tag in other.tags if ALICE in tag]
    assert not other.output["full"]["warnings"]


def test_the_report_a_kill_leaves_holds_the_records_its_job_took_from_the_job_before(
    tmp_path, job_config, cortex, smtp
):
    """The job before's report never reached TheHive (Cortex could not read it): the next job takes its records, and
    keeps them in the report a kill leaves too, should TheHive never add the job before's."""
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success
    smtp.faults = Faults(rcpt_delay_for={CAROL: 40.0})
    grown = dict(case, tags=[*case["tags"], f"user_email:{BOB}", f"user_email:{CAROL}"])
    second, folder = started_and_sending(tmp_path, grown, job_config(smtp_timeout=60), smtp, first=BOB)
    second.send_signal(signal.SIGKILL)
    killed = finish_job(second, folder)

    assert killed.success
    assert f"feedback_sent:{ALICE}" in killed.tags and f"feedback_sent:{BOB}" in killed.tags


def test_records_older_than_a_quarter_of_an_hour_are_the_cases_alone(cortex, smtp, tmp_path):
    """By then TheHive has long added them; a case that does not show them had them taken off."""
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success
    age_records(tmp_path)

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, ALICE]


def test_where_other_users_may_write_the_job_directory_no_job_waits_for_another(cortex, smtp, tmp_path):
    """Cortex's job directory is its own; one that others may write in is no place to meet."""
    tmp_path.chmod(0o777)
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, ALICE]
    assert not shared_folder(tmp_path).exists()
    [warning] = again.output["full"]["warnings"]
    assert warning.startswith(
        f"This job could not take its turn on the case in {tmp_path} (other users may write in it)"
    )


def test_in_a_job_directory_like_tmp_whose_sticky_bit_keeps_each_users_own_a_second_job_mails_nobody_again(
    cortex, smtp, tmp_path
):
    """Cortex's job directory is Java's temporary folder unless set: /tmp, root's, anyone's to write in, each entry
    kept its owner's by the sticky bit."""
    tmp_path.chmod(0o1777)
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE]
    assert stat.S_IMODE(shared_folder(tmp_path).stat().st_mode) == 0o700


def test_a_correction_and_a_second_click_correct_the_reporter_once(cortex, smtp):
    """A correction records `feedback_sent:` again beside its new verdict, and the case shows that tag from the first
    message: the correction's record must still count."""
    case = thehive4_case("Legit email", [ALICE])
    told_legit = apply_operations(case, cortex(case))
    phishing = copy.deepcopy(told_legit)
    phishing["customFields"]["phishFeedback"]["string"] = "Phishing"
    assert cortex(phishing).success

    again = cortex(phishing)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, ALICE]


def test_a_job_started_while_thehive_35_adds_the_last_ones_tags_one_by_one_mails_nobody_again(cortex, smtp):
    """TheHive 3.5 applies a job's operations one at a time: a click half-way hands the job alice's records alone."""
    case = thehive4_case("Spam", [ALICE, BOB, CAROL])
    first = cortex(case)
    halfway = dict(case, tags=[*case["tags"], *first.tags[:2]])

    again = cortex(halfway)

    assert again.success, again.error
    smtp.assert_each_got_exactly_one([ALICE, BOB, CAROL])


def test_an_acknowledgement_whose_tag_was_taken_off_on_thehive_40_is_sent_again(cortex, smtp):
    """TheHive 4.0 keeps `feedback_ack_at:` in a form of its own; the record is read in it all the same."""
    case = thehive40_case(None, [ALICE, BOB])
    first = cortex(case, manifest=ACKNOWLEDGE_MANIFEST)
    recorded = stored(case, first.operations)
    [ack] = [tag for tag in recorded["tags"] if tag.startswith("feedback_ack") and ALICE in tag and "_at" not in tag]
    recorded["tags"].remove(ack)

    again = cortex(recorded, manifest=ACKNOWLEDGE_MANIFEST)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, BOB, ALICE]


def test_cases_whose_ids_differ_only_in_how_they_are_written_have_turns_of_their_own(cortex, smtp):
    case = thehive4_case("Spam", [ALICE])
    assert cortex(dict(case, _id="é", id="é")).success

    other = cortex(dict(case, _id="c3a9", id="c3a9"))

    assert other.success, other.error
    assert smtp.recipients() == [ALICE, ALICE]


def test_two_organisations_cases_of_one_id_have_turns_of_their_own(tmp_path, job_config, cortex, smtp):
    """One Cortex answering two TheHive (an organisation each), whose case ids are alike."""
    smtp.faults = Faults(rcpt_delay_for={BOB: 40.0})
    acme = {"organisation": "ACME", "user": "analyst@acme.example"}
    folder = write_job(tmp_path, thehive4_case("Spam", [ALICE, BOB]), job_config(smtp_timeout=60), parameters=acme)
    first = start_job(folder)
    while ALICE not in smtp.recipients():
        assert first.poll() is None, finish_job(first, folder).everything_printed()
        time.sleep(0.05)

    other = cortex(
        thehive4_case("Spam", [CAROL]), parameters={"organisation": "Globex", "user": "analyst@globex.example"}
    )

    assert first.poll() is None, "the other organisation's job waited for the first"
    assert other.success, other.error
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)


def test_a_stop_between_two_tries_of_the_lock_says_the_job_was_waiting(tmp_path, monkeypatch):
    """A busy host may hold the job off the processor between two tries of the case's lock, not only while it sleeps:
    a stop then says as well that it waited for another job, and does not send the admin to the mail settings."""
    name = str(tmp_path / "case")
    other_job = os.open(name, os.O_RDWR | os.O_CREAT)
    fcntl.flock(other_job, fcntl.LOCK_EX)
    reported = []

    class Ended(Exception):
        pass

    def ends(code):
        raise Ended

    def tried(journal, path):
        if tried.times == 1:  # the first try was refused: Cortex's SIGTERM comes before the second
            signal.raise_signal(signal.SIGTERM)
        tried.times += 1
        return locks(journal, path)

    tried.times, locks = 0, case_journals._locks
    monkeypatch.setattr(case_journals, "_locks", tried)
    monkeypatch.setattr(stopping, "write_failure", reported.append)
    monkeypatch.setattr(stopping, "end_process", ends)
    handlers = {signum: signal.getsignal(signum) for signum in stopping.STOPPED_BY}
    stopping.install()
    try:
        with pytest.raises(Ended):
            case_journals.locked(name, time.monotonic() + 10, "case")
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        os.close(other_job)

    assert reported == [
        "Cortex stopped the job (its jobTimeout ran out) while it waited for another Phish_Feedback job on this case"
        f" before any feedback was sent: nothing was sent or tagged. {stopping.WAITED}"
    ]


def test_a_job_stopped_while_it_waits_for_another_says_so(tmp_path, job_config, smtp):
    """The responder's Job timeout, shorter than the jobTimeout it plans for, stops it while it waits."""
    smtp.faults = Faults(rcpt_delay_for={BOB: 20.0})
    case = thehive4_case("Spam", [ALICE, BOB])
    first, folder = started_and_sending(tmp_path, case, job_config(smtp_timeout=60), smtp)
    folder_of_second = write_job(tmp_path, case, job_config())
    second = start_job(folder_of_second)
    wait_until_it_opened(second, shared_folder(tmp_path))
    time.sleep(1)  # from opening the case's file to waiting for its lock: a few instructions
    second.send_signal(signal.SIGTERM)
    stopped = finish_job(second, folder_of_second)
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)

    assert stopped.error.startswith(
        "Cortex stopped the job (its jobTimeout ran out) while it waited for another Phish_Feedback job on this case"
        " before any feedback was sent: nothing was sent or tagged. Run the responder again once that job has ended"
    ), stopped.error
    assert smtp.recipients() == [ALICE]


@pytest.mark.parametrize("damage", ["lines no job wrote", "a FIFO"])
def test_a_damaged_file_of_a_case_neither_stops_its_jobs_nor_hangs_them(cortex, smtp, tmp_path, damage):
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success
    [journal] = shared_folder(tmp_path).iterdir()
    journal.unlink()
    if damage == "a FIFO":
        os.mkfifo(journal, 0o600)
    else:
        journal.write_text(
            json.dumps([["x"], time.time(), "phishing"]) + "\n\x00\xff{[\n" + json.dumps([1, 2, 3]) + "\n"
        )

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, ALICE]


def test_a_stale_fifo_beside_the_cases_files_hangs_no_job(cortex, smtp, tmp_path):
    folder = shared_folder(tmp_path)
    folder.mkdir(mode=0o700)
    os.mkfifo(folder / "left", 0o600)
    past = time.time() - 16 * 60
    os.utime(folder / "left", (past, past))

    result = cortex(thehive4_case("Spam", [ALICE]))

    assert result.success, result.error
    assert smtp.recipients() == [ALICE]


@pytest.mark.slow
def test_a_job_that_waited_for_no_other_does_not_say_it_waited(cortex, smtp, tmp_path):
    """A long file of a campaign just answered takes a while to read; that is no wait for another job."""
    campaign = thehive4_case("Spam", [f"user{i}@example.org" for i in range(500)])
    recorded = apply_operations(campaign, cortex(campaign))

    again = cortex(dict(recorded, tags=[*recorded["tags"], f"user_email:{ALICE}"]))

    assert again.success, again.error
    assert not again.output["full"]["warnings"], again.output["full"]["warnings"]
    assert smtp.recipients()[-1] == ALICE


def test_a_dry_run_right_after_a_job_previews_what_a_click_would_send(cortex, smtp):
    case = thehive4_case("Spam", [ALICE, BOB])
    assert cortex(thehive4_case("Spam", [ALICE])).success

    preview = cortex(case, dry_run=True)

    assert preview.success, preview.error
    assert [message["to"] for message in preview.output["full"]["preview"]] == [BOB]
    assert smtp.recipients() == [ALICE]


def test_a_file_system_that_implements_no_lock_breaks_no_job_and_the_job_says_so(tmp_path, monkeypatch):
    """Lustre mounted without flock, some FUSE file systems: ENOSYS or EOPNOTSUPP."""
    job = tmp_path / "cortex-job-1"
    (job / "input").mkdir(parents=True)
    monkeypatch.setattr(sys, "argv", ["phish_feedback.py", str(job)])

    def no_flock(fd, operation):
        raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))

    monkeypatch.setattr(fcntl, "flock", no_flock)
    report = read_report(thehive4_case("Spam"), "thehive:case", "phishFeedback", "Phishing report")

    turn = take_turn(report, {}, time.monotonic() + 60, dry_run=False)

    assert turn.report == report
    assert turn.notes == [
        f"This job could not take its turn on the case in {shared_folder(tmp_path)} (its file system takes no lock:"
        " Function not implemented), so a second click while a job sends would mail the reporters again: give Cortex"
        " a job directory of its own (job.directory)."
    ]


def test_records_taken_from_a_job_thehive_never_recorded_are_the_next_jobs_to_record(cortex, smtp, tmp_path):
    """TheHive restarted while it waited for the first job, or Cortex could not read its report: its tags never come,
    and past a quarter of an hour its records would count no more."""
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success
    second = cortex(case)
    recorded = apply_operations(case, second)
    age_records(tmp_path)

    third = cortex(recorded)

    assert third.success, third.error
    assert smtp.recipients() == [ALICE]


DAVE = "bounce=dave@example.org"  # a record of it is written quoted, which TheHive 4.0 keeps whole


def records_of(result, address: str) -> list[str]:
    return [tag for tag in result.tags if tag.rstrip('"').endswith(address)]


def test_a_reporter_whose_record_is_written_quoted_is_mailed_once_while_thehive_35_adds_tags(cortex, smtp):
    case = thehive4_case("Spam", [ALICE, DAVE])
    first = cortex(case)
    halfway = dict(case, tags=[*case["tags"], *records_of(first, ALICE)])

    again = cortex(halfway)

    assert again.success, again.error
    smtp.assert_each_got_exactly_one([ALICE, DAVE])


def test_a_reporter_whose_quoted_sent_tag_was_taken_off_is_mailed_again(cortex, smtp):
    case = thehive4_case("Spam", [DAVE])
    recorded = apply_operations(case, cortex(case))
    recorded["tags"].remove(f'feedback_sent:"{DAVE}"')

    again = cortex(recorded)

    assert again.success, again.error
    assert smtp.recipients() == [DAVE, DAVE]


def test_a_reporter_whose_message_may_have_gone_is_not_mailed_again_while_thehive_35_adds_tags(cortex, smtp):
    smtp.faults = Faults(drop_data=2)  # alice's message dropped at its end twice: it may have gone
    case = thehive4_case("Spam", [ALICE, BOB])
    first = cortex(case, smtp_retries=4)
    assert f"feedback_unsure:{ALICE}" in first.tags and smtp.recipients() == [BOB]
    halfway = dict(case, tags=[*case["tags"], *records_of(first, BOB)])

    again = cortex(halfway, smtp_retries=4)

    assert again.success, again.error
    assert smtp.recipients() == [BOB]


def test_a_job_that_counts_records_its_case_does_not_show_says_whom_and_until_when(cortex, smtp):
    """The analyst took off every record of alice, to have her mailed again, within the quarter of an hour."""
    case = thehive4_case("Spam", [ALICE, BOB])
    recorded = apply_operations(case, cortex(case))
    recorded["tags"] = [tag for tag in recorded["tags"] if ALICE not in tag or tag.startswith("user_email")]

    again = cortex(recorded)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, BOB]
    [warning] = again.output["full"]["warnings"]
    assert warning.startswith(
        f"{ALICE}: counted as notified by a Phish_Feedback job on this case whose tags it does not show yet (TheHive"
        " adds them seconds after a job ends). If they were taken off to have them mailed again, run the responder"
        " after "
    ), warning


def test_a_job_folder_mounted_alone_gets_nothing_written_beside_it(tmp_path, job_config, smtp):
    """As the docker runner mounts it, at /job, where / may be root's to write in."""
    root = tmp_path / "container-root"
    root.mkdir(mode=0o755)
    folder = write_job(tmp_path, thehive4_case("Spam", [ALICE]), job_config())
    shutil.move(folder, root / "job")

    result = finish_job(start_job(root / "job"), root / "job")

    assert result.success, result.error
    assert [entry.name for entry in root.iterdir()] == ["job"]


def test_a_job_that_sent_its_last_message_long_before_it_ended_still_spares_its_reporters_the_next(
    tmp_path, job_config, cortex, smtp
):
    """Its records count from the job's end, not from the last of them: a slow server may hold the job long after."""
    smtp.faults = Faults(rcpt_delay_for={BOB: 3.0}, refuse={BOB: "550 5.1.1 No such user"})
    case = thehive4_case("Spam", [ALICE, BOB])
    first, folder = started_and_sending(tmp_path, case, job_config(smtp_timeout=30), smtp)
    age_records(tmp_path)  # alice's, as a quarter of an hour before the job ends
    assert finish_job(first, folder).success
    smtp.faults = Faults()

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, BOB]


def test_the_files_of_cases_left_for_a_quarter_of_an_hour_go_with_the_next_job(cortex, smtp, tmp_path):
    assert cortex(thehive4_case("Spam", [ALICE])).success
    age_records(tmp_path)
    [left] = shared_folder(tmp_path).iterdir()

    assert cortex(another_case(thehive4_case("Spam", [BOB]))).success

    assert left not in shared_folder(tmp_path).iterdir()


def test_a_file_of_a_case_that_cannot_be_read_is_kept_by_the_job_that_cleans(tmp_path, monkeypatch):
    """A read error (EIO) says nothing of whether the file holds a killed job's records: it stays."""
    job = tmp_path / "cortex-job-1"
    (job / "input").mkdir(parents=True)
    monkeypatch.setattr(sys, "argv", ["phish_feedback.py", str(job)])
    folder = case_journals.shared_folder()
    left = Path(folder, "0" * 40)
    left.write_text("\n" + json.dumps(["killed", time.time() - 20 * 60, f"feedback_sent:{ALICE}"]))
    os.utime(left, (time.time() - 20 * 60,) * 2)

    def unreadable(fd, size, offset):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "pread", unreadable)
    case_journals.clean(folder, str(Path(folder, "1" * 40)))

    assert left.exists()


def test_a_case_without_id_asks_no_list_of_the_jobs_on_it_where_the_host_cannot_lock(tmp_path, monkeypatch):
    job = tmp_path / "cortex-job-1"
    (job / "input").mkdir(parents=True)
    monkeypatch.setattr(sys, "argv", ["phish_feedback.py", str(job)])
    tmp_path.chmod(0o777)
    case = {k: v for k, v in thehive4_case("Spam").items() if k not in ("_id", "id")}
    report = read_report(case, "thehive:case", "phishFeedback", "Phishing report")
    asked = []

    turn = take_turn(report, {}, time.monotonic() + 60, False, lambda report, deadline: asked.append(report))

    assert asked == [] and turn.report == report


def test_a_verdict_right_after_an_acknowledgement_counts_none_of_its_records(cortex, smtp):
    case = thehive4_case("Spam", [ALICE, BOB])
    assert cortex(case, manifest=ACKNOWLEDGE_MANIFEST).success

    verdict = cortex(case)

    assert verdict.success, verdict.error
    assert smtp.recipients() == [ALICE, BOB, ALICE, BOB]
    assert not verdict.output["full"]["warnings"]
    assert not [tag for tag in verdict.tags if tag.startswith("feedback_ack")]


def test_the_wait_a_job_says_is_the_wait(tmp_path, job_config, smtp):
    released = threading.Event()
    smtp.faults = Faults(rcpt_held_for={BOB: released})
    case = thehive4_case("Spam", [ALICE, BOB])
    first, folder = started_and_sending(tmp_path, case, job_config(), smtp)

    second = second_click_while_held(tmp_path, case, job_config(), released)
    finish_job(first, folder)

    [waited] = second.output["full"]["warnings"]
    assert re.search(r"this one waited [1-9][0-9]* s for it", waited), waited


def test_the_time_after_which_records_count_no_more_is_a_quarter_of_an_hour_on_in_utc(cortex, smtp):
    """On a host whose clock is set to another zone."""
    case = thehive4_case("Spam", [ALICE, BOB])
    recorded = apply_operations(case, cortex(case))
    recorded["tags"] = [tag for tag in recorded["tags"] if ALICE not in tag or tag.startswith("user_email")]

    again = cortex(recorded, environment={"TZ": "XST-05:30"})

    [warning] = again.output["full"]["warnings"]
    assert 14 * 60 < said_until(warning) <= 15 * 60, warning


def test_records_of_ten_minutes_ago_still_count(cortex, smtp, tmp_path):
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success
    age_records(tmp_path, minutes=10)

    again = cortex(case)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE]


def test_a_shared_folder_others_may_read_is_no_place_to_meet(cortex, smtp, tmp_path):
    folder = shared_folder(tmp_path)
    folder.mkdir()
    folder.chmod(0o755)

    result = cortex(thehive4_case("Spam", [ALICE]))

    assert result.success, result.error
    assert list(folder.iterdir()) == []
    [warning] = result.output["full"]["warnings"]
    assert f"({folder} is not a folder of its user's alone)" in warning, warning


def test_a_shared_folder_of_another_user_is_no_place_to_meet(cortex, smtp, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    folder = shared_folder(tmp_path)
    folder.mkdir(mode=0o700)
    os.chown(folder, 12345, 12345)

    result = cortex(thehive4_case("Spam", [ALICE]))

    assert result.success, result.error
    assert list(folder.iterdir()) == []
    [warning] = result.output["full"]["warnings"]
    assert f"({folder} is not a folder of its user's alone)" in warning, warning


def test_a_job_that_locks_a_file_another_jobs_cleaning_removed_takes_the_cases_new_one(tmp_path):
    """Else two jobs would each hold a lock on the case, one on the removed file, and both send."""
    name = str(tmp_path / "case")
    holder = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    got = []
    waiter = threading.Thread(target=lambda: got.append(case_journals.locked(name, time.monotonic() + 30, "case")))
    waiter.start()
    time.sleep(1)  # it has opened the file and waits for its lock
    os.unlink(name)  # as another job's cleaning removes it, under its lock
    os.close(holder)
    waiter.join(30)

    [(journal, _)] = got
    assert os.fstat(journal).st_ino == os.stat(name).st_ino
    os.close(journal)


def test_the_cleaning_leaves_a_file_made_again_under_the_name_of_the_one_it_opened(tmp_path, monkeypatch):
    """Another cleaning job removed the file it opened, and a job on that case made it again: the new one stays."""
    name = tmp_path / "case"
    name.write_text("")
    past = time.time() - 16 * 60
    os.utime(name, (past, past))
    opened = case_journals._opened

    def made_again(path: str, flags: int) -> int:
        journal = opened(path, flags)
        os.unlink(path)
        Path(path).write_text("\n" + json.dumps(["1.1", time.time(), f"feedback_sent:{ALICE}"]))
        return journal

    monkeypatch.setattr(case_journals, "_opened", made_again)

    case_journals.clean(str(tmp_path), str(tmp_path / "own"))

    assert name.exists()


def test_the_cleaning_leaves_the_file_of_a_job_still_going(tmp_path):
    """A job slow for more than a quarter of an hour still holds its case's file."""
    held = tmp_path / "held"
    journal = os.open(held, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(journal, fcntl.LOCK_EX)
    past = time.time() - 16 * 60
    os.utime(held, (past, past))

    case_journals.clean(str(tmp_path), str(tmp_path / "own"))

    assert held.exists()
    os.close(journal)


@pytest.mark.slow
def test_a_second_click_while_the_first_job_sends_spares_whom_it_may_have_mailed(tmp_path, job_config, cortex, smtp):
    smtp.faults = Faults(drop_data=2, rcpt_delay_for={BOB: 4.0})
    case = thehive4_case("Spam", [ALICE, BOB])
    folder = write_job(tmp_path, case, job_config(smtp_retries=4))
    first = start_job(folder)
    report = folder / "output" / "output.json"
    limit = time.monotonic() + 60
    while "feedback_unsure" not in (report.read_text() if report.exists() else ""):
        assert first.poll() is None and time.monotonic() < limit
        time.sleep(0.05)

    second = cortex(case, smtp_retries=4)

    assert finish_job(first, folder).success and second.success, second.error
    assert smtp.recipients() == [BOB]


@pytest.mark.parametrize("alice", [ALICE, "Alice@Example.org"])
def test_a_rerun_on_a_case_that_shows_every_record_names_nobody_as_counted(cortex, smtp, alice):
    """Whose message may have gone (feedback_unsure) included, and an address written in capitals."""
    smtp.faults = Faults(drop_data=2)
    case = thehive4_case("Spam", [alice, BOB])
    recorded = apply_operations(case, cortex(case, smtp_retries=4))

    again = cortex(recorded, smtp_retries=4)

    assert again.success, again.error
    assert not [warning for warning in again.output["full"]["warnings"] if "counted as notified" in warning]


def test_a_fifo_in_place_of_the_cases_file_is_said(cortex, smtp, tmp_path):
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success
    [journal] = shared_folder(tmp_path).iterdir()
    journal.unlink()
    os.mkfifo(journal, 0o600)

    again = cortex(case)

    assert again.success, again.error
    [warning] = again.output["full"]["warnings"]
    assert f"({journal.name} is no regular file)" in warning, warning


@pytest.mark.slow
def test_a_job_stopped_after_its_wait_does_not_say_it_waited(tmp_path, job_config, smtp, thehive, api):
    """Stopped while it reads the case's observables from TheHive, once its turn came."""
    asked = threading.Event()

    def slow(request):
        asked.set()
        time.sleep(10)
        return Response("[]", content_type="application/json")

    thehive.expect_request("/api/v1/query").respond_with_handler(slow)
    smtp.faults = Faults(rcpt_delay_for={BOB: 2.0})
    case = thehive4_case("Spam", [ALICE, BOB])
    first, folder = started_and_sending(tmp_path, case, job_config(), smtp)
    second_folder = write_job(tmp_path, case, job_config(**api))
    second = start_job(second_folder)
    limit = time.monotonic() + 60
    while not asked.is_set():
        assert second.poll() is None and time.monotonic() < limit
        time.sleep(0.05)
    second.send_signal(signal.SIGTERM)
    stopped = finish_job(second, second_folder)
    finish_job(first, folder)

    assert stopped.error.startswith("Cortex stopped the job (its jobTimeout ran out) before any feedback"), (
        stopped.error
    )


def test_a_later_job_whose_records_the_case_shows_keeps_the_others_no_longer_counted():
    """The warning's time is when the records it counts count no more: a job after them whose records TheHive has
    added already counts for nothing, and so sets no later time."""
    now = time.time()
    bob_told = verdict_tag("bob@example.org", "Spam", datetime.fromtimestamp(now - 60, timezone.utc))
    case = thehive4_case("Spam", ["alice@example.org", "bob@example.org"])
    case["tags"] = [*case["tags"], bob_told]
    report = read_report(case, "thehive:case", "phishFeedback", "Phishing report")
    lines = [
        ["earlier", now - 600, "feedback_sent:alice@example.org"],
        ["earlier", now - 600, None],
        ["later", now - 60, bob_told],
        ["later", now - 60, "feedback_sent:bob@example.org"],
        ["later", now - 60, None],
    ]

    found, named, until = recent_records.taken(report, lines)

    assert (found, named) == (["feedback_sent:alice@example.org"], {"alice@example.org"})
    assert until - now == pytest.approx(case_journals.RECENT - 600, abs=1)
