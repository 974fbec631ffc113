"""Two jobs on one case under Cortex's docker and Kubernetes runners, which mount each job folder alone: no job sees
another on its host, so a job reads TheHive's list of the case's responder actions to learn which jobs came before
it, waits for those still running, and counts as notified whom they recorded. Each job runs as the Kubernetes runner
names it (CORTEX_JOB_FOLDER; the docker runner's mount is tests/test_container.py's), against a loopback TheHive that
lists the actions as TheHive 4.1 does (testkit/thehive_actions.py)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from werkzeug import Request, Response

from feedback.concurrent_jobs import Others
from feedback.job_identity import job_id, mounted_from
from feedback.tags import notified_tags
from feedback.thehive.actions_api import Action, read_actions
from feedback.thehive.running_jobs import others
from testkit.cases import thehive4_case
from testkit.cortex import JobResult, finish_job, start_job, write_job
from testkit.thehive_actions import (
    CORTEX_JOB_FOLDER,
    EXECUTIONS,
    LEGACY,
    V1,
    V1_CONNECTOR,
    Actions,
    action,
    now_ms,
    thehive5,
    thehive35,
)

ALICE, BOB = "alice@example.org", "bob@example.org"
CASE = thehive4_case("Spam", [ALICE, BOB])
FIRST, SECOND = "AYxKq3bTv0hD2-first_", "AYxKq3bTv0hD2-second"
# Alice's records as a job that mailed her the verdict a minute ago asked TheHive to add them.
ALICE_TOLD = notified_tags(ALICE, datetime.now(timezone.utc) - timedelta(minutes=1), "Spam")


def serve(thehive, actions: Actions, *, legacy: bool = False) -> None:
    """TheHive 4.1's two lists of the actions (TheHive 3.5's legacy one alone, with `legacy`), no observables and no
    merged alert."""
    if not legacy:
        thehive.expect_request(V1, method="POST", query_string="name=case-actions").respond_with_handler(actions.answer)
    thehive.expect_request(LEGACY.format(id=CASE["_id"]), query_string="range=all").respond_with_handler(actions.answer)
    serve_nothing_else(thehive)


def serve_nothing_else(thehive) -> None:
    """Neither of TheHive 5's lists of the actions (TheHive 3.5 and 4 have no such routes), no observables and no
    merged alert."""
    for route in (EXECUTIONS, V1_CONNECTOR):
        thehive.expect_request(route.format(id=CASE["_id"])).respond_with_data("", status=404)
    thehive.expect_request(V1).respond_with_json([])
    thehive.expect_request("/api/case/artifact/_search").respond_with_json([])


def serve_executions(thehive, actions: Actions) -> None:
    """TheHive 5.8's list of responder executions; no query of the actions, nor TheHive 5.6's list."""
    no_query_of_actions(thehive)
    thehive.expect_request(EXECUTIONS.format(id=CASE["_id"])).respond_with_handler(actions.answer)
    serve_nothing_else(thehive)


def no_query_of_actions(thehive) -> list:
    """A TheHive whose v1 query has no `actions` step, as TheHive 4's has; each time it was asked."""
    asked = []

    def refuse(request: Request) -> Response:
        asked.append(request)
        return Response(json.dumps({"type": "BadRequest", "message": "Unknown query step actions"}), status=400)

    thehive.expect_request(V1, query_string="name=case-actions").respond_with_handler(refuse)
    return asked


def start_alone(tmp_path: Path, case: dict, config: dict, job: str | None):
    """A job folder mounted alone (not in a directory of job folders), named by the runner as Cortex's Kubernetes
    runner names it."""
    folder = write_job(tmp_path, case, config)
    alone = tmp_path / f"pod-{folder.name}" / "job"
    alone.parent.mkdir()
    shutil.move(folder, alone)
    named = {"CORTEX_JOB_FOLDER": CORTEX_JOB_FOLDER.format(job=job) if job else None}
    return start_job(alone, environment=named), alone


def run_alone(tmp_path: Path, case: dict, config: dict, job: str | None) -> JobResult:
    return finish_job(*start_alone(tmp_path, case, config, job))


@pytest.mark.slow
def test_a_second_click_waits_for_the_job_before_it_and_mails_nobody_it_reached(
    tmp_path, job_config, thehive, api, smtp
):
    config = job_config(**api)
    started = now_ms() - 3000
    actions = Actions(action(FIRST, started), action(SECOND, started + 1500))
    serve(thehive, actions)
    # The first job ended in Cortex; TheHive, which polls Cortex every 5 s, still shows it running.
    first = run_alone(tmp_path, CASE, config, FIRST)
    assert first.success, first.error
    process, folder = start_alone(tmp_path, CASE, config, SECOND)
    limit = time.monotonic() + 30
    while actions.asked < 3:  # its own listing, and two more while it waits
        assert process.poll() is None and time.monotonic() < limit
        time.sleep(0.05)

    actions.end(FIRST, first.tags)
    second = finish_job(process, folder)

    assert second.success, second.error
    smtp.assert_each_got_exactly_one([ALICE, BOB])
    assert (
        second.output["full"]["message"]
        == "All 2 reporter(s) of this case were already notified; nothing was sent. See the 1 warning(s)."
    )
    [waited] = second.output["full"]["warnings"]
    assert waited.startswith(
        "Another Phish_Feedback job was answering this case when this one started: this one waited"
    )
    records = [tag for tag in first.tags if tag.startswith(("feedback_sent:", "feedback_verdict:"))]
    assert len(records) == 4 and set(records) <= set(second.tags)


def test_a_job_started_before_thehive_added_the_last_ones_tags_mails_only_whom_it_did_not_reach(
    tmp_path, job_config, thehive, api, smtp
):
    config = job_config(**api)
    actions = Actions(action(FIRST, now_ms() - 60_000), action(SECOND, now_ms() - 1000))
    serve(thehive, actions)
    first = run_alone(tmp_path, thehive4_case("Spam", [ALICE]), config, FIRST)  # before bob's report was merged
    actions.end(FIRST, first.tags)

    second = run_alone(tmp_path, CASE, config, SECOND)

    assert second.success, second.error
    assert smtp.recipients() == [ALICE, BOB]
    [counted] = second.output["full"]["warnings"]
    assert counted.startswith(
        f"{ALICE}: counted as notified by a Phish_Feedback job on this case whose tags it does not show yet"
    )
    assert f"feedback_sent:{ALICE}" in second.tags and f"feedback_sent:{BOB}" in second.tags


def test_records_of_a_job_thehive_says_ended_days_ahead_count_until_a_time_the_warning_dates(
    tmp_path, job_config, thehive, api, smtp
):
    """TheHive's times are read on this host's clock, shifted by how long after this job's action was made the job
    read them: the time said lies between 15 minutes after the end TheHive gave and that much later."""
    ahead = datetime.now(timezone.utc) + timedelta(days=3)
    ended = int(ahead.timestamp() * 1000)
    served = time.monotonic()
    serve(thehive, Actions(action(FIRST, now_ms() - 60_000, ended=ended, tags=ALICE_TOLD), action(SECOND, now_ms())))

    second = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert second.success, second.error
    assert smtp.recipients() == [BOB]
    [counted] = second.output["full"]["warnings"]
    said = re.search(r"run the responder after (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", counted)
    assert said, counted
    until = datetime.strptime(said[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    earliest = ahead + timedelta(minutes=15, seconds=-1)  # the seconds said whole
    assert earliest <= until <= earliest + timedelta(seconds=1 + time.monotonic() - served)


def test_records_in_thehives_list_that_name_no_address_are_neither_counted_nor_carried(
    tmp_path, job_config, thehive, api, smtp
):
    """A damaged or hostile list of the actions: the job adds to the case only the records that name an address."""
    junk = [
        "feedback_sent:<script>alert(1)</script>",
        "feedback_sent:" + "x" * 300 + "@example.org",
        "feedback_verdict:2026-12-01T10:00:00Z;Spam;not an address",
        "feedback_unsure:bob",
    ]
    ended = action(FIRST, now_ms() - 60_000, ended=now_ms() - 50_000, tags=[*ALICE_TOLD, *junk])
    serve(thehive, Actions(ended, action(SECOND, now_ms())))

    second = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert second.success, second.error
    assert smtp.recipients() == [BOB]
    assert set(ALICE_TOLD) <= set(second.tags)
    assert not set(junk) & set(second.tags)
    [counted] = second.output["full"]["warnings"]
    assert counted.startswith(f"{ALICE}: counted as notified")


def test_later_clicks_other_responders_and_jobs_thehive_forgot_hold_no_job(tmp_path, job_config, thehive, api, smtp):
    started = now_ms() - 2000
    actions = Actions(
        action(SECOND, started),
        action("AYlater", started + 500),  # clicked after this one: it waits for this one
        action("AYacknowledgement", started - 500, responder="Phish_Feedback_Acknowledge_1_2"),
        action("AYforgotten", started - 2 * 3600 * 1000),  # still "Waiting" since a TheHive restart
    )
    serve(thehive, actions)

    second = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert second.success, second.error
    assert smtp.recipients() == [ALICE, BOB]
    assert second.output["full"]["warnings"] == []
    assert actions.asked == 1


@pytest.mark.slow
def test_a_job_that_waited_half_its_time_for_the_one_before_sends_nothing_and_says_why(
    tmp_path, job_config, thehive, api, smtp
):
    """jobTimeout 1 minute: the job plans 48 s, and gives the other job 24 of them."""
    actions = Actions(action(FIRST, now_ms() - 5000), action(SECOND, now_ms() - 1000))
    serve(thehive, actions)

    second = run_alone(tmp_path, CASE, job_config(jobTimeout=1, **api), SECOND)

    assert not second.success
    assert second.error.startswith(
        "Another Phish_Feedback job on this case was still going when this one had waited half its time for it, so"
        " this one sent nothing. Run the responder again once that job has ended and its tags are on the case"
    )
    assert smtp.recipients() == []


@pytest.mark.slow
def test_a_job_waiting_for_the_one_before_sends_nothing_once_thehive_can_no_longer_say_it_ended(
    tmp_path, job_config, thehive, api, smtp
):
    actions = Actions(action(FIRST, now_ms() - 5000), action(SECOND, now_ms() - 1000))
    serve(thehive, actions)
    process, folder = start_alone(tmp_path, CASE, job_config(**api), SECOND)
    limit = time.monotonic() + 30
    while actions.asked < 2:
        assert process.poll() is None and time.monotonic() < limit
        time.sleep(0.05)

    actions.down = True
    result = finish_job(process, folder)

    assert not result.success
    assert result.error == (
        "Another Phish_Feedback job on this case was still going, and TheHive could no longer say whether it had ended,"
        f" so this one sent nothing: TheHive at {api['thehive_url']} answered HTTP 503. Check that TheHive is up, then"
        " run the responder again."
    )
    assert smtp.recipients() == []


def test_a_dry_run_waits_for_no_job_thehive_lists(tmp_path, job_config, thehive, api, smtp):
    actions = Actions(action(FIRST, now_ms() - 5000), action(SECOND, now_ms() - 1000))
    serve(thehive, actions)

    preview = run_alone(tmp_path, CASE, job_config(dry_run=True, **api), SECOND)

    assert preview.success, preview.error
    assert actions.asked == 1
    assert smtp.recipients() == []


def test_a_dry_run_that_cannot_list_the_actions_warns_of_what_a_run_would_risk(
    tmp_path, job_config, thehive, api, smtp
):
    thehive.expect_request(V1, query_string="name=case-actions").respond_with_data("", status=500)
    serve_nothing_else(thehive)

    preview = run_alone(tmp_path, CASE, job_config(dry_run=True, **api), SECOND)

    assert preview.success, preview.error
    assert smtp.recipients() == []
    assert preview.output["full"]["warnings"][0] == (
        "This job could not learn from TheHive which Phish_Feedback jobs came before it on this case, so a second"
        f" click while a job sends would mail the reporters again: TheHive at {api['thehive_url']} answered HTTP 500."
        " Check that TheHive is up, then run the responder again."
    )


def test_a_thehive_that_cannot_list_the_actions_stops_no_job_and_the_job_says_what_it_risks(
    tmp_path, job_config, thehive, api, smtp
):
    """A server error: TheHive's other lists, which it would answer, are not asked."""
    actions = Actions(action(SECOND, now_ms() - 1000))
    thehive.expect_request(V1, query_string="name=case-actions").respond_with_data("", status=500)
    for route in (EXECUTIONS, V1_CONNECTOR, LEGACY):
        thehive.expect_request(route.format(id=CASE["_id"])).respond_with_handler(actions.answer)
    thehive.expect_request(V1).respond_with_json([])

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    assert smtp.recipients() == [ALICE, BOB]
    assert actions.asked == 0
    assert result.output["full"]["warnings"] == [
        "This job could not learn from TheHive which Phish_Feedback jobs came before it on this case, so a second"
        f" click while a job sends would mail the reporters again: TheHive at {api['thehive_url']} answered HTTP 500."
        " Check that TheHive is up, then run the responder again."
    ]


@pytest.mark.slow
def test_a_job_thehive_does_not_list_goes_on_and_says_so(tmp_path, job_config, thehive, api, smtp):
    actions = Actions(action(FIRST, now_ms() - 5000))  # another TheHive's job, or this one's never recorded
    serve(thehive, actions)

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    assert smtp.recipients() == [ALICE, BOB]
    assert result.output["full"]["warnings"] == [
        f"TheHive at {api['thehive_url']} did not list this job (Cortex job {SECOND}) among the case's responder"
        " actions within 10 s. So this job could not tell which Phish_Feedback jobs came before it, and a second click"
        " while a job sends would mail the reporters again. Check that thehive_url is the TheHive that started this"
        " job."
    ]


def test_on_thehive_58_the_jobs_before_are_read_from_its_list_of_responder_executions_page_by_page(
    tmp_path, job_config, thehive, api, smtp
):
    """Its API documentation's examples: the definition an object, the operations a list. 150 actions of other
    responders on the case's observables first: two pages."""
    others = [action(f"AYother{n}", now_ms() - 90_000 + n, responder="Mailer_1_0") for n in range(150)]
    first = action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=ALICE_TOLD)
    actions = Actions(*(thehive5(a, as_examples=True) for a in [*others, first, action(SECOND, now_ms() - 1000)]))
    serve_executions(thehive, actions)

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    assert smtp.recipients() == [BOB]
    assert actions.asked == 3  # 100, 52, none


def test_a_thehive_58_that_gives_fewer_a_page_than_asked_is_read_to_the_end(tmp_path, job_config, thehive, api, smtp):
    """30 a page, its documented default, where 100 were asked: the job before is on the third page."""
    others = [action(f"AYother{n}", now_ms() - 90_000 + n, responder="Mailer_1_0") for n in range(60)]
    first = action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=ALICE_TOLD)
    listed = [thehive5(a) for a in [*others, first, action(SECOND, now_ms() - 1000)]]
    actions = Actions(*listed, page_size=30)
    serve_executions(thehive, actions)

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    assert smtp.recipients() == [BOB]


def test_a_list_that_lacks_this_job_gives_way_to_the_list_that_has_it(tmp_path, job_config, thehive, api, smtp):
    """A TheHive 5.8 whose query of a case's actions still answers, with none of the runs since its list of responder
    executions."""
    first = action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=ALICE_TOLD)
    executions = Actions(*(thehive5(a) for a in [first, action(SECOND, now_ms() - 1000)]))
    thehive.expect_request(EXECUTIONS.format(id=CASE["_id"])).respond_with_handler(executions.answer)
    serve(thehive, Actions())

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    assert smtp.recipients() == [BOB]


def test_a_list_longer_than_the_page_asked_for_is_taken_whole(tmp_path, job_config, thehive, api, smtp):
    others = [action(f"AYother{n}", now_ms() - 9_000 + n, responder="Mailer_1_0") for n in range(120)]
    first = action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=ALICE_TOLD)
    actions = Actions(*(thehive5(a) for a in [first, *others, action(SECOND, now_ms() - 1000)]), paged=False)
    serve_executions(thehive, actions)

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    assert smtp.recipients() == [BOB]
    assert actions.asked == 1


def test_a_job_whose_action_thehive_makes_late_finds_it_and_the_job_before(tmp_path, job_config, thehive, api, smtp):
    """Cortex starts the job before TheHive has its answer: until then TheHive 4 lists no action either way."""
    actions = Actions()
    serve(thehive, actions)
    process, folder = start_alone(tmp_path, CASE, job_config(**api), SECOND)
    limit = time.monotonic() + 30
    while actions.asked < 4:  # both lists, twice
        assert process.poll() is None and time.monotonic() < limit
        time.sleep(0.05)

    actions.found = [action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=ALICE_TOLD), action(SECOND, now_ms())]
    result = finish_job(process, folder)

    assert result.success, result.error
    assert smtp.recipients() == [BOB]


def test_a_list_that_answered_404_once_is_asked_again_at_the_next_try(tmp_path, job_config, thehive, api, smtp):
    """A TheHive 5.8 whose query answers without the newer runs, and whose list of them answered 404 once (a proxy
    before it, restarting)."""
    first = action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=ALICE_TOLD)
    executions = Actions(*(thehive5(a) for a in [first, action(SECOND, now_ms() - 1000)]))
    absent = [Response("", status=404)]

    def once_absent(request: Request) -> Response:
        return absent.pop() if absent else executions.answer(request)

    thehive.expect_request(EXECUTIONS.format(id=CASE["_id"])).respond_with_handler(once_absent)
    serve(thehive, Actions())

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    assert smtp.recipients() == [BOB]


@pytest.mark.slow
def test_on_thehive_56_a_job_waits_for_the_one_before_through_its_list_asking_no_other(
    tmp_path, job_config, thehive, api, smtp
):
    """TheHive 5.6's API documentation: no query of the actions, no list of responder executions; its own list, whole,
    asked alone once it answered."""
    actions = Actions(*(thehive5(a) for a in [action(FIRST, now_ms() - 5000), action(SECOND, now_ms() - 1000)]))
    queries = no_query_of_actions(thehive)
    thehive.expect_request(V1_CONNECTOR.format(id=CASE["_id"])).respond_with_handler(actions.answer)
    serve_nothing_else(thehive)
    process, folder = start_alone(tmp_path, CASE, job_config(**api), SECOND)
    limit = time.monotonic() + 30
    while actions.asked < 3:  # its own listing, and two more while it waits
        assert process.poll() is None and time.monotonic() < limit
        time.sleep(0.05)

    actions.end(FIRST, ALICE_TOLD)
    actions.found = [thehive5(a) for a in actions.found]
    second = finish_job(process, folder)

    assert second.success, second.error
    assert smtp.recipients() == [BOB]
    assert len(queries) == 1


def test_on_thehive_35_the_jobs_before_are_read_from_its_legacy_list(tmp_path, job_config, thehive, api, smtp):
    config = job_config(thehive_api="legacy", **api)
    actions = Actions(thehive35(action(SECOND, now_ms() - 1000)))
    serve(thehive, actions, legacy=True)
    first = run_alone(tmp_path, thehive4_case("Spam", [ALICE]), job_config(**{**api, "thehive_url": ""}), None)
    actions.found.insert(0, thehive35(action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=first.tags)))

    second = run_alone(tmp_path, CASE, config, SECOND)

    assert second.success, second.error
    assert smtp.recipients() == [ALICE, BOB]


def test_a_thehive_whose_v1_api_has_no_list_of_actions_is_read_the_legacy_way(tmp_path, job_config, thehive, api, smtp):
    actions = Actions(action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=ALICE_TOLD))
    actions.found.append(action(SECOND, now_ms() - 1000))
    thehive.expect_request(V1, query_string="name=case-actions").respond_with_json(
        {"type": "BadRequest", "message": "Query step actions is not supported"}, status=400
    )
    serve(thehive, actions, legacy=True)

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    assert smtp.recipients() == [BOB]


def test_where_the_jobs_of_a_host_cannot_meet_the_process_runners_job_reads_thehives_list(
    tmp_path, job_config, thehive, api, smtp
):
    """A job directory others may write in: no job takes its turn beside the others (tests/test_concurrent_jobs.py)."""
    tmp_path.chmod(0o777)
    actions = Actions(action(FIRST, now_ms() - 60_000, ended=now_ms(), tags=ALICE_TOLD))
    actions.found.append(action(SECOND, now_ms() - 1000))
    serve(thehive, actions)
    folder = write_job(tmp_path, CASE, job_config(**api), job_id=SECOND)

    result = finish_job(start_job(folder), folder)

    assert result.success, result.error
    assert smtp.recipients() == [BOB]
    [counted] = result.output["full"]["warnings"]
    assert counted.startswith(f"{ALICE}: counted as notified")


@pytest.mark.slow
def test_a_job_stopped_while_it_asks_thehive_again_whether_the_one_before_ended_says_it_was_waiting(
    tmp_path, job_config, thehive, api, smtp
):
    """Cortex's process runner (SIGTERM at the Job timeout), in a job directory where its jobs cannot meet."""
    tmp_path.chmod(0o777)
    actions = Actions(action(FIRST, now_ms() - 5000), action(SECOND, now_ms() - 1000))

    def slow_after_the_first(request):
        answer = actions.answer(request)
        if actions.asked > 1:
            time.sleep(5)
        return answer

    thehive.expect_request(V1, query_string="name=case-actions").respond_with_handler(slow_after_the_first)
    thehive.expect_request(V1).respond_with_json([])
    folder = write_job(tmp_path, CASE, job_config(**api), job_id=SECOND)
    process = start_job(folder)
    limit = time.monotonic() + 30
    while actions.asked < 2:
        assert process.poll() is None and time.monotonic() < limit
        time.sleep(0.05)
    time.sleep(0.5)  # inside its second listing, which TheHive holds

    process.send_signal(signal.SIGTERM)
    stopped = finish_job(process, folder)

    assert stopped.error.startswith(
        "Cortex stopped the job (its jobTimeout ran out) while it waited for another Phish_Feedback job on this case"
        " before any feedback was sent: nothing was sent or tagged."
    ), stopped.error
    assert smtp.recipients() == []


def test_with_thehive_v1_alone_the_legacy_list_is_never_asked(tmp_path, job_config, thehive, api, smtp):
    actions = Actions(action(SECOND, now_ms() - 1000))
    thehive.expect_request(V1, query_string="name=case-actions").respond_with_json(
        {"type": "BadRequest", "message": "Query step actions is not supported"}, status=400
    )
    serve(thehive, actions, legacy=True)

    result = run_alone(tmp_path, CASE, job_config(thehive_api="v1", **api), SECOND)

    assert result.success, result.error
    assert actions.asked == 0
    url = api["thehive_url"]
    assert result.output["full"]["warnings"][0].endswith(
        f"TheHive at {url} answered HTTP 400 to /api/v1/query. Check thehive_url and thehive_api. TheHive at {url}"
        " answered HTTP 404 to /api/v1/connector/cortex/action/case/~41160752. Check thehive_url and thehive_api."
    )


def test_a_process_runners_job_whose_host_shows_the_others_asks_thehive_nothing_of_them(
    tmp_path, job_config, thehive, api, smtp
):
    actions = Actions(action(FIRST, now_ms() - 5000), action(SECOND, now_ms() - 1000))
    serve(thehive, actions)
    folder = write_job(tmp_path, CASE, job_config(**api), job_id=SECOND)

    result = finish_job(start_job(folder), folder)

    assert result.success, result.error
    assert actions.asked == 0 and result.output["full"]["warnings"] == []


def test_a_dry_run_where_the_host_cannot_lock_waits_for_no_job_thehive_lists(tmp_path, job_config, thehive, api, smtp):
    tmp_path.chmod(0o777)
    actions = Actions(action(FIRST, now_ms() - 5000), action(SECOND, now_ms() - 1000))
    serve(thehive, actions)
    folder = write_job(tmp_path, CASE, job_config(dry_run=True, **api), job_id=SECOND)

    preview = finish_job(start_job(folder), folder)

    assert preview.success, preview.error
    assert actions.asked == 1


def test_a_job_cortex_did_not_name_asks_thehive_nothing_of_the_others_and_says_what_it_risks(
    tmp_path, job_config, thehive, api, smtp
):
    actions = Actions(action(FIRST, now_ms() - 5000))
    serve(thehive, actions)
    process, folder = start_alone(tmp_path, CASE, job_config(**api), None)

    result = finish_job(process, folder)

    assert result.success, result.error
    assert actions.asked == 0
    assert result.output["full"]["warnings"] == [
        "This job could not tell which Phish_Feedback jobs came before it on this case, so a second click while a job"
        " sends would mail the reporters again: it found no Cortex job id in the name of its folder,"
        f" {folder}, nor in CORTEX_JOB_FOLDER, nor in the mount table. A job Cortex runs has one; a job run by"
        " hand has none."
    ]


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("/var/lib/cortex/jobs/cortex-job-AYxKq3bTv0hD2-f_9-4611686018427387904", "AYxKq3bTv0hD2-f_9"),
        ("cortex-job-42-7/", "42"),
        ("/job", None),
        ("cortex-job-AYx", None),
        ("cortex-job--123", None),
        ("cortex-job-AYx-12a", None),
        ("", None),
    ],
)
def test_the_job_id_is_read_from_the_name_cortex_gives_its_folder(folder, expected):
    assert job_id(folder) == expected


def test_the_folder_mounted_at_job_is_read_from_the_mount_table_spaces_and_all():
    table = (
        "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        "66 22 254:0 /srv/cortex\\040jobs/cortex-job-AYx-77 /job rw,relatime - ext4 /dev/vda rw\n"
        "67 22 0:5 / /job/input ro - tmpfs tmpfs ro\n"
    )
    assert mounted_from(table, "/job") == "/srv/cortex jobs/cortex-job-AYx-77"
    assert mounted_from(table, "/elsewhere") == ""


def test_an_action_thehive_does_not_describe_whole_is_passed_over():
    whole = action(FIRST, 1_000, ended=2_000, tags=["feedback_sent:a@example.org"])
    listed = [
        whole,
        {**whole, "cortexJobId": None},
        {**whole, "startDate": "yesterday"},
        {**whole, "operations": "[not json"},
        "an action",
    ]
    assert read_actions(listed, "case") == [
        Action(
            FIRST, whole["responderId"], whole["responderDefinition"], True, 1.0, 2.0, ("feedback_sent:a@example.org",)
        ),
        Action(FIRST, whole["responderId"], whole["responderDefinition"], True, 1.0, 2.0, ()),
    ]


def test_of_two_jobs_thehive_made_in_the_same_millisecond_exactly_one_waits_for_the_other():
    one, other = Action(FIRST, "R", "D", False, 10.0, 10.0, ()), Action(SECOND, "R", "D", False, 10.0, 10.0, ())
    assert [others([one, other], own, 1800, 10.0).running for own in (one, other)] == [0, 1]


def test_a_job_that_failed_is_waited_for_no_more_and_one_thehive_forgot_not_at_all():
    own = Action(SECOND, "R", "D", False, 4000.0, 4000.0, ())
    failed = Action(FIRST, "R", "D", True, 3990.0, 3995.0, ())
    forgotten = Action("AYold", "R", "D", False, 4000.0 - 1800 - 61, 4000.0 - 1800 - 61, ())
    recent = Action("AYrecent", "R", "D", False, 4000.0 - 1800 - 59, 4000.0 - 1800 - 59, ())
    assert others([own, failed, forgotten], own, 1800, 4000.0).running == 0
    assert others([own, recent], own, 1800, 4000.0).running == 1


def test_dates_that_are_no_numbers_and_operations_nested_past_any_reader_are_passed_over():
    whole = action(FIRST, 1_000, ended=2_000, tags=["feedback_sent:a@example.org"])
    listed = [
        {**whole, "startDate": True},
        {**whole, "startDate": 10**400},
        {**whole, "startDate": float("inf")},
        {**whole, "endDate": False},
        {**whole, "endDate": 10**20},
        {**whole, "operations": "[" * 100_000},
    ]
    responder, definition = whole["responderId"], whole["responderDefinition"]
    undated = Action(FIRST, responder, definition, True, 1.0, 1.0, ("feedback_sent:a@example.org",))
    assert read_actions(listed, "case") == [undated, undated, Action(FIRST, responder, definition, True, 1.0, 2.0, ())]


def test_of_two_mounts_at_job_the_last_one_is_the_job_folder():
    table = (
        "66 22 254:0 /srv/jobs/cortex-job-AYold-1 /job rw - ext4 /dev/vda rw\n"
        "70 22 254:0 /srv/jobs/cortex-job-AYnew-2 /job rw - ext4 /dev/vda rw\n"
    )
    assert mounted_from(table, "/job") == "/srv/jobs/cortex-job-AYnew-2"


def test_the_jobs_of_one_responder_on_two_cortex_wait_for_each_other():
    """Two Cortex that TheHive asks each give the responder an id of their own; its definition is the same."""
    one = action(FIRST, 1_000)
    other = {**action(SECOND, 2_000), "responderId": "0" * 32}
    [first, second] = read_actions([one, other], "case")
    assert others([first, second], second, 1800, 2.0).running == 1


def test_a_definition_thehive_5_lists_as_an_object_names_the_responder_across_two_cortex_all_the_same():
    one = thehive5(action(FIRST, 1_000), as_examples=True)
    other = {**thehive5(action(SECOND, 2_000), as_examples=True), "responderId": "0" * 32}
    [first, second] = read_actions([one, other], "case")
    assert others([first, second], second, 1800, 2.0).running == 1


def test_an_ended_jobs_records_count_by_thehives_clock_whatever_the_hosts():
    """TheHive's clock 20 minutes behind the host's: the job that ended a second before this one's click is recent."""
    own = Action(SECOND, "R", "D", False, 1000.0, 1000.0, ())
    ended = Action(FIRST, "R", "D", True, 900.0, 999.0, ("feedback_sent:a@example.org",))
    host_now = 1000.0 + 20 * 60 + 3
    assert others([own, ended], own, 1800, host_now).lines[0] == [FIRST, host_now - 1.0, "feedback_sent:a@example.org"]


def test_an_action_listed_without_its_definition_is_one_of_this_responders_by_its_id():
    """TheHive 5 types the definition as one it may leave out."""
    mine = action(SECOND, 2_000)
    earlier = {k: v for k, v in action(FIRST, 1_000).items() if k != "responderDefinition"}
    [first, second] = read_actions([earlier, mine], "case")
    assert others([first, second], second, 1800, 2.0).running == 1


def test_where_thehive_lists_no_actions_either_way_the_warning_names_both_failures(
    tmp_path, job_config, thehive, api, smtp
):
    """A TheHive with no v1 list of actions, whose legacy list needs a permission the key lacks (TheHive 4 answers
    404 "Case not found" without manageAction)."""
    thehive.expect_request(V1, query_string="name=case-actions").respond_with_json(
        {"type": "BadRequest", "message": "Query step actions is not supported"}, status=400
    )
    thehive.expect_request(LEGACY.format(id=CASE["_id"])).respond_with_json(
        {"type": "NotFoundError", "message": "Case not found"}, status=404
    )
    serve_nothing_else(thehive)

    result = run_alone(tmp_path, CASE, job_config(**api), SECOND)

    assert result.success, result.error
    url = api["thehive_url"]
    assert result.output["full"]["warnings"] == [
        "This job could not learn from TheHive which Phish_Feedback jobs came before it on this case, so a second"
        f" click while a job sends would mail the reporters again: TheHive at {url} answered HTTP 400 to /api/v1/query."
        f" Check thehive_url and thehive_api. TheHive at {url} answered HTTP 404 to"
        " /api/connector/cortex/action/case/~41160752. Check thehive_url and thehive_api."
    ]


def test_on_thehive_35_operations_without_their_type_still_name_their_tags():
    listed = thehive35(action(FIRST, 1_000, ended=2_000, tags=["feedback_sent:a@example.org"]))
    assert "type" not in listed["operations"]
    [read] = read_actions([listed], "case")
    assert read.tags == ("feedback_sent:a@example.org",)


def test_only_the_records_of_reporters_count_among_an_ended_jobs_tags():
    own = Action(SECOND, "R", "D", False, 10.0, 10.0, ())
    ended = Action(
        FIRST, "R", "D", True, 5.0, 8.0, ("feedback_sent:a@example.org", "mail sent", "feedback_failed:b@x.org")
    )
    assert others([own, ended], own, 1800, 10.0) == Others(
        0, [[FIRST, 8.0, "feedback_sent:a@example.org"], [FIRST, 8.0, None]]
    )
