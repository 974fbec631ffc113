"""Two jobs on one case on the same Cortex host: an analyst who clicks again while the first job sends, or before
TheHive has added its tags. TheHive hands each job the case as it was at the click, so the second one's case shows
none of the first one's records. Every job runs as Cortex's process runner runs it, its folder beside the others in
one job directory."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from testkit.cases import another_case, thehive4_case
from testkit.cortex import apply_operations, finish_job, start_job, write_job
from testkit.smtp_server import Faults

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"


def started_and_sending(tmp_path: Path, case: dict, config: dict, smtp, first: str = ALICE):
    """A job started on the case, once the server has accepted its message to `first`."""
    folder = write_job(tmp_path, case, config)
    process = start_job(folder)
    limit = time.monotonic() + 60
    while first not in smtp.recipients():
        assert process.poll() is None and time.monotonic() < limit, finish_job(process, folder).everything_printed()
        time.sleep(0.05)
    return process, folder


def test_a_second_click_while_the_first_job_sends_mails_each_reporter_once(tmp_path, job_config, cortex, smtp):
    smtp.faults = Faults(rcpt_delay_for={BOB: 2.0})
    case = thehive4_case("Spam", [ALICE, BOB, CAROL])
    first, folder = started_and_sending(tmp_path, case, job_config(), smtp)

    second = cortex(case)
    assert finish_job(first, folder).success

    assert second.success, second.error
    smtp.assert_each_got_exactly_one([ALICE, BOB, CAROL])
    assert second.output["full"]["message"] == "All 3 reporter(s) of this case were already notified; nothing was sent."
    [waited] = second.output["full"]["warnings"]
    assert waited.startswith("Another Phish_Feedback job was answering this case when this one started: this one")
    assert second.operations == []


def test_a_job_started_before_thehive_added_the_last_ones_tags_mails_nobody_again(cortex, smtp):
    case = thehive4_case("Spam", [ALICE, BOB])
    assert cortex(case).success

    again = cortex(case)

    assert again.success, again.error
    smtp.assert_each_got_exactly_one([ALICE, BOB])
    assert again.output["full"]["message"] == "All 2 reporter(s) of this case were already notified; nothing was sent."


def test_a_reporter_whose_tag_was_taken_off_once_the_case_showed_the_records_is_mailed_again(cortex, smtp):
    case = thehive4_case("Spam", [ALICE, BOB])
    recorded = apply_operations(case, cortex(case))
    recorded["tags"].remove(f"feedback_sent:{ALICE}")

    again = cortex(recorded)

    assert again.success, again.error
    assert smtp.recipients() == [ALICE, BOB, ALICE]


def test_the_records_of_a_job_killed_midway_spare_its_reporters_the_next_run(tmp_path, job_config, cortex, smtp):
    """The docker runner kills without a word; Cortex then reads the report the job left, and TheHive adds its tags
    some seconds later. A job started meanwhile mails only those the killed one had not reached."""
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
    smtp.faults = Faults(rcpt_delay_for={BOB: 5.0})
    first, folder = started_and_sending(
        tmp_path, thehive4_case("Spam", [ALICE, BOB]), job_config(smtp_timeout=30), smtp
    )

    other = cortex(another_case(thehive4_case("Spam", [CAROL])))

    assert first.poll() is None, "the job on the other case waited for the first"
    assert other.success, other.error
    assert not other.output["full"]["warnings"]
    assert finish_job(first, folder).success
    smtp.assert_each_got_exactly_one([ALICE, CAROL, BOB])


def test_a_dry_run_waits_for_no_job(tmp_path, job_config, cortex, smtp):
    smtp.faults = Faults(stall_after=1, stall_for=10.0)  # the message to bob, held at its end; a dry run sends none
    case = thehive4_case("Spam", [ALICE, BOB])
    first, folder = started_and_sending(tmp_path, case, job_config(), smtp)

    preview = cortex(case, dry_run=True)

    assert first.poll() is None, "the dry run waited for the job"
    assert preview.success, preview.error
    assert not preview.output["full"]["warnings"]
    first.send_signal(signal.SIGKILL)
    finish_job(first, folder)


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


def test_records_older_than_a_quarter_of_an_hour_are_the_cases_alone(cortex, smtp, tmp_path):
    """By then TheHive has long added them; a case that does not show them had them taken off."""
    case = thehive4_case("Spam", [ALICE])
    assert cortex(case).success
    past = time.time() - 16 * 60
    for journal in (tmp_path / ".phish_feedback").iterdir():
        lines = [json.loads(line) for line in journal.read_text().splitlines()]
        journal.write_text("".join(json.dumps([job, past, tag]) + "\n" for job, _, tag in lines))
        os.utime(journal, (past, past))

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
    assert not (tmp_path / ".phish_feedback").exists()
