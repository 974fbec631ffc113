r"""What a message quotes of the case, the attacker's words (the reported subject and sender, the case's title),
written so that no mail reader makes a link of them.

Mail readers turn what looks like a link into one, in text and in HTML alike (Outlook, Gmail, Apple Mail): a
subject that names `https://evil.example/reset` would reach the reporter as a working link, in a message from the
SOC's own address, and the acknowledgement sends it before anyone has looked at the report. So each link, host name
and IP address is written as SOCs write an indicator, `hxxps[://]evil[.]example/reset`: read, never followed.
A UNC path (`\\evil\share`) is a link too, which Windows opens over SMB, sending the reporter's sign-in hash to
whoever answers for the name (on the local network, any machine may): no two backslashes are left side by side.
"""

from __future__ import annotations

import re
from functools import cache

# A dot as readers take one between the labels of a host name: IDNA maps the ideographic and full-width ones to '.'.
DOTS = ".\u3002\uff0e\uff61"
DEFANGED_DOT = "[.]"
DEFANGED_SCHEME = "[://]"
DEFANGED_BACKSLASH = "[\\]"
DEFANGED_COLON = "[:]"
# Schemes a browser follows without '//' after them (`http:/\evil`, `http:evil`, `file:/\evil\share`: WHATWG's URL
# reading takes the host all the same), in lower case.
SPECIAL_SCHEMES = ("http:", "https:", "ftp:", "file:")


def quoted(text: str) -> str:
    """The text with every link, host name, IP address and UNC path in it defanged; a text without a dot, '://' or
    two backslashes as it is.

    In time that grows with the text's length alone (a title may hold a million characters): no pattern here
    backtracks.
    """
    if "\\\\" in text:
        text = _patterns()[2].sub(lambda _: DEFANGED_BACKSLASH, text)  # the text as is, not a template
    if "://" in text:  # a '[://]' stays as it is: defanged already, so that quoting twice changes nothing
        text = DEFANGED_SCHEME.join(map(_schemes_defanged, text.split(DEFANGED_SCHEME)))
    if any(scheme in text.lower() for scheme in SPECIAL_SCHEMES):  # what is left of them: no '//' after
        text = _patterns()[3].sub(lambda found: _scheme_defanged(found.group()[:-1]) + DEFANGED_COLON, text)
    if not any(dot in text for dot in DOTS):
        return text
    words, dot, *_ = _patterns()
    return words.sub(lambda found: _word_defanged(found.group(), dot), text)


def _schemes_defanged(text: str) -> str:
    """Every '://' of the text bracketed, and the http or https before it written hxxp or hxxps."""
    pieces = text.split("://")
    return DEFANGED_SCHEME.join([*map(_scheme_defanged, pieces[:-1]), pieces[-1]])


def _scheme_defanged(piece: str) -> str:
    """What stands before a '://', its http or https written hxxp or hxxps."""
    lower = piece[-5:].lower()
    size = 5 if lower.endswith("https") else 4 if lower.endswith("http") else 0
    return f"{piece[:-size]}{piece[-size]}xx{piece[-size + 3 :]}" if size else piece


def _word_defanged(word: str, dot: re.Pattern[str]) -> str:
    """A run of characters between white space and ASCII punctuation other than dots, '-' and '_', each dot
    bracketed where it is a host name or an IPv4 address; as it is otherwise (`v2.0`, `3.5`, `e.g`)."""
    name = word.strip(DOTS + "…")  # the dots around it, a full stop or an ellipsis (a cut), stay as they are
    labels = dot.split(name)
    host = _host(labels, any_script="." in name)
    return word.replace(name, DEFANGED_DOT.join(labels), 1) if host or _address(labels) else word


def _host(labels: list[str], any_script: bool) -> bool:
    """A host name's last label: the ASCII form of an international one (`xn--p1ai`), or two letters or more at its
    start, of any script after an ASCII dot (a reader links evil.рф and evil.भारत, whose vowel signs are marks, not
    letters; and evil.com», where its link ends), of ASCII after another dot alone: Chinese and Japanese end each
    sentence with '。' and no space, and `冻结。请立即验证` is two sentences, not a host."""
    if len(labels) < 2:
        return False
    # What a reader shows as nothing (a soft hyphen, a zero-width space) IDNA drops: `evil.c\u00adom` is evil.com.
    last = "".join(filter(str.isprintable, labels[-1]))
    if last[:4].lower() == "xn--":
        return True
    if not (any_script or last[:1].isascii()):
        from unicodedata import normalize  # loaded for such a label alone

        # What IDNA reads as ASCII (ＣＯＭ, 𝐜𝐨𝐦) is a host's; a sentence of Chinese or Japanese (ＵＲＬは…) is not.
        last = normalize("NFKC", last)
        if not last.isascii():
            return False
    letters = 0
    for c in last:  # a letter or a mark: what may go on a name (an identifier), less digits and '_'
        if not (f"a{c}".isidentifier() and not c.isdigit() and c != "_"):
            break
        letters += 1
    return letters > 1 and last[0].isalpha()


def _address(labels: list[str]) -> bool:
    """Four numbers of 0 to 255: an IPv4 address, which readers link too."""
    return (
        len(labels) == 4
        and all(len(label) <= 3 and label.isascii() and label.isdigit() for label in labels)
        and all(int(label) < 256 for label in labels)
    )


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """Compiled on first use, as a job's other patterns are: a subject with no dot needs none. One character class
    each, matched greedily, or one character: linear whatever the text. The third: a backslash another follows; the
    last, a special scheme's colon that no '//' follows, nor white space (`Attached file: invoice`), and no letter
    comes before (`Profile:`, `xhttp:`), a digit or a Japanese word may (`詳細http:/\\intranet`)."""
    return (
        re.compile(r"[^\s!\"#$%&'()*+,/:;<=>?@\[\\\]^`{|}~]+"),
        re.compile(f"[{DOTS}]"),
        re.compile(r"\\(?=\\)"),
        re.compile(f"(?i)(?<![a-z])(?:{'|'.join(SPECIAL_SCHEMES)})(?!//)(?=\\S)"),
    )
