"""The responder's configuration as a Cortex admin set it in Organisation → Responders.

Cortex hands every configuration item to the job, set or not (docs/cortex-and-thehive.md §1), and an admin can
save odd values; everything is checked here once, so that the rest of the code can trust its
settings and a bad value becomes one sentence that names the item to fix. Each way out's items,
and TheHive's, are read in its sub-package (feedback/smtp/settings.py, microsoft/settings.py,
google/settings.py, thehive/settings.py); what they share, and the job's own items, here. What they
share is how the job reaches them (feedback/reach.py), read once and handed to each; the decision and
the messages get their own groups of items (plan.py's Audience, message_settings.py), never the whole.
"""

from __future__ import annotations

from email.utils import getaddresses

from feedback.addresses import AddressError, ascii_domain, is_domain, mailbox, parse_address
from feedback.flavours import TEMPLATE_ITEMS, read_flavour, read_language_item
from feedback.items import WHERE, ConfigError, Items
from feedback.logo import read_logo
from feedback.message_settings import MessageSettings
from feedback.microsoft.settings import GraphSettings, graph_settings
from feedback.pacing import TIME_BUDGET_SHARE, Limits
from feedback.placeholders import check_overrides
from feedback.plan import Audience
from feedback.reach import Reach, read_reach
from feedback.redaction import shortened
from feedback.reporter_languages import read_reporter_languages
from feedback.shapes import shape
from feedback.shown_text import printable
from feedback.smtp.settings import SmtpSettings, smtp_settings
from feedback.thehive.settings import TheHiveSettings, thehive_settings

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from feedback.google.settings import GmailSettings

    WayOutSettings = SmtpSettings | GraphSettings | GmailSettings


def _imported(module: str, reader: str) -> Callable[[Items, Reach], WayOutSettings]:
    """A way out's reader, imported by the jobs that take it alone: every other job would load its modules for
    nothing (SMTP's and Graph's are imported above: SMTP's OAuth2 login shares Microsoft's items). By `__import__`:
    a plain job does not load importlib."""
    return lambda items, reach: getattr(__import__(module, fromlist=[reader]), reader)(items, reach)


# How messages leave (docs/graph.md): SMTP, Microsoft Graph's sendMail, the Gmail API's messages.send.
WAYS_OUT = {
    "smtp": smtp_settings,
    "graph": graph_settings,
    "gmail": _imported("feedback.google.settings", "gmail_settings"),
}


@shape
class Settings:
    # The way out the `delivery` item chose, with its own items: its type is the choice.
    way_out: WayOutSettings
    limits: Limits
    thehive: TheHiveSettings | None
    custom_field: str
    title_prefix: str
    sent_tag: str
    failed_tag: str
    audience: Audience  # whom the job may mail, and with which message (feedback/plan.py)
    message: MessageSettings  # who the messages come from, their languages and wording: all the Composer reads
    dry_run: bool
    time_budget: float
    reply_in_thread: bool


def read_settings(config: object, parameters: object) -> Settings:
    if not isinstance(config, dict):
        raise ConfigError("The job carries no configuration object. Re-save the responder's settings in Cortex.")
    items = Items(config)
    sender_name, sender_address = _mailbox("from", items.text("from", required=True), "sender")
    delivery = items.choice("delivery", tuple(WAYS_OUT), "smtp")
    job_timeout = items.number("jobTimeout", 30, low=1, high=24 * 60)
    # Whom TLS trusts, Cortex's proxies, the wait for an answer: one value for every party the job reaches.
    reach = read_reach(items)
    auto_language, languages = read_language_item(items.text("language") or "en")
    reply_to = _mailbox("reply_to", text, "reply") if (text := items.text("reply_to")) else None
    domains = items.text_list("allowed_recipient_domains")
    way_out = WAYS_OUT[delivery](items, reach)
    settings = Settings(
        way_out=way_out,
        # smtp_retries and smtp_max_per_minute pace every way out: named before the others came, kept for saved configs.
        limits=Limits(
            retries=int(items.number("smtp_retries", 2, low=0, high=10, whole=True)),
            max_per_minute=items.number("smtp_max_per_minute", 0, low=0, high=6000),
        ),
        thehive=thehive_settings(items, parameters, reach),
        custom_field=items.text("custom_field", "phishFeedback", required=True),
        title_prefix=items.text("title_prefix", "Phishing report") or "",
        sent_tag=items.text("sent_tag", "mail sent", required=True),
        failed_tag=items.text("failed_tag", "mail failed", required=True),
        audience=Audience(
            allowed_domains=_allowed_domains(domains, sender_address),
            sender_domain_only=not domains,
            reporter_tag=items.text("reporter_tag", "reporter", required=True),
            flavour=read_flavour(items.raw.get("flavour")),
            # Cortex sends null for an item added after the responder's settings were saved: corrections stay on.
            send_corrections=items.raw.get("send_corrections") is None or items.flag("send_corrections"),
            own=_own_mailboxes(sender_address, reply_to and reply_to[1], way_out),
        ),
        message=MessageSettings(
            sender_name=sender_name,
            sender_address=sender_address,
            languages=languages,
            subject=_printable(items.text("subject")),
            guidance_url=_printable(items.link("guidance_url")),
            signature=_printable(items.text("signature", keep_spaces=True)),
            templates={
                m: printable(t) for m, name in TEMPLATE_ITEMS.items() if (t := items.text(name, keep_spaces=True))
            },
            reply_to=reply_to,
            logo=read_logo(items.text("logo")),
            auto_language=auto_language,
            reporter_languages=read_reporter_languages(items.text_list("reporter_languages"), auto_language),
        ),
        dry_run=items.flag("dry_run"),
        time_budget=job_timeout * 60 * TIME_BUDGET_SHARE,
        reply_in_thread=items.flag("reply_in_thread", default=True),
    )
    check_overrides(settings.message)
    return settings


def _mailbox(name: str, value: str, role: str) -> tuple[str, str]:
    """The display name and address of `from` or `reply_to`; an error quotes what was read, unseen by the analyst."""
    read = f"'{name}' is '{' '.join(value.split())[:120]}'"
    pairs = _address_pairs(value)
    if len(pairs) != 1:
        addresses = sum(pair != ("", "") for pair in pairs)
        held = "a ',' or ';' beside its address" if addresses == 1 else f"{len(pairs)} addresses"
        raise ConfigError(
            f"{read}, which holds {held}; it must hold exactly one {role} address, like SOC <soc@example.org>. {WHERE}"
        )
    display_name, address = pairs[0]
    # The parser gives '' for what it cannot read (`soc@`, `SOC <soc@>`): the text itself says why.
    candidate = address or value.rpartition("<")[2].partition(">")[0] or value
    try:
        address = parse_address(candidate)
    except AddressError as bad:
        raise ConfigError(
            f"{read}, which is not a usable {role} address: {bad}. Write it like SOC <soc@example.org>. {WHERE}"
        ) from None
    if "=?" in display_name:
        # An RFC 2047 encoded word: Python's mail package decodes it in the header, line breaks and all.
        raise ConfigError(
            f"{read}, whose name holds '=?', the start of an encoded word that mail readers decode:"
            f" write the name as plain text (any letters will do), like SOC <soc@example.org>. {WHERE}"
        )
    return printable(display_name), address


def _address_pairs(value: str) -> list[tuple[str, str]]:
    """The (name, address) pairs of a value, read alike on every Python: 3.13's parser (and the security releases'
    of 3.9 to 3.12) gives nothing for a value with anything beside its address, `SOC <soc@example.org>;` say, whose
    address alone was then taken from between its brackets, the name lost without a word; the earlier reading lets
    the error say what is there."""
    try:
        return getaddresses([value], strict=False)
    except TypeError:  # a Python with no strict reading: the earlier one is its only one
        return getaddresses([value])


def _allowed_domains(entries: list[str], sender_address: str) -> tuple[str, ...]:
    """Each entry one domain, which covers its sub-domains (a single label too: `internal`): one that matches no
    address (two in one entry, a wildcard, a trailing dot) would have every reporter refused, while the admin reads
    the domain in the item. Left empty, the domain of `from`: a report filed under a forged sender in another domain
    (an attacker's) is not answered unless the admin allows any domain, with `*` (none: all)."""
    if not entries:
        return (sender_address.rpartition("@")[2].lower(),)
    if any(entry.strip() == "*" for entry in entries):
        return ()
    domains = []
    for entry in entries:
        domain = entry.strip().lower().lstrip("@")
        written = ascii_domain(domain)
        if written:
            raise ConfigError(
                f"allowed_recipient_domains holds '{shortened(entry, 80)}', written beyond ASCII: write its ASCII form,"
                f" {written}, which is the one in the reporters' addresses. {WHERE}"
            )
        if not is_domain(domain, fewest_labels=1):
            raise ConfigError(
                f"allowed_recipient_domains holds '{shortened(entry, 80)}', which is not one domain: write one per"
                f" entry, like example.org (it covers its sub-domains too). {WHERE}"
            )
        domains.append(domain)
    return tuple(domains)


def _own_mailboxes(sender: str, reply_to: str | None, way_out: WayOutSettings) -> dict[str, tuple[str, str]]:
    """`from`, `reply_to`, and the SMTP login where it is an address: where one of them is the reporting mailbox, a
    message the responder sent it would come back as the next report."""
    login = way_out.user if isinstance(way_out, SmtpSettings) else None
    try:
        login = login and parse_address(login)
    except AddressError:
        login = None  # a login name, not an address
    named = (("smtp_user", login), ("reply_to", reply_to), ("'from'", sender))  # 'from' named where it is another too
    return {mailbox(address): (item, address.lower()) for item, address in named if address}


def _printable(text: str | None) -> str | None:
    """A text that goes into the messages, fit for them once and for all (feedback/shown_text.py `printable`)."""
    return None if text is None else printable(text)
