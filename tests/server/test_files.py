"""Files `serve` and `demo` write (issue 10 item 15, issue 14 item 15): never through a
planted symlink, never replacing what exists, private modes."""

from __future__ import annotations

import datetime
import os
import stat

import pytest
from cryptography import x509

from saslscope.smtp.certs import KEY_FILE, make_test_pki
from saslscope.smtp.findings import EXPIRY_WARNING_DAYS
from saslscope.smtp.server import MaildirStore, PostfixLog
from saslscope.smtp.server.passwd_file import parse_passwd_file


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_pki_refuses_a_planted_symlink_and_leaves_its_target_alone(tmp_path):
    target = tmp_path / "victim"
    target.write_text("precious\n")
    os.chmod(target, 0o644)
    pki_dir = tmp_path / "pki"
    pki_dir.mkdir()
    (pki_dir / KEY_FILE).symlink_to(target)
    with pytest.raises(FileExistsError, match=r"server\.key already exists"):
        make_test_pki(pki_dir)
    assert target.read_text() == "precious\n" and mode(target) == 0o644
    assert sorted(p.name for p in pki_dir.iterdir()) == [KEY_FILE]  # nothing written


def test_pki_refuses_to_replace_existing_files(tmp_path):
    make_test_pki(tmp_path / "pki")
    before = (tmp_path / "pki" / "ca.pem").read_bytes()
    with pytest.raises(FileExistsError):
        make_test_pki(tmp_path / "pki")
    assert (tmp_path / "pki" / "ca.pem").read_bytes() == before


def test_pki_directory_is_private_and_keys_are_0600(tmp_path):
    pki = make_test_pki(tmp_path / "new" / "pki")
    assert mode(pki.directory) == 0o700 and mode(tmp_path / "new") == 0o700
    assert mode(pki.key_path) == mode(pki.ca_key_path) == 0o600


def test_throw_away_certificate_outlives_probes_expiry_warning(tmp_path):
    # issue 14 item 15: saslscope's own probe warned "expires in 7.0 days" about serve
    pki = make_test_pki(tmp_path / "pki")
    cert = x509.load_pem_x509_certificate(pki.cert_path.read_bytes())
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert left > datetime.timedelta(days=EXPIRY_WARNING_DAYS + 7)


def test_log_file_is_0600_and_never_followed_through_a_symlink(tmp_path):
    log = PostfixLog.to_file(tmp_path / "maillog")
    log.smtpd(1, "connect from x[192.0.2.1]")
    assert mode(tmp_path / "maillog") == 0o600
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        PostfixLog.to_file(tmp_path / "link")
    assert not (tmp_path / "elsewhere").exists()


def test_maildir_files_are_0600_in_0700_directories(tmp_path):
    store = MaildirStore(tmp_path / "mail")
    delivery = store.deliver("bob@example.test", b"Subject: x\n\n", b"body\n")
    assert delivery.path.read_bytes() == b"Subject: x\n\nbody\n"
    assert mode(delivery.path) == 0o600
    assert mode(tmp_path / "mail") == mode(tmp_path / "mail" / "example.test") == 0o700
    assert mode(tmp_path / "mail" / "example.test" / "new") == 0o700
    assert list((tmp_path / "mail" / "example.test" / "tmp").iterdir()) == []


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\r"])
def test_passwd_file_lines_end_at_newline_only(separator):
    # issue 10 item 16: str.splitlines() made "EVE" a user
    users = parse_passwd_file(f"alice:{{PLAIN}}abc{separator}EVE:pw2\n")
    assert users.usernames == ["alice"]
    assert users.store.lookup("EVE") is None
