"""Scrubbing finds what its plain definition finds (testkit/slow_scrub.py), on text full of secrets' pieces.

The secrets are remembered as a job remembers them (configuration items, a JSON key, a token); the
text mixes their forms whole, cut anywhere, inside a longer base64 string, white space inserted,
among ordinary text; some of it spared as the record is. PHISHFEEDBACK_EXAMPLES sets how many.
"""

from __future__ import annotations

import base64
import json
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback import redaction, secret_index
from testkit.secret_forms import spaced
from testkit.slow_scrub import forget_secrets, slow_cuts, slow_scrub, slow_shortened, slow_unspared

EXAMPLES = int(os.environ.get("PHISHFEEDBACK_EXAMPLES", "150"))
# Few letters make grams that stand at many places of a form and of the text; the others, keys and passwords.
ALPHABETS = ("ab=", "ab \n", string.ascii_letters + string.digits + "+/=", string.printable + "é€\u2028")
# Lengths about the shortest form looked for, GRAM and the pieces sure to be found (secret_index.FOUND_BY_PIECES).
LENGTHS = (4, 5, 11, 12, 13, 22, 23, 24, 35, 36)


@pytest.fixture(autouse=True)
def nothing_remembered():
    """Each test starts with no secret remembered, and leaves none to the tests after it."""
    forget_secrets()
    yield
    forget_secrets()


def pem(body: bytes) -> str:
    """A private key as PEM writes it: base64 lines of 64 characters between its armour lines."""
    encoded = base64.b64encode(body).decode()
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    return "\n".join(["-----BEGIN PRIVATE KEY-----", *lines, "-----END PRIVATE KEY-----", ""])


@st.composite
def secrets(draw) -> list[str]:
    alphabet = draw(st.sampled_from(ALPHABETS))
    sizes = st.one_of(st.sampled_from(LENGTHS), st.integers(1, 90))
    found = [
        draw(st.text(alphabet, min_size=size, max_size=size)) for size in draw(st.lists(sizes, min_size=1, max_size=3))
    ]
    if draw(st.booleans()):
        found.append(pem(draw(st.binary(min_size=60, max_size=400))))
    return found


def remembered(secrets: list[str], user: str, reporters_tokens: bool) -> None:
    """As a job remembers them: the password with its AUTH strings, a JSON key by its private key, a token; and, as
    a Gmail job asking each reporter's language does, tokens found whole only, one of them later with its pieces."""
    *items, last = secrets
    config = {"smtp_user": user, **{f"secret_{i}": s for i, s in enumerate(items)}}
    if "PRIVATE KEY" in last:
        config["gmail_service_account"] = json.dumps({"type": "service_account", "private_key": last})
    else:
        config["smtp_password"] = last
    redaction.remember_secrets(config)
    redaction.remember(secrets[0][::-1])
    if reporters_tokens:
        redaction.remember(secrets[0][1:], pieces=False)
        redaction.remember(secrets[-1][1:], pieces=False)
        redaction.remember(secrets[-1][1:])


# What shows as nothing: a zero-width space, a soft hyphen, a grapheme joiner, a filler, U+FFFD, a control.
INVISIBLE = ["\u200b", "\u00ad", "\u034f", "\u3164", "\u180b", "\ufffd", "\x01"]


def echo(data: st.DataObject, forms: list[str]) -> str:
    """Text from a server: ordinary words, and forms whole, cut, base64-wrapped or spread by white space."""
    parts = []
    for _ in range(data.draw(st.integers(1, 6))):
        form = forms[data.draw(st.integers(0, len(forms) - 1))]
        start = data.draw(st.integers(0, len(form)))
        end = data.draw(st.integers(start, len(form)))
        piece = form[start:end]
        way = data.draw(st.sampled_from(["whole", "piece", "to the end", "altered", "base64", "spaced", "invisible"]))
        if way == "whole":
            piece = form
        elif way == "altered":  # one character changed: two pieces of the form, in line with each other
            piece = form[:start] + "#" + form[start + 1 :]
        elif way == "to the end":
            piece = form[start:]
        elif way == "base64":
            piece = base64.b64encode(b"AUTH " + piece.encode("utf-8", "surrogatepass")).decode()
        elif way == "invisible":  # what shows as nothing between its characters
            piece = spaced(piece, data.draw(st.integers(1, 30)), data.draw(st.sampled_from(INVISIBLE)))
        elif way == "spaced":
            piece = spaced(piece, data.draw(st.integers(1, 30)), data.draw(st.sampled_from([" ", "\r\n ", "\t"])))
        parts += [data.draw(st.text(st.sampled_from(ALPHABETS[-1]), max_size=30)), piece]
    return "".join(parts)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), secrets(), st.sampled_from(["", "soc@example.org", " a "]))
def test_scrubbing_blots_out_all_that_its_plain_definition_finds_and_no_more(data, secrets, user):
    forget_secrets()
    remembered(secrets, user, data.draw(st.booleans()))
    forms = sorted(secret_index.forms) or secrets
    text = echo(data, forms)
    start = data.draw(st.integers(0, len(text)))
    window = text[start : data.draw(st.integers(start, len(text)))]
    sparing = [*forms, text[: len(text) // 2], window, "alice@example.org"]
    for spared in data.draw(st.lists(st.integers(0, len(sparing) - 1), max_size=3)):
        redaction.spare(sparing[spared])

    limit = data.draw(st.integers(1, len(text) + 1))  # a cut anywhere, in a secret's start too

    assert redaction.scrub(text) == slow_scrub(text)
    assert redaction.scrub(text, pieces=False) == slow_scrub(text, pieces=False)
    assert redaction.shortened(text, limit) == slow_shortened(text, limit)


def spans_in(text: str) -> st.SearchStrategy[tuple[int, int]]:
    return st.integers(0, len(text) - 1).flatmap(lambda a: st.tuples(st.just(a), st.integers(a + 1, len(text))))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.text(st.sampled_from("ab \u200b"), min_size=1, max_size=60))
def test_the_spans_a_spared_text_holds_are_left_as_looking_for_every_spared_text_everywhere_leaves_them(data, text):
    """Spared texts cut from the text about a span (holding it exactly, one character short of it, a few past it),
    several of one length, others the text does not hold; spans of every width, wider than the spared texts too. Few
    letters and white space: a spared text stands at many places, overlapping itself."""
    spans = data.draw(st.lists(spans_in(text), min_size=1, max_size=8))
    for a, b in data.draw(st.lists(spans_in(text), max_size=8)) + spans[:2]:
        start = data.draw(st.integers(max(0, a - 3), a + 1))
        redaction.spare(text[start : data.draw(st.integers(max(start, b - 1), min(len(text), b + 3)))])
    redaction.spare(*data.draw(st.lists(st.text(st.sampled_from("ab \u200b"), max_size=8), max_size=4)))

    assert redaction._unspared(text, spans) == slow_unspared(text, spans)


def test_a_text_echoing_a_whole_private_key_is_scrubbed_as_its_plain_definition_has_it():
    key = pem(bytes(range(256)) * 5)
    redaction.remember_secrets({"gmail_service_account": json.dumps({"private_key": key})})
    text = f"400 Bad request: {json.dumps({'private_key': key})} and the key again\n{key}"

    assert redaction.scrub(text) == slow_scrub(text)
    assert (
        redaction.scrub(text)
        == f'400 Bad request: {{"private_key": "{redaction.MASK}"}} and the key again\n{redaction.MASK}\n'
    )


@pytest.mark.parametrize("secret", ["a" * 30, "ab" * 15, "aab" * 10, string.ascii_letters[:40]])
def test_every_start_of_a_secret_at_every_place_is_scrubbed_and_cut_as_defined(secret):
    """Each length about GRAM and FOUND_BY_PIECES, at each place of the text GRAMs are looked up at, and each cut."""
    for length in range(secret_index.SHORTEST_FORM, len(secret) + 1):
        forget_secrets()
        redaction.remember(secret[:length])
        for before in range(2 * secret_index.GRAM):
            altered = f"{secret[: length // 2]}#{secret[length // 2 + 1 : length]}"  # two pieces in line
            text = f"{'·' * before}{secret[:length]}·{secret[: length // 2]}·{altered}"
            assert redaction.scrub(text) == slow_scrub(text), (length, before)
            limits = range(before, len(text) + 2)
            for limit, expected in zip(limits, slow_cuts(text, limits)):
                assert redaction.shortened(text, limit) == expected, (length, before, limit)


def test_a_secret_remembered_without_its_pieces_is_blotted_out_whole_and_its_pieces_are_left():
    """A token asked for one reporter's language: found whole, wherever it stands, and its index stays small."""
    token = string.ascii_letters + string.digits
    redaction.remember(token, pieces=False)
    for before in range(2 * secret_index.GRAM):
        text = f"{'·' * before}{token[:40]} then {token[5:]} then {token}"
        assert redaction.scrub(text) == f"{'·' * before}{token[:40]} then {token[5:]} then {redaction.MASK}", before
        assert redaction.scrub(text) == slow_scrub(text)
    assert len(secret_index.grams) < 10 * secret_index.GRAM


def test_a_secrets_start_split_by_a_control_character_at_the_cut_is_dropped_and_the_rest_shown_printable():
    secret = string.ascii_letters[:30]
    redaction.remember(secret)
    text = f"refused \x07: {secret[:8]}\x01{secret[8:15]} and more words after it"

    assert redaction.shortened(text, 28) == "refused \ufffd:…"


def test_a_secret_echoed_in_lower_case_is_blotted_out_as_its_plain_definition_has_it():
    """A host name or an address folds case: a key echoed there (a redirect's host, a reporter's tag) is read so."""
    redaction.remember("Sup3rS3cret-ApiKey-0123456789")
    text = "redirect to https://sup3rs3cret-apikey-0123456789.evil.example/"

    assert redaction.scrub(text) == slow_scrub(text) == f"redirect to https://{redaction.MASK}.evil.example/"


def test_a_secret_remembered_whole_only_then_with_its_pieces_has_its_pieces_blotted_out():
    """A token first asked for one reporter's language, then used for the login: from then on its pieces go too."""
    token = string.ascii_letters + string.digits
    redaction.remember(token, pieces=False)
    redaction.remember(token)
    for before in range(2 * secret_index.GRAM):
        text = f"{'·' * before}{token[5:40]} then {token}"
        assert redaction.scrub(text) == f"{'·' * before}{redaction.MASK} then {redaction.MASK}", before
