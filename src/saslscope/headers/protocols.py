"""What the ``with`` clause of a Received header says: the IANA "Mail Transmission Types".

RFC 5321 §4.4 defines ``with SMTP`` / ``with ESMTP``; RFC 3848 registered the suffixes that
matter for forensics: ``S`` (the session used STARTTLS) and ``A`` (the client authenticated
with SMTP AUTH, RFC 4954), so ``ESMTPSA`` marks an authenticated submission over TLS. RFC 6531
added the ``UTF8`` variants. RFC 8314 §4.3 recommends recording implicit TLS the same way
(and adds the ``tls <cipher>`` clause that Exim writes).

Names are compared case-insensitively (Exim writes ``esmtpsa``). Beside the registry, a few
unregistered names are common enough in real headers to be worth explaining; they are marked
``registered=False``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TransmissionType:
    name: str
    meaning: str
    authenticated: bool    # the client proved an identity (SMTP AUTH or a logged-in mailbox)
    tls: bool              # the session was protected by TLS
    reference: str
    registered: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _family(prefix: str, label: str, reference: str) -> list[TransmissionType]:
    """The RFC 3848 variants of one base protocol: plain, +A (AUTH), +S (STARTTLS), +SA (both)."""
    return [
        TransmissionType(prefix, label, False, False, reference),
        TransmissionType(prefix + "A", f"{label} with SMTP AUTH", True, False, reference),
        TransmissionType(prefix + "S", f"{label} with STARTTLS", False, True, reference),
        TransmissionType(prefix + "SA", f"{label} with STARTTLS and SMTP AUTH", True, True, reference),
    ]


_REGISTERED: list[TransmissionType] = [
    TransmissionType("SMTP", "SMTP (no service extensions)", False, False, "RFC 5321"),
    TransmissionType("ESMTP", "ESMTP (SMTP with service extensions)", False, False, "RFC 5321"),
    *_family("ESMTP", "ESMTP", "RFC 3848")[1:],
    *_family("LMTP", "LMTP (delivery to a mailbox server)", "RFC 3848"),
    *_family("UTF8SMTP", "ESMTP with SMTPUTF8", "RFC 6531"),
    *_family("UTF8LMTP", "LMTP with SMTPUTF8", "RFC 6531"),
    TransmissionType("MMS", "Multimedia Messaging Service", False, False, "RFC 4356"),
]

# Seen in real headers but not in the IANA registry: (name, meaning, authenticated, tls, source).
_EXIM = "Exim spec, received_protocol"
_UNREGISTERED = [
    TransmissionType(name, meaning, authenticated, tls, source, registered=False)
    for name, meaning, authenticated, tls, source in (
        ("SMTPS", "SMTP over TLS (Google and others)", False, True, "unregistered"),
        ("ASMTP", "SMTP with AUTH (Exim, no EHLO extensions)", True, False, _EXIM),
        ("SSMTP", "SMTP over TLS-on-connect (Exim)", False, True, _EXIM),
        ("LOCAL", "submitted by a local process (Exim)", False, False, _EXIM),
        ("LOCAL-SMTP", "local process speaking SMTP on stdin (Exim -bs)", False, False, _EXIM),
        ("LOCAL-ESMTP", "local process speaking ESMTP on stdin (Exim -bs)", False, False, _EXIM),
        ("LOCAL-BSMTP", "local batched SMTP (Exim -bS)", False, False, _EXIM),
        ("MAPI", "Exchange mailbox submission by a logged-in client (Outlook/MAPI)", True, False,
         "Microsoft Exchange"),
        ("MICROSOFT SMTP SERVER", "SMTP between Microsoft Exchange servers", False, False, "Microsoft Exchange"),
        ("MICROSOFT SMTPSVC", "SMTP received by the Windows IIS SMTP service", False, False, "Microsoft IIS"),
        # Mimecast spells the RFC 3848 letters out: "by relay.mimecast.com with ESMTP with STARTTLS"
        ("ESMTP WITH STARTTLS", "ESMTP with STARTTLS (Mimecast)", False, True, "Mimecast"),
        ("ESMTP WITH AUTH", "ESMTP with SMTP AUTH (Mimecast)", True, False, "Mimecast"),
        ("ESMTP WITH BOTH STARTTLS AND AUTH", "ESMTP with STARTTLS and SMTP AUTH (Mimecast)", True, True, "Mimecast"),
        ("HTTP", "submitted over HTTP (webmail or an HTTP API)", False, False, "unregistered"),
        ("HTTPS", "submitted over HTTPS (webmail or an HTTP API)", False, True, "unregistered"),
        ("NNFMP", "Yahoo internal transfer", False, False, "unregistered"),
        ("QMQP", "Quick Mail Queuing Protocol (qmail)", False, False, "cr.yp.to/proto/qmqp.html"),
    )
]

REGISTRY: dict[str, TransmissionType] = {t.name: t for t in [*_REGISTERED, *_UNREGISTERED]}


def lookup(name: str | None) -> TransmissionType | None:
    """The transmission type called ``name`` (case-insensitive), or None if unknown."""
    if not name:
        return None
    return REGISTRY.get(" ".join(name.split()).upper())
