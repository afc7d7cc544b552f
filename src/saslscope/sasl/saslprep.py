"""SASLprep (RFC 4013): the stringprep profile for user names and passwords.

SCRAM (RFC 5802 §2.2) and PLAIN (RFC 4616 §2) compare strings after this preparation, so
that, for example, a password typed with a no-break space or a compatibility character
matches the one stored.
"""

from __future__ import annotations

import stringprep
import unicodedata

from saslscope.sasl.errors import InvalidCredentials

# RFC 4013 §2.3: prohibited output (the stringprep tables named there).
_PROHIBITED = (
    stringprep.in_table_c12,  # non-ASCII space characters
    stringprep.in_table_c21_c22,  # ASCII and non-ASCII control characters
    stringprep.in_table_c3,  # private use
    stringprep.in_table_c4,  # non-character code points
    stringprep.in_table_c5,  # surrogate codes
    stringprep.in_table_c6,  # inappropriate for plain text
    stringprep.in_table_c7,  # inappropriate for canonical representation
    stringprep.in_table_c8,  # change display properties / deprecated
    stringprep.in_table_c9,  # tagging characters
)


def saslprep(text: str, *, allow_unassigned: bool = True) -> str:
    """Prepare ``text`` per RFC 4013; raise :class:`InvalidCredentials` if it is prohibited.

    ``allow_unassigned`` is True for "queries" (what a user typed) and False for "stored
    strings" (RFC 3454 §7): a server creating keys should pass False.
    """
    # §2.1 mapping: non-ASCII spaces become SPACE, "commonly mapped to nothing" vanish.
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in text if not stringprep.in_table_b1(ch)
    )
    # §2.2 normalization: Unicode form KC.
    prepared = unicodedata.normalize("NFKC", mapped)
    if not prepared:
        return prepared
    for position, ch in enumerate(prepared):
        if any(table(ch) for table in _PROHIBITED):
            raise InvalidCredentials(
                f"character U+{ord(ch):04X} at position {position} is prohibited by SASLprep (RFC 4013)"
            )
        if not allow_unassigned and stringprep.in_table_a1(ch):
            raise InvalidCredentials(f"unassigned code point U+{ord(ch):04X} in a stored string (RFC 4013 §2.5)")
    # §2.4 bidirectional characters (RFC 3454 §6).
    if any(stringprep.in_table_d1(ch) for ch in prepared):
        if any(stringprep.in_table_d2(ch) for ch in prepared):
            raise InvalidCredentials("mixes right-to-left and left-to-right characters (RFC 3454 §6)")
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            raise InvalidCredentials("right-to-left text must start and end with a right-to-left character")
    return prepared
