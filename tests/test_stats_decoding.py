"""TheHive's pages decoded for the statistics: only what is read is kept, the same whichever decoder runs, within
the responder's bounds."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedback.bounded_json import PastBound, nesting
from feedback.stats import decoding
from feedback.stats.decoding import decoded, page_decoded
from feedback.stats.facts import case_facts
from testkit.report_cases import generate
from testkit.report_shapes import v0_case, v1_case

EXAMPLES = int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "150"))
SHAPES = {
    "5": v1_case,
    "4.1": v0_case,
    "4.0": lambda report: v0_case(report, thehive40=True),
    # TheHive 5 names an alert's times one by one: where the first is unset, the next is the one read.
    "5-alert-date-unset": lambda report: {**v1_case(report), "alertDate": None},
    "5-import-date-alone": lambda report: {
        **v1_case(report),
        "alertDate": None,
        "alertNewDate": None,
        "alertImportedDate": report.alert,
    },
}


@pytest.fixture(params=["msgspec", "json"])
def decoder(request, monkeypatch):
    """The page decoder where msgspec is installed, and where it is missing."""
    if request.param == "json":
        monkeypatch.setattr(decoding, "_CASES", None)
    elif decoding._CASES is None:
        pytest.skip("msgspec is not installed")
    return page_decoded


def page_of(shape, count: int = 60) -> bytes:
    return json.dumps([shape(report) for report in generate(count, seed=9)], ensure_ascii=False).encode()


@pytest.mark.parametrize("version", SHAPES)
def test_every_shape_thehive_sends_gives_the_same_facts_as_the_whole_case(version, decoder):
    page = page_of(SHAPES[version])
    whole = json.loads(page)

    kept = decoder(page)

    assert [case_facts(case, "phishFeedback", "Phishing report") for case in kept] == [
        case_facts(case, "phishFeedback", "Phishing report") for case in whole
    ]
    assert [case.get("_id") for case in kept] == [case["_id"] for case in whole]


def test_what_the_statistics_do_not_read_is_not_kept():
    if decoding._CASES is None:
        pytest.skip("msgspec is not installed")

    kept = page_decoded(page_of(v1_case, 5))

    assert all("description" not in case and "userPermissions" not in case for case in kept)
    assert all(set(field) == {"name", "value"} for case in kept for field in case["customFields"])


def deepest(kind: object) -> float:
    """How deep a value of this msgspec type can nest; without end for `Any`."""
    import msgspec.inspect as types

    if isinstance(kind, types.AnyType):
        return float("inf")
    if isinstance(kind, types.UnionType):
        return max(map(deepest, kind.types))
    if isinstance(kind, types.ListType):
        return 1 + deepest(kind.item_type)
    if isinstance(kind, types.DictType):
        return 1 + deepest(kind.value_type)
    if isinstance(kind, types.TypedDictType):
        return 1 + max(deepest(field.type) for field in kind.fields)
    return 0


def test_what_msgspec_makes_of_a_page_nests_within_the_bound_without_a_walk():
    if decoding._CASES is None:
        pytest.skip("msgspec is not installed")
    import msgspec.inspect

    assert deepest(msgspec.inspect.type_info(list[decoding.Case])) < 32


@pytest.mark.parametrize(
    "page",
    [
        '["a string", {"_id": "~3", "title": 42, "customFields": "Spam", "tags": [7, null], "more": {}}, 42]',
        '[{"_id": "~4", "title": "Phishing report: x", "_createdAt": 1767225600000, "summary": NaN}]',
        '{"cases": []}',
    ],
    ids=["types", "nan", "object"],
)
def test_a_page_the_reading_of_cases_does_not_expect_is_decoded_whole_as_json_decodes_it(page, decoder):
    assert json.dumps(decoder(page.encode())) == json.dumps(json.loads(page))


def test_an_answer_that_is_no_json_is_none(decoder):
    assert decoder(b"<html>Bad gateway</html>") is None
    assert decoder(b'[{"title": "Phishing report: x"}] trailing') is None


def depth(value: object) -> int:
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        return 0
    return 1 + max(map(depth, value), default=0)


# Every character JSON escapes (the quote, the backslash, the control characters with a letter of their own and
# those written \u00XX), beside the structure's own, letters that follow a backslash in an escape, and others.
texts = st.text(alphabet=st.sampled_from('[]{}"\\abnrtu/\n\t\r\b\f\x01\u00e9\u2028:,'), max_size=12)
nested = st.recursive(
    st.none() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(nested, st.booleans())
def test_nesting_is_counted_on_the_bytes_as_the_decoded_value_nests(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()

    assert nesting(body) == depth(value)


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(nested, st.integers(min_value=29, max_value=34))
def test_a_page_is_refused_exactly_when_it_nests_32_levels_or_more(value, levels):
    while depth(value) < levels:
        value = [value]
    body = json.dumps(value).encode()

    for decode in (decoded, page_decoded):
        if depth(value) >= 32:
            with pytest.raises(PastBound, match="nested deeper than 32 levels"):
                decode(body)
        else:
            assert depth(decode(body)) == depth(value)


@pytest.mark.parametrize("levels", [30, 2000, 100_000], ids=["past-the-bound", "past-the-parser", "past-the-stack"])
def test_a_page_nested_past_the_bound_is_refused(levels, decoder):
    with pytest.raises(PastBound, match="nested deeper than 32 levels"):
        decoder(b'[{"tags": ' + b"[" * levels + b"[1]" + b"]" * levels + b"}]")  # with its values, levels + 3
    assert decoder(
        b'[{"tags": ' + b"[" * 28 + b"[1]" + b"]" * 28 + b', "title": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]'
    )


def test_a_value_nested_past_the_stack_where_nothing_is_read_is_refused_in_one_sentence_or_skipped_unread(decoder):
    """json recurses into it, as msgspec's skipping of it does before Python 3.14, whose guard measures the C stack
    and lets msgspec skip it whole: the page is then read without it."""
    body = b'[{"description": ' + b"[" * 100_000 + b"]" * 100_000 + b', "title": "Phishing report: x"}]'
    try:
        kept = decoder(body)
    except PastBound as refused:
        assert "nested deeper than 32 levels" in str(refused)
    else:
        assert decoding._CASES is not None  # json never skips a value
        assert [(case.get("title"), "description" in case) for case in kept] == [("Phishing report: x", False)]


def test_the_nesting_of_an_answer_that_is_no_json_is_counted_no_further_than_the_bound():
    body = b"<html>" + b"[" * 100_000 + b"]" * 100_000

    assert nesting(body, 32) == 32
    assert nesting(b"<html>[[]]", 32) == 2
    with pytest.raises(PastBound, match="nested deeper than 32 levels"):
        decoded(body)
