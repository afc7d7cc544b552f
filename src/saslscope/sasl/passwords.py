"""Checking a cleartext password (PLAIN, LOGIN) against whatever the server stores."""

from __future__ import annotations

import hmac

from saslscope.sasl.cram import cram_md5_context
from saslscope.sasl.credentials import StoredCredential
from saslscope.sasl.errors import InvalidCredentials
from saslscope.sasl.saslprep import saslprep
from saslscope.sasl.scram import derive_scram_keys


def password_matches(credential: StoredCredential, password: str) -> bool:
    """True if ``password`` is the user's password.

    A stored plaintext password is compared after SASLprep (RFC 4616 §2 asks servers to
    prepare both strings), falling back to an exact comparison when either string is
    prohibited. With only SCRAM keys, the keys are recomputed from the candidate password
    (RFC 5802 §3) and StoredKey compared; with only a CRAM-MD5 context, the context is
    recomputed from the candidate and compared (Dovecot does the same for PLAIN).
    """
    if credential.password is not None:
        return hmac.compare_digest(_prepared(credential.password), _prepared(password))
    for keys in credential.scram:
        try:
            candidate = derive_scram_keys(password, keys.hash_name, keys.salt, keys.iterations)
        except InvalidCredentials:
            return False
        return hmac.compare_digest(candidate.stored_key, keys.stored_key)
    if credential.cram_md5_context is not None:
        return hmac.compare_digest(cram_md5_context(password), credential.cram_md5_context)
    return False


def _prepared(text: str) -> bytes:
    try:
        return saslprep(text).encode("utf-8")
    except InvalidCredentials:
        return text.encode("utf-8")
