"""Deciding whether a text from a case is one deliverable e-mail address.

Tags and observables are fed by outside mail, so a value may carry a display name, a second
address, a line break or plain junk; only a bare, single, ASCII address is ever handed to SMTP.
"""

from __future__ import annotations

import string
from email.headerregistry import Address

from feedback.redaction import holds_secret

# A domain that can be looked up. Anything else would also be a record TheHive 4.0 stores changed: it
# takes a tag's trailing '#rrggbb' for the tag's colour, so `feedback_sent:alice@example.org#abcdef`
# becomes the record of alice@example.org (docs/cortex-and-thehive.md §4).
HOST_NAME = frozenset(string.ascii_letters + string.digits + "-.")
# What mail takes of a label of a host name (RFC 1035 §2.3.4).
LONGEST_LABEL = 63
# What SMTP takes before the '@' (RFC 5321 §4.5.3.1.1).
LONGEST_LOCAL_PART = 64
# What SMTP takes of a whole address: a path of 256 characters, its angle brackets included (RFC 5321 §4.5.3.1.3).
LONGEST_ADDRESS = 254


# What a quoted local part may hold and a mail service may read as another address; the same in the analyst's words.
QUOTED_SPECIAL_CHARACTERS = frozenset('@<>,;:"\\')
QUOTED_SPECIALS = "'@', '<', '>', ',', ';', ':', a quote or a backslash"
HELD_SECRET = "it holds one of the responder's secrets (a server echoed it)"
NO_HOST_NAME = (
    "its domain is not a host name (labels of up to 63 letters, digits and '-', each beginning and ending with a"
    " letter or a digit, the last not all digits)"
)


class AddressError(ValueError):
    """Why a value is not one deliverable address; the text is shown to the analyst."""


def parse_address(value: str) -> str:
    """The address as the mail server will see it; AddressError says why a value is refused."""
    text = value.strip()
    if not text:
        raise AddressError("it is empty")
    if not text.isascii() or not text.isprintable():
        local, _, domain = text.rpartition("@")
        readable = local.isascii() and local.isprintable() and len(text) <= LONGEST_ADDRESS
        written = ascii_domain(domain) if readable else None
        if written:  # an international domain, which mail takes in its ASCII form alone; a look-alike shows there
            raise AddressError(
                f"its domain is written beyond ASCII: mail takes it as {local}@{written}, to be tagged so if that is"
                " the reporter's domain"
            )
        raise AddressError("it holds non-ASCII or control characters")
    local, at, domain = text.rpartition("@")
    if not at:
        raise AddressError("it has no '@' (an address is name@domain)")
    if not local or not domain:
        raise AddressError(f"it has nothing {'before' if not local else 'after'} the '@' (an address is name@domain)")
    if len(text) > LONGEST_ADDRESS:
        # Before the parser, whose time grows with the square of the length (100,000 backslashes: a minute).
        raise AddressError(
            HELD_SECRET
            if holds_secret(text, pieces=False)
            else f"it is longer than the {LONGEST_ADDRESS} characters mail takes"
        )
    try:
        address = Address(addr_spec=text)
    # Not only its documented errors: the parser raises AttributeError on `x@[` (Python 3.9 to 3.13),
    # and a value from a case must never end the job, whatever the parser makes of it.
    except Exception:
        raise AddressError("it is not one plain e-mail address (name@domain)") from None
    username = address.username
    if not username or "." not in address.domain:
        raise AddressError("it has no local part or no domain name with a dot")
    if not is_domain(address.domain):
        # Nor an IP address written bare, which some relays read as the address literal `[10.0.0.25]`: a host of the
        # network chosen by whoever wrote the tag.
        raise AddressError(NO_HOST_NAME)
    if not QUOTED_SPECIAL_CHARACTERS.isdisjoint(username):
        # RFC 5322 lets quotes hold them, but Graph and the Gmail API take the recipients from the To header.
        raise AddressError(
            f"its part before the '@' is quoted and holds {QUOTED_SPECIALS}, which a mail service may read as another"
            " address"
        )
    local = address.addr_spec.rpartition("@")[0]
    if not local.startswith('"') and not all(local.split(".")):
        # The parser keeps the quotes of `"john doe"` but drops those of `"alice."`, which would reach the server as
        # `alice.@`: no address (RFC 5321 §4.1.2).
        raise AddressError(
            "its part before the '@' is quoted and begins or ends with a dot, or holds two together, which only quotes"
            " allow and a mail server may refuse"
        )
    if "%" in username or "!" in username:
        # Relays still route `victim%other.example@ours` and `other.example!victim@ours` (Postfix by default): the
        # message would leave the domain that allowed_recipient_domains checked.
        raise AddressError("its part before the '@' holds '%' or '!', by which a relay may route it to another domain")
    if holds_secret(address.addr_spec, pieces=False):
        # A server that echoes a secret into an observable must not get it mailed to its own domain.
        raise AddressError(HELD_SECRET)
    if len(local) > LONGEST_LOCAL_PART:
        # Beyond what servers take; and the To header would fold it, quotes and all.
        raise AddressError(f"its part before the '@' is longer than the {LONGEST_LOCAL_PART} characters mail takes")
    return address.addr_spec


def mailbox(address: str) -> str:
    """The mailbox an address may reach: in lower case, and without its subaddress (a '+' and what follows it before
    the '@', which Exchange Online, Gmail, and Postfix with recipient_delimiter '+', deliver to the mailbox without
    it). For the responder's own mailboxes, which a loop must never reach: reporters are told apart by address."""
    local, _, domain = address.lower().rpartition("@")
    base = local.partition("+")[0]
    return f"{base}@{domain}" if base else f"{local}@{domain}"  # `+it@`: a mailbox of its own, no tag


def is_domain(text: str, fewest_labels: int = 2) -> bool:
    """A domain name as `parse_address` takes one in a reporter's address: labels of letters, digits and '-', each
    beginning and ending with a letter or a digit (RFC 1123 §2.1), a dot between them, the last not all digits, lest it
    be an IP address; one label will do where the domain stands for those under it (`internal` for acme.internal)."""
    labels = text.split(".")
    return (
        len(labels) >= fewest_labels
        and HOST_NAME.issuperset(text)
        and all(0 < len(label) <= LONGEST_LABEL and "-" not in (label[0], label[-1]) for label in labels)
        and not labels[-1].isdigit()
    )


def ascii_domain(text: str) -> str | None:
    """The ASCII form (IDNA, `xn--…`) of a domain written beyond ASCII (`bücher.example`), where it is a host name
    once so written; None otherwise."""
    if text.isascii():
        return None
    try:
        written = text.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None
    return written if is_domain(written, fewest_labels=1) else None


def domain_allowed(address: str, allowed_domains: tuple[str, ...]) -> bool:
    """Whether an address belongs to one of the domains (or their sub-domains); none means all."""
    if not allowed_domains:
        return True
    domain = address.rpartition("@")[2].lower()
    return any(domain == d or domain.endswith("." + d) for d in allowed_domains)
