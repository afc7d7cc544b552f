"""SASLprep: the examples of RFC 4013 §3."""

import pytest

from saslscope.sasl.errors import InvalidCredentials
from saslscope.sasl.saslprep import saslprep


@pytest.mark.parametrize(
    "given, prepared",
    [
        ("I\u00adX", "IX"),  # SOFT HYPHEN mapped to nothing
        ("user", "user"),  # no transformation
        ("USER", "USER"),  # case preserved
        ("\u00aa", "a"),  # output is NFKC, input in ISO 8859-1
        ("\u2168", "IX"),  # output is NFKC, will match 1st example
        ("a\u00a0b", "a b"),  # non-ASCII space mapped to SPACE
        ("\u0627\u0628", "\u0627\u0628"),  # right-to-left text on its own is fine
    ],
)
def test_rfc4013_examples(given, prepared):
    assert saslprep(given) == prepared


@pytest.mark.parametrize("given", ["\u0007", "\u0627\u0031", "a\ue000"])
def test_rfc4013_prohibited(given):
    # U+0007 is a control character; "\u0627 1" breaks the bidi rule; U+E000 is private use.
    with pytest.raises(InvalidCredentials):
        saslprep(given)


def test_unassigned_code_points_only_in_queries():
    unassigned = "\U000e0080"  # unassigned in Unicode 3.2 (stringprep's table A.1)
    assert saslprep("a" + unassigned) == "a" + unassigned
    with pytest.raises(InvalidCredentials, match="unassigned"):
        saslprep("a" + unassigned, allow_unassigned=False)
