"""The one form of an email address that is checked, claimed, tokenised and mailed.

An address reaches the email stage from a producer's CSV, a scraped page or a
provider, so it can be ``"Victim <victim@a.example>"`` or
``"victim@a.example, someone@b.example"``: strings that a naive suppression
check does not match, but that SendGrid's helper parses and mails. `mailbox`
turns such input into one bare address or refuses it, and the email stage
uses only its result for the suppression check, the outbox claim, the
unsubscribe token and SendGrid's ``to`` — so the string checked is the string
mailed.

Validation is email-validator's syntax check (no DNS): no display names, no
lists, no quoted local parts, no IP-literal domains, no special-use domains
(``.test``, ``.invalid``, ``localhost``…), ASCII only on the wire (an
internationalised domain becomes its IDNA form). The result is lower-cased,
as suppressions and the outbox always were.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    """Not one bare, mailable address; the message says why."""


def mailbox(raw: str) -> str:
    """`raw` as the bare, lower-cased ASCII address to use everywhere; `InvalidAddress` otherwise."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidAddress("no address")
    try:
        checked = validate_email(
            raw.strip(),
            check_deliverability=False,
            allow_smtputf8=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    address = checked.ascii_email or checked.normalized
    return address.lower()
