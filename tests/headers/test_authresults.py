"""Authentication-Results (RFC 8601), ARC, Received-SPF (RFC 7208) and DKIM tag summaries.

The RFC 8601 inputs are the examples of its Appendix B; the others are real headers from the
samples' sources (samples/SOURCES.md).
"""

import pytest

from saslscope.headers.authresults import (
    parse_authentication_results,
    parse_received_spf,
    summarize_signature,
)


def test_rfc8601_b2_no_result():
    parsed = parse_authentication_results("example.org 1; none")
    assert (parsed.authserv_id, parsed.version, parsed.results, parsed.unrecognised) == ("example.org", "1", [], [])


def test_rfc8601_b3_spf_pass():
    parsed = parse_authentication_results("example.com;\n          spf=pass smtp.mailfrom=example.net")
    (result,) = parsed.results
    assert (parsed.authserv_id, result.method, result.result) == ("example.com", "spf", "pass")
    assert result.properties == {"smtp.mailfrom": "example.net"}


def test_rfc8601_b4_smtp_auth_with_comment():
    parsed = parse_authentication_results(
        "example.com;\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\n"
        "          spf=pass smtp.mailfrom=example.net")
    auth, spf = parsed.results
    assert (auth.method, auth.result, auth.comment) == ("auth", "pass", "cram-md5")
    assert auth.properties == {"smtp.auth": "sender@example.net"}
    assert (spf.method, spf.properties) == ("spf", {"smtp.mailfrom": "example.net"})


def test_rfc8601_b4_iprev_policy_property():
    parsed = parse_authentication_results("example.com; iprev=pass\n          policy.iprev=192.0.2.200")
    (result,) = parsed.results
    assert (result.method, result.properties) == ("iprev", {"policy.iprev": "192.0.2.200"})


def test_rfc8601_b6_quoted_reason_and_two_dkim_results():
    parsed = parse_authentication_results(
        'example.com;\n      dkim=pass reason="good signature"\n        header.i=@mail-router.example.net;\n'
        '      dkim=fail reason="bad signature"\n        header.i=@newyork.example.com')
    good, bad = parsed.results
    assert (good.result, good.reason, good.properties) == ("pass", "good signature",
                                                           {"header.i": "@mail-router.example.net"})
    assert (bad.result, bad.reason) == ("fail", "bad signature")


def test_microsoft_header_without_authserv_id():
    # dri-devel, <96c8fefe-0e9d-4538-eb51-9d189d61dd0c@kontron.de> (Exchange Online)
    parsed = parse_authentication_results(
        "dkim=none (message not signed)\n header.d=none;dmarc=none action=none header.from=kontron.de;")
    assert parsed.authserv_id is None
    dkim, dmarc = parsed.results
    assert (dkim.method, dkim.result, dkim.comment, dkim.properties) == \
        ("dkim", "none", "message not signed", {"header.d": "none"})
    assert (dmarc.result, dmarc.extras, dmarc.properties) == ("none", {"action": "none"},
                                                              {"header.from": "kontron.de"})


def test_arc_authentication_results_instance():
    # linux-rdma sample, smtp.subspace.kernel.org
    parsed = parse_authentication_results(
        "i=1; smtp.subspace.kernel.org; dmarc=none (p=none dis=none) header.from=I-love.SAKURA.ne.jp;"
        " spf=pass smtp.mailfrom=I-love.SAKURA.ne.jp; arc=none smtp.client-ip=202.181.97.72", arc=True)
    assert (parsed.instance, parsed.authserv_id) == (1, "smtp.subspace.kernel.org")
    assert [(r.method, r.result) for r in parsed.results] == [("dmarc", "none"), ("spf", "pass"), ("arc", "none")]
    assert parsed.results[0].comment == "p=none dis=none"


def test_received_spf_with_angle_address():
    # the write-up's message
    parsed = parse_received_spf(
        "pass (mf-ofc-ucb070: domain designate client-ip as permitted sender) client-ip=153.126.190.153;"
        " envelope-from=<centos7@phoenixknight.jp>; helo=ik1-331-25649.vs.sakura.ne.jp;")
    assert parsed.result == "pass"
    assert parsed.comment == "mf-ofc-ucb070: domain designate client-ip as permitted sender"
    assert parsed.pairs == {"client-ip": "153.126.190.153", "envelope-from": "centos7@phoenixknight.jp",
                            "helo": "ik1-331-25649.vs.sakura.ne.jp"}
    assert parsed.unrecognised == []


def test_received_spf_result_only():
    # Exchange Online, exchange_qmail.eml
    parsed = parse_received_spf("None (protection.outlook.com: lenovo.com does not designate\n permitted sender hosts)")
    assert (parsed.result, parsed.pairs) == ("none", {})
    assert parsed.comment.startswith("protection.outlook.com:")


def test_dkim_signature_summary_drops_signature_and_unfolds_h():
    summary = summarize_signature(
        "v=1; a=rsa-sha256; c=relaxed/relaxed;\n        d=lists.one-eyed-alien.net; s=google;\n"
        "        h=list-unsubscribe:list-subscribe\n         :list-id;\n"
        "        bh=fpGtt79cckraeI8eOXwzv5VZ3UEz5ok67N3uuFGgQcA=;\n        b=igPbWcuL7vAJ64sGe\n         xF/extAh=")
    assert summary == {"d": "lists.one-eyed-alien.net", "s": "google", "a": "rsa-sha256",
                       "c": "relaxed/relaxed", "h": "list-unsubscribe:list-subscribe:list-id"}


@pytest.mark.parametrize("value", ["", ";;;", "=", "spf", "a=b=c; (unclosed", '"; ( ) ;'])
def test_degenerate_values_do_not_raise(value):
    parse_authentication_results(value)
    parse_authentication_results(value, arc=True)
    parse_received_spf(value)
    summarize_signature(value)
