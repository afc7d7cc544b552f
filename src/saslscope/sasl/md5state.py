"""MD5 continued from a saved chaining state (RFC 1321), for CRAM-MD5 from a stored context.

Dovecot's ``{CRAM-MD5}`` scheme stores not the password but the MD5 states after absorbing
``key XOR ipad`` and ``key XOR opad`` (one 64-byte block each, RFC 2104 §2). HMAC-MD5 of a
challenge can be finished from those states, which :mod:`hashlib` cannot do (it does not
expose or accept a state), hence this small pure-Python compression function. It only
ever hashes a challenge and a 16-byte digest, so speed is irrelevant.
"""

from __future__ import annotations

import math
import struct

# RFC 1321 §3.4: per-round shift amounts and the sine-derived constants T[i].
_SHIFTS = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_T = [int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)]
_MASK = 0xFFFFFFFF

MD5State = tuple[int, int, int, int]


def _rotate_left(value: int, amount: int) -> int:
    return ((value << amount) | (value >> (32 - amount))) & _MASK


def md5_compress(state: MD5State, block: bytes) -> MD5State:
    """Absorb one 64-byte block into ``state`` (RFC 1321 §3.4)."""
    words = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | ~d), (7 * i) % 16
        f = (f + a + _T[i] + words[g]) & _MASK
        a, d, c = d, c, b
        b = (b + _rotate_left(f, _SHIFTS[i])) & _MASK
    return (
        (state[0] + a) & _MASK,
        (state[1] + b) & _MASK,
        (state[2] + c) & _MASK,
        (state[3] + d) & _MASK,
    )


#: RFC 1321 §3.3: the initial chaining state
MD5_INITIAL_STATE: MD5State = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)


def md5_finish(state: MD5State, data: bytes, prefix_length: int) -> bytes:
    """The MD5 digest of (``prefix_length`` bytes already absorbed into ``state``) + ``data``.

    ``prefix_length`` must be a multiple of 64 (whole blocks were absorbed).
    """
    total_bits = (prefix_length + len(data)) * 8
    # RFC 1321 §3.1-3.2: a 1 bit, zeros to 56 mod 64, then the length in bits, little-endian.
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", total_bits & (2**64 - 1))
    for offset in range(0, len(padded), 64):
        state = md5_compress(state, padded[offset : offset + 64])
    return struct.pack("<4I", *state)


def state_to_bytes(state: MD5State) -> bytes:
    """The 16-byte little-endian form (as an MD5 digest lays out its state)."""
    return struct.pack("<4I", *state)


def state_from_bytes(data: bytes) -> MD5State:
    a, b, c, d = struct.unpack("<4I", data)
    return (a, b, c, d)
