"""The Dovecot passwd-file reader, on lines written by the real `doveadm pw`."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given, strategies as st

from saslscope.sasl.cram import cram_md5_digest_from_context
from saslscope.smtp.server import PasswdFileError, load_passwd_file, parse_passwd_file
from tests.server.support import USERS, doveadm_pw


def test_every_doveadm_scheme_loads(passwd_path):
    users = load_passwd_file(passwd_path)
    assert users.problems == []
    assert sorted(users.usernames) == sorted(USERS)
    assert users.store.lookup("centos7@phoenixknight.jp").password == "zaq12345"
    assert users.store.lookup("b64@example.test").password == "pässwörd"


def test_cram_md5_context_from_doveadm_answers_an_rfc2195_challenge():
    line = f"tim:{doveadm_pw('CRAM-MD5', 'tanstaaftanstaaf')}"
    context = parse_passwd_file(line).store.lookup("tim").cram_md5_context
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    # RFC 2195 §2's example digest, computed by the stdlib from the password
    expected = hmac.new(b"tanstaaftanstaaf", challenge, hashlib.md5).hexdigest()
    assert expected == "b913a602c7eda7a495b4e6e7334d3890"
    assert cram_md5_digest_from_context(context, challenge) == expected


@pytest.mark.parametrize("scheme, hash_name, size", [("SCRAM-SHA-1", "sha1", 20), ("SCRAM-SHA-256", "sha256", 32)])
def test_scram_keys_from_doveadm_match_rfc5802_derivation(scheme, hash_name, size):
    keys = parse_passwd_file(f"u:{doveadm_pw(scheme, 'pencil')}").store.lookup("u").scram[0]
    assert (keys.hash_name, len(keys.stored_key)) == (hash_name, size)
    # RFC 5802 §3 with hashlib only: SaltedPassword, ClientKey, StoredKey, ServerKey
    salted = hashlib.pbkdf2_hmac(hash_name, b"pencil", keys.salt, keys.iterations)
    client_key = hmac.new(salted, b"Client Key", hash_name).digest()
    assert keys.stored_key == hashlib.new(hash_name, client_key).digest()
    assert keys.server_key == hmac.new(salted, b"Server Key", hash_name).digest()


def test_bad_lines_are_reported_with_their_line_numbers_and_skipped():
    text = "\n".join([
        "# comment",
        "",
        "good:{PLAIN}secret:1000:1000::/home/good::userdb_quota_rule=*:storage=1G",
        "no separator here",
        ":{PLAIN}nouser",
        "empty:",
        "crypt:$6$salt$hash",
        "weird:{SHA512-CRYPT}$6$x$y",
        "short:{SCRAM-SHA-256}4096,abc",
        "badhex:{CRAM-MD5}zz",
        "good:{PLAIN}again",
        "plainish:just-a-password",
    ])
    users = parse_passwd_file(text)
    assert sorted(users.usernames) == ["good", "plainish"]
    assert users.store.lookup("good").password == "secret"
    assert users.store.lookup("plainish").password == "just-a-password"
    assert [p.line_number for p in users.problems] == [4, 5, 6, 7, 8, 9, 10, 11]
    by_line = {p.line_number: p.message for p in users.problems}
    assert "crypt(3)" in by_line[7]
    assert "SHA512-CRYPT" in by_line[8]
    assert "already defined on line 3" in by_line[11]
    assert str(users.problems[0]).startswith("line 4: ")


def test_unreadable_files_raise_one_clear_error(tmp_path):
    with pytest.raises(PasswdFileError, match="cannot read passwd-file"):
        load_passwd_file(tmp_path / "missing")
    binary = tmp_path / "binary"
    binary.write_bytes(b"ok:{PLAIN}x\n\xff\xfe:{PLAIN}y\n")
    with pytest.raises(PasswdFileError, match="line 2 is not UTF-8"):
        load_passwd_file(binary)


@given(st.text(max_size=300))
def test_any_text_loads_without_crashing(text):
    users = parse_passwd_file(text)
    assert len(users.usernames) + len(users.problems) <= len(text.splitlines())


@given(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters=":\r\n\x1c\x1d\x1e\x85\u2028\u2029\x0b\x0c"), min_size=1, max_size=50))
def test_plain_b64_round_trip(password):
    encoded = base64.b64encode(password.encode()).decode()
    users = parse_passwd_file(f"u:{{PLAIN.b64}}{encoded}")
    assert users.store.lookup("u").password == password
