"""EHLO capabilities (RFC 5321 §4.1.1.1) and what each one means, in plain language."""

from __future__ import annotations

from dataclasses import dataclass, field

from saslscope.smtp.codec import Reply


@dataclass(frozen=True)
class Capabilities:
    """The keywords of one EHLO reply, upper-cased, each with its parameters.

    The first reply line is the server's greeting name, not a keyword (RFC 5321 §4.1.1.1).
    """

    greeting: str = ""
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_reply(cls, reply: Reply) -> Capabilities:
        greeting, *rest = reply.lines or ("",)
        keywords: dict[str, tuple[str, ...]] = {}
        for line in rest:
            words = line.split()
            if not words:
                continue
            name = words[0].upper()
            # "AUTH=LOGIN PLAIN" is the pre-standard spelling some servers still send
            # (old Outlook clients need it); treat it as more AUTH parameters.
            if name.startswith("AUTH="):
                keywords["AUTH"] = (*keywords.get("AUTH", ()), name[5:], *words[1:])
                continue
            keywords[name] = keywords.get(name, ()) + tuple(words[1:])
        return cls(greeting=greeting, keywords=keywords)

    def __contains__(self, keyword: str) -> bool:
        return keyword.upper() in self.keywords

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """Advertised SASL mechanisms, upper case, in the server's order, no duplicates."""
        return tuple(dict.fromkeys(m.upper() for m in self.keywords.get("AUTH", ())))

    @property
    def size_limit(self) -> int | None:
        """The SIZE limit in octets (RFC 1870); None if absent, 0 if "no fixed limit"."""
        params = self.keywords.get("SIZE")
        if params is None:
            return None
        if params and params[0].isdigit():
            return int(params[0])
        return 0

    def describe(self) -> list[tuple[str, str]]:
        """(keyword, plain-language meaning) for every keyword, in the server's order.
        The keyword carries its parameters, except AUTH, whose meaning lists them."""
        return [
            (name if name == "AUTH" else " ".join((name, *params)), describe_keyword(name, params))
            for name, params in self.keywords.items()
        ]

    def to_json(self) -> dict[str, object]:
        return {"greeting": self.greeting, "keywords": {k: list(v) for k, v in self.keywords.items()}}


_MEANINGS: dict[str, str] = {
    "PIPELINING": "commands may be sent in batches without waiting for each reply (RFC 2920)",
    "8BITMIME": "accepts 8-bit message bodies (RFC 6152)",
    "BINARYMIME": "accepts binary message bodies with BDAT (RFC 3030)",
    "DSN": "delivery status notifications on request: NOTIFY/RET/ENVID (RFC 3461)",
    "SMTPUTF8": "accepts UTF-8 mail addresses and headers (RFC 6531)",
    "CHUNKING": "accepts the message in chunks with BDAT instead of DATA (RFC 3030)",
    "ENHANCEDSTATUSCODES": "replies carry detailed status codes like 2.7.0 (RFC 2034, RFC 3463)",
    "STARTTLS": "the connection can be upgraded to TLS (RFC 3207)",
    "REQUIRETLS": "honours a sender's demand that the message travel only over TLS (RFC 8689)",
    "ETRN": "a client may ask for its queued mail to be sent now (RFC 1985)",
    "VRFY": "addresses can be verified with VRFY (RFC 5321 §3.5); it helps address harvesting",
    "EXPN": "mailing lists can be expanded with EXPN (RFC 5321 §3.5); it reveals members",
    "HELP": "answers HELP (RFC 5321 §4.1.1.8)",
    "DELIVERBY": "accepts a delivery deadline (RFC 2852)",
    "MT-PRIORITY": "accepts message priorities (RFC 6710)",
    "FUTURERELEASE": "can hold a message for later release (RFC 4865)",
    "NO-SOLICITING": "asks not to be sent solicitations (RFC 3865)",
    "XCLIENT": "trusted clients may override the client's address and name (Postfix XCLIENT)",
    "XFORWARD": "trusted clients may forward the original client's details (Postfix XFORWARD)",
    "ATRN": "authenticated turn: the server can deliver queued mail back (RFC 2645)",
    "LIMITS": "announces its limits on recipients and transactions (RFC 9422)",
    "CLIENTID": "accepts a client identifier (draft-storey-smtp-client-id)",
}


def describe_keyword(name: str, params: tuple[str, ...]) -> str:
    """Plain language for one EHLO keyword."""
    name = name.upper()
    if name == "SIZE":
        if params and params[0].isdigit() and int(params[0]) > 0:
            size = int(params[0])
            return f"messages up to {size / 1_000_000:.1f} MB ({size} octets) (RFC 1870)"
        return "announces message sizes but sets no fixed limit (RFC 1870)"
    if name == "AUTH" or name.startswith("AUTH="):
        mechanisms = " ".join(params) if params else "none listed"
        return f"SMTP AUTH with the SASL mechanisms: {mechanisms} (RFC 4954)"
    if name in _MEANINGS:
        return _MEANINGS[name]
    if name.startswith("X"):
        return "a vendor extension (not standardised)"
    return "an extension saslscope does not know"
