"""RFC 2047 encoded words are decoded only in the charsets mail uses (issue 10 item 14).

Python's codec registry answers to any name: ``punycode`` is quadratic (a 400 KB word took 24 s),
``unicode_escape`` turns ``\\x1b`` text into an ESC, ``utf-7`` hides markup from filters. A word in
such a "charset" is kept as written, like any invalid word.
"""

import base64

import pytest

from saslscope.headers import analyze_text
from saslscope.headers.fields import decode_words, mail_codec


def word(charset: str, data: bytes) -> str:
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


@pytest.mark.parametrize("charset", ["punycode", "idna", "utf-7", "unicode_escape", "raw_unicode_escape",
                                     "rot13", "uu", "zlib", "base64", "hex", "utf-16", "PUNYCODE", "Punycode*en"])
def test_non_mail_codecs_are_not_decoded(charset):
    encoded = word(charset, b"abc-def")
    assert decode_words(f"Subject {encoded}") == f"Subject {encoded}"


def test_unicode_escape_cannot_smuggle_control_characters():
    encoded = word("unicode_escape", b"\\x1b[31mred")
    assert "\x1b" not in decode_words(encoded)


def test_a_large_punycode_word_is_left_alone():
    # 400 KB of punycode took 24 s to decode; it is now returned as written without decoding.
    encoded = word("punycode", b"a" * 300_000 + b"-" + b"b" * 100_000)
    analysis = analyze_text(f"Subject: {encoded}\n\n")
    assert analysis.summary["Subject"] == encoded


@pytest.mark.parametrize("charset, data, text", [
    ("UTF-8", "テスト".encode(), "テスト"),
    ("iso-2022-jp", "テスト".encode("iso2022_jp"), "テスト"),
    ("ISO-2022-JP", "日本語".encode("iso2022_jp"), "日本語"),
    ("Shift_JIS", "テスト".encode("shift_jis"), "テスト"),
    ("euc-jp", "テスト".encode("euc_jp"), "テスト"),
    ("windows-1252", "café €".encode("cp1252"), "café €"),
    ("iso-8859-1", "café".encode("latin-1"), "café"),
    ("iso-8859-15", "€".encode("iso8859-15"), "€"),
    ("koi8-r", "Привет".encode("koi8-r"), "Привет"),
    ("windows-1251", "Привет".encode("cp1251"), "Привет"),
    ("gb2312", "中文".encode("gb2312"), "中文"),
    ("GB18030", "中文".encode("gb18030"), "中文"),
    ("big5", "中文".encode("big5"), "中文"),
    ("euc-kr", "한국어".encode("euc_kr"), "한국어"),
    ("ks_c_5601-1987", "한국어".encode("cp949"), "한국어"),
    ("windows-874", "ไทย".encode("cp874"), "ไทย"),
    ("us-ascii", b"plain", "plain"),
    ("UTF-8*ja", "テスト".encode(), "テスト"),                # RFC 2231 language suffix
])
def test_charsets_mail_uses_are_decoded(charset, data, text):
    assert decode_words(word(charset, data)) == text


def test_mail_codec_names():
    assert mail_codec("UTF-8") == "utf-8" and mail_codec("latin1") == "iso8859-1"
    assert mail_codec("no-such-charset") is None and mail_codec("punycode") is None
