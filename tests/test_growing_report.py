"""The report a kill leaves in a campaign, grown in place as messages are accepted: whatever moment the job is killed
at, Cortex reads whole JSON that records every reporter the mail service accepted.

The end-to-end tests kill the job as Cortex's docker runner does; the others drive the report in this process and look
at output.json after every write the job makes, as a kill between two of them would leave it.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback import growing_report, job_folder
from feedback.growing_report import GrowingReport
from feedback.job_folder import reserve_room
from feedback.messages import Outgoing
from feedback.unreached import Failure
from feedback.way_out import Permanent
from testkit.cases import thehive4_case
from testkit.cortex import (
    apply_operations,
    finish_job,
    read_output,
    run_job,
    start_job,
    write_job,
)
from testkit.full_disk import fill
from testkit.interim_reports import interim_report

# Addresses of many lengths, so that records end anywhere in a page.
CAMPAIGN = [f"{'r' * (i % 37 + 1)}{i}@example.org" for i in range(400)]


def killed_while_the_server_holds_message(number: int, job: Path, smtp):
    """The job killed as Cortex's docker runner kills it, while the server holds message `number`: the ones before
    were accepted."""
    held = threading.Semaphore(0)
    smtp.faults.stall_after, smtp.faults.on_data = number - 1, held.release
    process = start_job(job)
    for _ in range(number):
        assert held.acquire(timeout=60), "the job sent too few messages"
    process.kill()
    return finish_job(process, job)


@pytest.mark.slow
@pytest.mark.parametrize("number", [2, 58, 234, 400])
def test_a_campaign_killed_at_any_message_leaves_a_report_that_records_everyone_accepted_before_it(
    tmp_path, job_config, smtp, number
):
    case = thehive4_case("Spam", CAMPAIGN)
    killed = killed_while_the_server_holds_message(number, write_job(tmp_path / "first", case, job_config()), smtp)

    assert killed.success, killed.everything_printed()[-2000:]
    accepted = number - 1
    assert f"after {accepted} of the 400 reporter(s) were mailed" in killed.output["full"]["message"]
    assert f"It mails the {400 - accepted} others" in killed.output["full"]["message"]
    recorded = [tag.removeprefix("feedback_sent:") for tag in killed.tags if tag.startswith("feedback_sent:")]
    assert recorded == CAMPAIGN[:accepted]
    assert {"mail sent", "mail failed"} <= set(killed.tags)

    smtp.faults.stall_after = -1
    again = run_job(tmp_path / "second", apply_operations(case, killed), job_config())

    assert again.success, again.error
    assert smtp.recipients() == CAMPAIGN


class EveryWrite:
    """output.json as a kill would leave it after each write to it: each write in place lies within one page of the
    file, which Linux copies whole, from pages the kernel holds, before it takes a kill."""

    def __init__(self, job_folder: Path, monkeypatch) -> None:
        self.job_folder, self.states, self.in_place, self.whole = job_folder, [], 0, []
        sendfile, replace = os.sendfile, os.replace

        def sendfile_then_look(file: int, source: int, offset: int, size: int) -> int:
            page, at = growing_report.PAGE, os.lseek(file, 0, os.SEEK_CUR)
            assert at // page == (at + size - 1) // page, f"a write of {size} bytes at {at} spans two pages"
            written = sendfile(file, source, offset, size)
            self.in_place += 1
            self.look()
            return written

        def replace_then_look(source, target) -> None:
            replace(source, target)
            self.whole.append(os.stat(target).st_size)
            self.look()

        monkeypatch.setattr(os, "sendfile", sendfile_then_look)
        monkeypatch.setattr(os, "replace", replace_then_look)

    def look(self) -> None:
        self.states.append(read_output(self.job_folder)[0])


def mailed_as_said(report: dict) -> int:
    """How many reporters the report's sentence says were mailed."""
    said = re.search(r"(\d+) of the \d+ reporter|all (\d+) reporter|the (\d+) mailed are", report["full"]["message"])
    return int(next(filter(None, said.groups()))) if said else 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(st.tuples(st.integers(1, 55), st.integers(1, 60), st.booleans()), min_size=1, max_size=120),
    acknowledgement=st.booleans(),
)
def test_every_report_a_kill_can_leave_in_a_campaign_is_whole_and_records_everyone_accepted_before(
    tmp_path_factory, job_config, monkeypatch, events, acknowledgement
):
    """A campaign of random reporters, most accepted, some whose message may have gone: after every write, output.json
    parses and holds the record of every message accepted before the one being recorded, in order."""
    reporters = [f"{'x' * local}{i}@{'d' * label}.example.org" for i, (local, label, _) in enumerate(events)]
    sent, unsure = ("feedback_ack", None) if acknowledgement else ("feedback_sent", "feedback_unsure")
    folder = tmp_path_factory.mktemp("job")
    with monkeypatch.context() as patched:
        interim = interim_report(job_config, folder, patched, reporters, acknowledgement)
        writes = EveryWrite(folder, patched)
        recorded: list[str] = []
        for address, (*_, accepted) in zip(reporters, events):
            before = len(writes.states)
            if accepted:
                interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))
            else:
                interim.unsure(Failure(address, "no answer", True, False))
            for state in writes.states[before:]:
                assert state is not None
                if recorded:
                    assert state["success"] is True, state
                    records = records_in(state)
                    assert records[: len(recorded)] == recorded
                    assert mailed_as_said(state) <= sum(tag.startswith(f"{sent}:") for tag in records), "said first"
            if accepted or unsure:
                recorded.append(f"{sent if accepted else unsure}:{address}")

    if recorded:
        final = writes.states[-1]
        assert records_in(final) == recorded
        reached = any(accepted for *_, accepted in events) and not acknowledgement
        assert [op["tag"] for op in final["operations"] if " " in op["tag"]] == (["mail sent"] if reached else [])
        assert final["full"]["message"].startswith("Phish_Feedback was ended after")


def records_in(report: dict) -> list[str]:
    """The reporters' records a report holds, in order, without their timed companions nor the case's own tags."""
    return [
        op["tag"]
        for op in report["operations"]
        if op["tag"].split(":")[0] in ("feedback_sent", "feedback_unsure", "feedback_ack")
    ]


def test_what_a_campaign_writes_grows_with_its_reporters_not_their_square(tmp_path, job_config, monkeypatch):
    """Each message's record is written in place; the report is written whole only when the room left for records
    runs out, and then with as much room again: what a campaign writes grows with its reporters, not their square."""
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN)
    writes = EveryWrite(tmp_path, monkeypatch)

    for address in CAMPAIGN[:300]:
        interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))

    assert writes.in_place >= 300
    assert all(later >= 1.5 * earlier for earlier, later in zip(writes.whole, writes.whole[1:])), writes.whole
    said = read_output(tmp_path)[0]["full"]["message"]
    assert "after 300 of the 400 reporter(s) were mailed" in said


@pytest.mark.parametrize("planted", ["a link", "another file", "a pipe"])
def test_what_is_put_in_place_of_the_report_is_replaced_not_written_into(tmp_path, job_config, monkeypatch, planted):
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN)
    interim.accepted(Outgoing(CAMPAIGN[0], "<0@example.org>", None), datetime.now(timezone.utc))
    elsewhere = tmp_path / "elsewhere.json"
    report = tmp_path / "output" / "output.json"
    elsewhere.write_bytes(report.read_bytes())
    report.unlink()
    if planted == "a link":
        report.symlink_to(elsewhere)
    elif planted == "a pipe":  # which nobody reads: opened to be written, it would hold the job for ever
        os.mkfifo(report)
    else:
        os.link(elsewhere, report)

    second = threading.Thread(
        target=interim.accepted, args=(Outgoing(CAMPAIGN[1], "<1@example.org>", None), datetime.now(timezone.utc))
    )
    second.start()
    second.join(timeout=10)
    if second.is_alive():
        os.close(os.open(report, os.O_RDONLY | os.O_NONBLOCK))  # lets it go, for the test to end
        pytest.fail("the job waits on what was put in place of its report")

    assert CAMPAIGN[1] not in elsewhere.read_text(encoding="utf-8")
    assert report.is_file() and not report.is_symlink() and report.stat().st_ino != elsewhere.stat().st_ino
    tags = {op["tag"] for op in read_output(tmp_path)[0]["operations"]}
    assert {f"feedback_sent:{CAMPAIGN[0]}", f"feedback_sent:{CAMPAIGN[1]}"} <= tags


def test_a_disk_that_fills_up_between_the_look_and_the_write_gets_the_records_without_the_room(
    on_a_full_disk, job_config, monkeypatch
):
    """The disk seemed to have room to spare when the job looked, and had none when it wrote: the report is written
    without blank room, on the room the job reserved, and keeps every record."""
    job = on_a_full_disk(thehive4_case("Spam", CAMPAIGN), "8k")
    interim = interim_report(job_config, job, monkeypatch, CAMPAIGN)
    reserve_room()  # as the job does at its start
    fill(job / "output")
    roomy = os.statvfs(job.parent)
    monkeypatch.setattr(os, "statvfs", lambda folder: roomy)

    for address in CAMPAIGN[:3]:
        interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))

    tags = {op["tag"] for op in read_output(job)[0]["operations"]}
    assert {f"feedback_sent:{address}" for address in CAMPAIGN[:3]} <= tags


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    page=st.sampled_from([32, 64, 100, 256]),
    closings=st.lists(st.sampled_from([(), ("sent",), ("sent", "failed")]), min_size=1, max_size=3),
    steps=st.lists(
        st.tuples(
            st.lists(st.text(alphabet='ab"\\é\n', max_size=30), max_size=3),
            st.text(alphabet='ab"é', max_size=50),
            st.integers(0, 9).map(bool),  # mostly more to come
        ),
        min_size=20,
        max_size=60,
    ),
)
def test_a_report_grown_over_pages_of_any_size_holds_its_records_closing_and_sentence_in_order(
    tmp_path_factory, monkeypatch, page, closings, steps
):
    """Pages far smaller than Linux's put every record and sentence astride a page's end, or at the end of the room
    left, sooner or later: after every write the report parses, and after every step it holds exactly the records,
    closing items and sentence given. The closing items change a few times in a campaign."""
    folder = tmp_path_factory.mktemp("job")
    with monkeypatch.context() as patched:
        patched.setattr(sys, "argv", ["phish_feedback.py", str(folder)])
        patched.setattr(growing_report, "PAGE", page)
        report = GrowingReport('{"full": {"message": ', ', "verdict": null}, "operations": [', "]}")
        writes = EveryWrite(folder, patched)
        records: list[str] = []
        for step, (added, said, more) in enumerate(steps):
            closing = closings[step * len(closings) // len(steps)]
            records += (json.dumps(text) for text in added)
            if not records:
                continue
            sentence, items = json.dumps(said), [json.dumps(item) for item in closing]
            if not report.grow(sentence, records, items):
                report.write(sentence, records, items, more)
            assert None not in writes.states
            assert read_output(folder)[0] == {
                "full": {"message": said, "verdict": None},
                "operations": [json.loads(record) for record in [*records, *items]],
            }


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    page=st.sampled_from([128, 256, 512]),
    room=st.booleans(),
    steps=st.lists(st.lists(st.text(alphabet='ab"\\é\n', max_size=8), min_size=1, max_size=2), max_size=30),
    last=st.lists(st.text(alphabet='ab"\\é\n', max_size=8), min_size=1, max_size=2),
    said=st.text(alphabet='ab"é', max_size=40),
    closing=st.sampled_from([(), ("sent",), ("sent", "failed")]),
)
def test_a_report_that_can_no_longer_be_written_whole_takes_one_message_more_in_the_room_it_kept(
    tmp_path_factory, monkeypatch, page, room, steps, last, said, closing
):
    """Whatever the page, the records before, and whether the disk left room to grow in: once no report can be
    written whole, the records of one message more go into the room kept for them, the closing items stay, and the
    sentence is the new one where it fits within the first page, else the one before."""
    folder = tmp_path_factory.mktemp("job")
    with monkeypatch.context() as patched:
        patched.setattr(sys, "argv", ["phish_feedback.py", str(folder)])
        patched.setattr(growing_report, "PAGE", page)
        if not room:
            patched.setattr(growing_report, "has_room", lambda size: False)
        items, sentence = [json.dumps(item) for item in closing], json.dumps(said)
        block = max(sum(len(", ") + len(json.dumps(text)) for text in texts) for texts in [*steps, last])
        opening = '{"full": {"message": '
        report = GrowingReport(opening, ', "verdict": null}, "operations": [', "]}", (2 * block, len(sentence)))
        records = [json.dumps("first")]
        report.write(json.dumps("before"), records, items, True)
        for texts in steps:
            records += (json.dumps(text) for text in texts)
            if not report.grow(json.dumps("before"), records, items):
                report.write(json.dumps("before"), records, items, True)
        patched.setattr(growing_report, "write_output_text", no_space)
        writes = EveryWrite(folder, patched)
        records += (json.dumps(text) for text in last)
        if not report.grow(sentence, records, items):
            with pytest.raises(OSError):
                report.write(sentence, records, items, True)
            report.last([sentence], records)

    assert None not in writes.states
    final = read_output(folder)[0]
    assert final["operations"] == [json.loads(record) for record in [*records, *items]]
    fits = len(opening) + len(sentence) + growing_report.SENTENCE_ROOM <= page
    assert final["full"]["message"] == said if fits else final["full"]["message"] in (said, "before")


@pytest.mark.parametrize(
    ("fault", "write"),
    [("no space", "records"), ("cut short", "records"), ("cut short", "sentence")],
)
def test_a_write_in_place_that_fails_leaves_the_report_written_whole_with_every_record(
    tmp_path, job_config, monkeypatch, fault, write
):
    """A disk full even for a write in place (btrfs, ZFS: copy on write), or a write cut short."""
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN)
    for address in CAMPAIGN[:3]:
        interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))
    sendfile, writes = os.sendfile, []

    def failing_once(file: int, source: int, offset: int, size: int) -> int:
        writes.append(size)
        if len(writes) != (1 if write == "records" else 6):  # the first message's records, the last one's sentence
            return sendfile(file, source, offset, size)
        if fault == "no space":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return sendfile(file, source, offset, 20)

    monkeypatch.setattr(os, "sendfile", failing_once)
    for address in CAMPAIGN[3:6]:
        interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))

    assert len(writes) >= (1 if write == "records" else 6), "the fault came to a write in place"
    report = read_output(tmp_path)[0]
    assert records_in(report) == [f"feedback_sent:{address}" for address in CAMPAIGN[:6]]
    assert "after 6 of the 400 reporter(s) were mailed" in report["full"]["message"]
    assert "It mails the 394 others" in report["full"]["message"]


def stopped_by_a_full_disk(
    interim, folder: Path, monkeypatch, before: Sequence[str], last: str, unsure: Sequence[str] = ()
) -> dict:
    """The report output.json holds once the job stopped: `unsure` (whose message may have gone) and `before` recorded
    on a disk with no room to grow in, then `last` accepted as the disk is full even for the report written whole."""
    monkeypatch.setattr(growing_report, "has_room", lambda size: False)
    for address in unsure:
        interim.unsure(Failure(address, "no answer", True, False))
    for address in before:
        interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))
    monkeypatch.setattr(growing_report, "write_output_text", no_space)
    with pytest.raises(Permanent, match="lest a reporter be mailed and not recorded"):
        interim.accepted(Outgoing(last, f"<{last}>", None), datetime.now(timezone.utc))
    return read_output(folder)[0]


def no_space(text: str) -> os.stat_result:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_report_written_without_its_room_to_grow_still_keeps_the_room_for_the_last_reporter(
    tmp_path, job_config, monkeypatch
):
    """The disk seemed to have room to spare when the job looked, and had room only for the report without its blank
    room to grow in: what it writes instead keeps the room for the last reporter's records all the same."""
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN)
    whole = growing_report.write_output_text

    def without_room_to_grow(text: str) -> os.stat_result:
        if " " * growing_report.PAGE in text:
            no_space(text)
        return whole(text)

    monkeypatch.setattr(growing_report, "write_output_text", without_room_to_grow)
    for address in CAMPAIGN[:2]:
        interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))
    monkeypatch.setattr(growing_report, "write_output_text", no_space)
    with pytest.raises(Permanent):
        interim.accepted(Outgoing(CAMPAIGN[2], f"<{CAMPAIGN[2]}>", None), datetime.now(timezone.utc))

    assert records_in(read_output(tmp_path)[0]) == [f"feedback_sent:{address}" for address in CAMPAIGN[:3]]


@pytest.mark.parametrize("page", [4096, 1024])
@pytest.mark.parametrize("before", range(1, 16))
def test_a_report_that_can_no_longer_be_written_whole_still_records_the_last_reporter_mailed(
    tmp_path, job_config, monkeypatch, page, before
):
    """A disk full past the room the job reserved: every report written whole kept room for one message's records
    more, whoever it went to, and for a longer sentence. The message just accepted is recorded there, with why nothing
    more goes out. Smaller pages, and the records of from one to fifteen reporters before, put the last message's
    records astride a page's end, past which they go."""
    monkeypatch.setattr(growing_report, "PAGE", page)
    longest = f"{'l' * 64}@{'d' * 63}.{'e' * 63}.example.org"
    reporters = [*CAMPAIGN[:before], longest, *CAMPAIGN[before:30]]
    interim = interim_report(job_config, tmp_path, monkeypatch, reporters)
    writes = EveryWrite(tmp_path, monkeypatch)

    report = stopped_by_a_full_disk(interim, tmp_path, monkeypatch, reporters[:before], longest)

    assert writes.in_place == 2 and None not in writes.states
    assert records_in(report) == [f"feedback_sent:{address}" for address in reporters[: before + 1]]
    assert {"mail sent", "mail failed"} <= {op["tag"] for op in report["operations"]}
    said = report["full"]["message"]
    assert said.startswith(
        "Phish_Feedback could not write the report that records each reporter as the mail service accepts their"
        " message (No space left on device), so nothing more went out"
    )
    assert f"{before + 1} of the 31 reporter(s) were mailed: those are recorded" in said
    assert f"it mails the {30 - before} others" in said


@pytest.mark.parametrize(
    ("failed_tag", "ending"),
    [
        (
            "mail failed",
            "Take the tag 'mail failed' off the case: this report still adds it, as the one before the last message"
            " did.",
        ),
        (
            "не доставлено " * 60,  # naming it would make the sentence longer than a page
            "The case's own tags are those of the report before the last message: check them by hand.",
        ),
    ],
    ids=["named", "too-long-to-name"],
)
def test_the_last_message_of_a_campaign_on_a_full_disk_is_recorded_and_the_case_tag_left_wrong_is_named(
    tmp_path, job_config, monkeypatch, failed_tag, ending
):
    """Its report would no longer tag the case `mail failed`, which a write in place cannot take out: the report says
    to take it off by hand."""
    config = functools.partial(job_config, failed_tag=failed_tag)
    interim = interim_report(config, tmp_path, monkeypatch, CAMPAIGN[:6])
    report = stopped_by_a_full_disk(interim, tmp_path, monkeypatch, CAMPAIGN[:5], CAMPAIGN[5])

    assert records_in(report) == [f"feedback_sent:{address}" for address in CAMPAIGN[:6]]
    said = report["full"]["message"]
    assert "6 of the 6 reporter(s) were mailed: those are recorded" in said
    assert said.endswith(f"nobody is left to mail. {ending}")


def test_the_second_of_two_reporters_mailed_as_the_disk_fills_is_recorded(tmp_path, job_config, monkeypatch):
    """Two reporters are a campaign too: the report keeps room for the records of the last one."""
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN[:2])
    report = stopped_by_a_full_disk(interim, tmp_path, monkeypatch, CAMPAIGN[:1], CAMPAIGN[1])

    assert records_in(report) == [f"feedback_sent:{address}" for address in CAMPAIGN[:2]]
    assert "2 of the 2 reporter(s) were mailed: those are recorded" in report["full"]["message"]


def test_the_first_reporter_mailed_on_a_full_disk_is_recorded_and_the_case_tag_missing_is_named(
    tmp_path, job_config, monkeypatch
):
    """The report before held only a message that may have gone, and did not tag the case `mail sent`."""
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN[:6])
    report = stopped_by_a_full_disk(interim, tmp_path, monkeypatch, [], CAMPAIGN[1], unsure=CAMPAIGN[:1])

    assert records_in(report) == [f"feedback_unsure:{CAMPAIGN[0]}", f"feedback_sent:{CAMPAIGN[1]}"]
    said = report["full"]["message"]
    assert "1 of the 6 reporter(s) were mailed: those are recorded" in said
    assert "it mails the 4 others. The mail service may have had the message to 1 more." in said
    assert said.endswith("Add the tag 'mail sent' to the case: this report could not add it after the last message.")


# Case tags an administrator named at length: each would be named in the sentence of a job stopped by a full disk.
LONG_TAGS = {"sent_tag": "отправлено " * 30, "failed_tag": "не доставлено " * 30}


def test_case_tags_named_at_length_leave_the_report_growing_in_place(tmp_path, job_config, monkeypatch):
    interim = interim_report(functools.partial(job_config, **LONG_TAGS), tmp_path, monkeypatch, CAMPAIGN)
    writes = EveryWrite(tmp_path, monkeypatch)

    for address in CAMPAIGN[:100]:
        interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))

    assert writes.in_place >= 100 and len(writes.whole) <= 3, writes.whole
    assert records_in(read_output(tmp_path)[0]) == [f"feedback_sent:{address}" for address in CAMPAIGN[:100]]


def test_case_tags_named_at_length_still_let_a_full_disk_record_the_last_reporter_mailed(
    tmp_path, job_config, monkeypatch
):
    interim = interim_report(functools.partial(job_config, **LONG_TAGS), tmp_path, monkeypatch, CAMPAIGN)
    report = stopped_by_a_full_disk(interim, tmp_path, monkeypatch, CAMPAIGN[:5], CAMPAIGN[5])

    assert records_in(report) == [f"feedback_sent:{address}" for address in CAMPAIGN[:6]]
    assert "6 of the 400 reporter(s) were mailed: those are recorded" in report["full"]["message"]


@pytest.mark.slow
def test_a_reporter_whose_address_is_written_in_quotes_is_recorded_by_a_full_disk_all_the_same(
    tmp_path_factory, job_config, monkeypatch
):
    """An address holding '=' is recorded in quotes, which makes its records longer than those of a longer address:
    the room kept is that of the longest records, not of the longest address. After every number of reporters before
    it up to 300, so that its records fall all over a page of 1,024 bytes, and just past its end."""
    monkeypatch.setattr(growing_report, "PAGE", 1024)
    longest = f"{'l' * 64}@{'d' * 63}.example.org"
    quoted = f"a={'b' * 61}@{'d' * 63}.example.org"
    for before in range(1, 301):
        folder = tmp_path_factory.mktemp("job")
        with monkeypatch.context() as patched:
            interim = interim_report(job_config, folder, patched, [*CAMPAIGN[:before], quoted, longest])
            report = stopped_by_a_full_disk(interim, folder, patched, CAMPAIGN[:before], quoted)
        assert records_in(report)[-1] == f'feedback_sent:"{quoted}"', f"after {before} reporters"


def test_an_acknowledgement_stopped_by_a_full_disk_records_the_last_reporter_it_reached(
    tmp_path, job_config, monkeypatch
):
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN[:6], acknowledgement=True)
    report = stopped_by_a_full_disk(interim, tmp_path, monkeypatch, CAMPAIGN[:3], CAMPAIGN[3])

    assert records_in(report) == [f"feedback_ack:{address}" for address in CAMPAIGN[:4]]
    assert "4 of the 6 reporter(s) were mailed: those are recorded" in report["full"]["message"]


def test_a_full_disk_never_fills_in_place_a_file_put_where_the_report_was(tmp_path, job_config, monkeypatch):
    """The whole write failed, and another file stands at output.json: it is left as it is."""
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN[:6])
    monkeypatch.setattr(growing_report, "has_room", lambda size: False)
    for address in CAMPAIGN[:3]:
        interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))
    report = tmp_path / "output" / "output.json"
    planted = report.read_bytes()
    os.replace(report, tmp_path / "moved.json")  # kept, so that the file put in its place has another inode
    report.write_bytes(planted)
    monkeypatch.setattr(growing_report, "write_output_text", no_space)

    with pytest.raises(Permanent):
        interim.accepted(Outgoing(CAMPAIGN[3], f"<{CAMPAIGN[3]}>", None), datetime.now(timezone.utc))

    assert report.read_bytes() == planted


def test_without_a_file_in_memory_to_send_from_a_campaign_report_is_written_whole_at_every_message(
    tmp_path, job_config, monkeypatch
):
    """Python built on glibc before 2.27 has no memfd_create."""
    monkeypatch.delattr(os, "memfd_create")
    growing_report._staging.cache_clear()
    try:
        interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN)
        writes = EveryWrite(tmp_path, monkeypatch)
        for address in CAMPAIGN[:5]:
            interim.accepted(Outgoing(address, f"<{address}>", None), datetime.now(timezone.utc))
    finally:
        growing_report._staging.cache_clear()

    assert writes.in_place == 0 and len(writes.whole) == 5
    assert records_in(read_output(tmp_path)[0]) == [f"feedback_sent:{address}" for address in CAMPAIGN[:5]]


def test_a_disk_quota_reached_as_the_report_is_replaced_gives_back_the_reserved_room_and_records_the_reporter(
    tmp_path, job_config, monkeypatch
):
    """A quota on the Cortex user's disk is full as a disk is, in other words (EDQUOT, not ENOSPC): the room the job
    reserved is given back for the report that records the reporter just mailed, and the sending goes on."""
    interim = interim_report(job_config, tmp_path, monkeypatch, CAMPAIGN)
    reserve_room()  # as the job does at its start
    reserve = tmp_path / "output" / job_folder.RESERVE
    monkeypatch.setattr(growing_report, "has_room", lambda size: False)  # every report written whole
    replace = job_folder._replace

    def over_quota_while_reserved(folder: str, text: str) -> os.stat_result:
        if reserve.exists():
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
        return replace(folder, text)

    interim.accepted(Outgoing(CAMPAIGN[0], f"<{CAMPAIGN[0]}>", None), datetime.now(timezone.utc))
    monkeypatch.setattr(job_folder, "_replace", over_quota_while_reserved)
    interim.accepted(Outgoing(CAMPAIGN[1], f"<{CAMPAIGN[1]}>", None), datetime.now(timezone.utc))

    report = read_output(tmp_path)[0]
    assert records_in(report) == [f"feedback_sent:{address}" for address in CAMPAIGN[:2]]
    assert "after 2 of the 400 reporter(s) were mailed" in report["full"]["message"]
