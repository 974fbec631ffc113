"""A TheHive that answers more than any TheHive would: a gzip bomb, endless pages, deeply nested JSON.

What the job reads from TheHive is bounded in size, depth and pages; past a bound the job says so,
naming TheHive, and goes on with the case's tags when they name reporters.
"""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from testkit.cases import thehive5_case
from testkit.cortex import finish_job, peak_rss_kib, start_job, write_job
from testkit.thehive_api import gzip_bomb, v1_observable

V1 = "/api/v1/query"
# A job reading TheHive peaks at about 60 MB; one that held the inflated answer would pass 200 MB.
PEAK_RSS_KIB = 150_000


def test_a_gzip_answer_that_inflates_to_200_mb_is_cut_at_16_mb(tmp_path, job_config, smtp, thehive, api):
    bomb = gzip_bomb(200 << 20)
    thehive.expect_request(V1).respond_with_response(
        Response(bomb, headers={"Content-Encoding": "gzip"}, content_type="application/json")
    )
    job = write_job(tmp_path, thehive5_case("Spam", ()), job_config(**api))
    result = finish_job(start_job(job, measured=True), job)

    assert len(bomb) < 500_000
    assert peak_rss_kib(result) <= PEAK_RSS_KIB
    assert not result.success
    assert (
        f"TheHive at {api['thehive_url']} answered more than 16 MB: no more than that is read from it" in result.error
    )
    assert smtp.delivered == []


def test_an_answer_that_says_it_is_200_mb_is_read_in_pieces_and_cut_at_16_mb(tmp_path, job_config, smtp, thehive, api):
    """A length said is believed up to 16 MB: a larger one is not asked for in one read, which would hold it all."""
    said = 200 << 20

    def body():
        yield b"["
        for _ in range((said - 2) >> 20):
            yield b" " * (1 << 20)
        yield b" " * ((said - 2) % (1 << 20)) + b"]"

    thehive.expect_request(V1).respond_with_response(
        Response(body(), headers={"Content-Length": str(said)}, content_type="application/json")
    )
    job = write_job(tmp_path, thehive5_case("Spam", ()), job_config(**api))
    result = finish_job(start_job(job, measured=True), job)

    assert peak_rss_kib(result) <= PEAK_RSS_KIB
    assert not result.success
    assert "answered more than 16 MB: no more than that is read from it" in result.error


def test_a_plain_answer_that_says_it_is_over_16_mb_is_cut_at_16_mb(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_response(
        Response(b"[" + b" " * (17 << 20) + b"]", content_type="application/json")
    )
    result = cortex(thehive5_case("Spam", ()), **api)

    assert not result.success
    assert "answered more than 16 MB: no more than that is read from it" in result.error
    assert smtp.delivered == []


def test_pages_that_add_up_to_more_than_16_mb_are_cut_at_16_mb(cortex, smtp, thehive, api):
    """The 16 MB are all the job reads from TheHive, whatever the number of answers: here two pages of 9 MB."""
    padding = "x" * 90_000
    pages = iter(
        [
            {**v1_observable("mail", f"reporter{i}@example.org", ["reporter"]), "message": padding}
            for i in range(first, first + count)
        ]
        for first, count in ((0, 100), (100, 99))
    )
    thehive.expect_request(V1).respond_with_handler(
        lambda request: Response(json.dumps(next(pages)), content_type="application/json")
    )
    result = cortex(thehive5_case("Spam", ()), **api)

    assert not result.success
    assert (
        f"TheHive at {api['thehive_url']} answered more than 16 MB: no more than that is read from it" in result.error
    )
    assert len(thehive.log) == 2
    assert smtp.delivered == []


def test_a_gzip_bomb_with_reporter_tags_is_a_warning_and_the_tags_are_mailed(cortex, smtp, thehive, api):
    thehive.expect_request(V1).respond_with_response(
        Response(gzip_bomb(64 << 20), headers={"Content-Encoding": "gzip"}, content_type="application/json")
    )
    result = cortex(thehive5_case("Spam", ["alice@example.org"]), **api)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]
    assert "answered more than 16 MB" in result.output["full"]["warnings"][0]


def test_a_thehive_that_ignores_the_page_range_is_asked_a_bounded_number_of_times(cortex, smtp, thehive, api):
    page = [v1_observable("mail", f"reporter{i}@example.org", ["reporter"]) for i in range(100)]
    thehive.expect_request(V1).respond_with_json(page)
    result = cortex(thehive5_case("Spam", ()), **api, jobTimeout=1)

    assert not result.success
    assert "sent more than 10,000 observables" in result.error and "page range" in result.error
    assert len(thehive.log) == 101  # the 101st page, which a TheHive keeping to the range sends empty
    assert smtp.delivered == []


@pytest.mark.parametrize("levels", [40, 100_000])
def test_deeply_nested_json_from_thehive_is_a_clear_error(cortex, smtp, thehive, api, levels):
    thehive.expect_request(V1).respond_with_data("[" * levels + "]" * levels, content_type="application/json")
    result = cortex(thehive5_case("Spam", ()), **api)

    assert not result.success
    assert f"TheHive at {api['thehive_url']} answered JSON nested deeper than 32 levels" in result.error
    assert "Traceback" not in result.everything_printed()
