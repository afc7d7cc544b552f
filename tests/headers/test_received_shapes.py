"""Real Received headers from other servers (sources in samples/SOURCES.md and next to each).

Expected values are read from the header text by hand.
"""

from pathlib import Path

import pytest

from saslscope.headers import analyze_source, parse_received

SAMPLES = Path(__file__).parent / "samples"


def test_exim_esmtpsa_with_tls_clause_and_helo():
    analysis = analyze_source(str(SAMPLES / "exim_esmtpsa.eml"))
    submission = analysis.submission
    assert analysis.submission_index == 0
    assert submission.protocol == "esmtpsa"
    assert submission.reverse_name == "p5b13a40a.dip0.t-ipconnect.de"
    assert submission.helo == "[192.168.178.81]"
    assert submission.from_ip == "91.19.164.10"
    assert submission.by_software == "Exim 4.95"
    assert submission.tls.version == "TLS1.3"
    assert submission.tls.cipher == "TLS_AES_256_GCM_SHA384"
    assert submission.envelope_from == "glaubitz@physik.fu-berlin.de"
    assert submission.queue_id == "1qjDgo-0028oM-87"
    relay = analysis.hops[1]
    assert (relay.protocol, relay.authenticated, relay.tls.cipher) == ("esmtps", False, "TLS_AES_256_GCM_SHA384")
    # "from outpost1... (outpost1.zedat.fu-berlin.de\n [130.133.4.66])" folded inside the comment
    assert analysis.hops[2].from_ip == "130.133.4.66"
    assert all(not hop.unrecognised for hop in analysis.hops)


def test_sendmail_authenticated_bits_and_trailing_envelope_from():
    analysis = analyze_source(str(SAMPLES / "sendmail_esmtpsa.eml"))
    submission = analysis.submission
    assert submission.helo == "[192.168.1.10]"
    assert submission.reverse_name == "M106072142033.v4.enabler.ne.jp"
    assert submission.from_ip == "106.72.142.33"
    assert submission.by_software == "8.15.2/8.15.2"
    assert submission.queue_id == "60S8Qq5H067887"
    assert (submission.tls.version, submission.tls.cipher, submission.tls.bits) == \
        ("TLSv1.2", "AES256-GCM-SHA384", "256")
    assert submission.envelope_from == "penguin-kernel@I-love.SAKURA.ne.jp"
    assert "comment 'authenticated bits=0'" in submission.auth_evidence
    final = analysis.hops[-1]           # Dovecot LMTP: "by lfdr with LMTP\n id iBMhOWnIeWnxzQEAu9opvQ"
    assert (final.protocol, final.queue_id, final.for_addr) == ("LMTP", "iBMhOWnIeWnxzQEAu9opvQ",
                                                                 "lists+linux-rdma@lfdr.de")
    assert len(analysis.hops) == 7


def test_gmail_submission_and_google_transport_security():
    analysis = analyze_source(str(SAMPLES / "gmail_esmtpsa.eml"))
    submission = analysis.submission
    assert submission.by_host == "smtp.gmail.com"
    assert submission.helo == "[192.168.1.128]"
    assert submission.from_ip == "38.15.45.1"
    assert (submission.tls.version, submission.tls.cipher, submission.tls.bits) == \
        ("TLS1_3", "TLS_AES_128_GCM_SHA256", "128/128")
    mx = analysis.hops[1]
    assert (mx.by_host, mx.protocol, mx.for_addr) == ("mx.google.com", "SMTPS", "usb-storage@lists.one-eyed-alien.net")
    assert mx.reverse_name == "mail-sor-f41.google.com"       # trailing root dot dropped
    assert mx.tls.note == "Google Transport Security"
    assert analysis.hops[-1].from_ip == "2001:4860:4864:20::48"   # "[IPv6:...]"
    assert analysis.hops[2].by_host == "2002:aca:a8d8:0:b0:33a:6d3:3801"


def test_exchange_and_qmail_chain():
    analysis = analyze_source(str(SAMPLES / "exchange_qmail.eml"))
    hops = analysis.hops
    assert len(hops) == 12
    mapi = hops[0]
    assert (mapi.protocol, mapi.authenticated, mapi.queue_id) == ("mapi", True, None)
    assert mapi.by_software == "Microsoft Exchange 15.20.2921.024"
    exchange = hops[1]
    assert (exchange.from_ip, exchange.by_ip) == ("20.177.12.140", "20.177.95.78")
    assert (exchange.tls.version, exchange.tls.cipher) == ("TLS1_2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    assert exchange.queue_id is None                       # "id 15.20.2921.21" is the Exchange build
    assert hops[3].via == "Frontend Transport"
    qmail_smtp = hops[6]
    assert (qmail_smtp.from_host, qmail_smtp.helo, qmail_smtp.reverse_name, qmail_smtp.from_ip) == \
        ("unknown", "lenovo.com", None, "103.30.234.5")
    assert (qmail_smtp.protocol, qmail_smtp.tls.cipher) == ("SMTP", "ECDHE-RSA-AES256-GCM-SHA384")
    qmail_process = hops[7]
    assert qmail_process.from_host is None and qmail_process.by_host is None
    assert qmail_process.comments == ["qmail 16438 invoked from network"]
    assert qmail_process.time is not None                  # "-0000": UTC, zone unknown (RFC 5322 §3.3)
    assert hops[5].unrecognised == ["Email"]               # "by Forcepoint Email": kept, shown raw


# Single headers from public list archives, quoted verbatim.
@pytest.mark.parametrize("value, expected", [
    (   # linux-usb, mailchannels relay (Postfix smtpd_sasl_authenticated_header=yes)
        "from pod-140840 (unknown [127.0.0.6])\n (Authenticated sender: wpengine)\n"
        " by relay.mailchannels.net (Postfix) with ESMTPA id 37D872A158A\n"
        " for <linux-usb@vger.kernel.org>; Fri, 17 Jun 2022 03:07:21 +0000 (UTC)",
        {"authenticated": True, "authenticated_sender": "wpengine", "reverse_name": None,
         "from_ip": "127.0.0.6", "protocol": "ESMTPA", "tls": None},
    ),
    (   # linux-renesas-soc, <20210122104758.GB29150@kunai>: qmail-style ESMTPSA without "from"
        "by mail.zeus03.de with ESMTPSA (TLS_AES_256_GCM_SHA384 encrypted, authenticated);"
        " 22 Jan 2021 11:47:59 +0100",
        {"authenticated": True, "from_host": None, "protocol": "ESMTPSA"},
    ),
    (   # same message, vger.kernel.org: "[ip]:port" and a quoted EHLO inside the comment
        'from www.zeus03.de ([194.117.254.33]:48012 "EHLO mail.zeus03.de"\n rhost-flags-OK-OK-OK-OK)'
        " by vger.kernel.org with ESMTP\n id S1727466AbhAVKsl (ORCPT\n"
        " <rfc822;linux-renesas-soc@vger.kernel.org>);\n Fri, 22 Jan 2021 05:48:41 -0500",
        {"from_port": 48012, "helo": "mail.zeus03.de", "reverse_name": "www.zeus03.de",
         "from_ip": "194.117.254.33", "queue_id": "S1727466AbhAVKsl", "unrecognised": []},
    ),
    (   # RFC 8601 Appendix B.4 (its non-standard "Fri, Feb 15 2002" date order included)
        "from dialup-1-2-3-4.example.net\n (dialup-1-2-3-4.example.net [192.0.2.200])\n"
        " by mail-router.example.com (8.11.6/8.11.6)\n with ESMTPA id g1G0r1kA003489;\n"
        " Fri, Feb 15 2002 17:19:07 -0800",
        {"authenticated": True, "from_ip": "192.0.2.200", "by_software": "8.11.6/8.11.6",
         "queue_id": "g1G0r1kA003489"},
    ),
    (   # linux-kernel, <13ef2a41-9faa-fc6f-9b42-0bb48e6f591c@inetstar.ru>: Courier, "id" after the date
        "from [10.0.0.2] ([193.107.193.43])\n  (AUTH: LOGIN work2017, SSL: TLS1.2,128bits,ECDHE_RSA_AES_128_GCM_SHA256)\n"
        "  by smtp.inetstar.ru with ESMTPSA; Mon, 23 Dec 2019 19:23:58 +0300\n"
        "  id 00000000009CDC5D.000000005E00EA1E.0000039B",
        {"authenticated_sender": "work2017", "from_ip": "193.107.193.43", "helo": "[10.0.0.2]",
         "queue_id": "00000000009CDC5D.000000005E00EA1E.0000039B", "time_raw": "Mon, 23 Dec 2019 19:23:58 +0300",
         "unrecognised": []},
    ),
    (   # git list, 2010-09-08, reply to <1283954045-8326-1-git-send-email-ods15@ods15.dyndns.org>:
        # Courier says "with esmtp" but "(AUTH: LOGIN jast)"; the client IP is IPv4-mapped IPv6
        "from jk.gs (p508A2F6F.dip.t-dialin.net [::ffff:80.138.47.111])\n"
        "  (AUTH: LOGIN jast, TLS: TLSv1/SSLv3,128bits,AES128-SHA)\n"
        "  by cthulhu.zoidberg.org with esmtp; Wed, 08 Sep 2010 23:07:41 +0200\n  id 00400317.4C87FB1D.00000DF6",
        {"authenticated": True, "authenticated_sender": "jast", "from_ip": "80.138.47.111",
         "reverse_name": "p508A2F6F.dip.t-dialin.net", "protocol": "esmtp", "queue_id": "00400317.4C87FB1D.00000DF6"},
    ),
    (   # linux-kernel, Dmitrii Tcvetkov, 2020-12-29: OpenSMTPD "auth=yes user=me" outside comments
        "from note (<unknown> [2a01:a282:13:14:1a3d:a2ff:fe1a:7964])\n        by hermod.demsh.org (OpenSMTPD)"
        " with ESMTPSA id 7d1a8c44 (TLSv1.3:AEAD-AES256-GCM-SHA384:256:NO) auth=yes user=me;\n"
        "        Tue, 29 Dec 2020 07:49:57 +0000 (UTC)",
        {"authenticated_sender": "me", "reverse_name": None, "from_ip": "2a01:a282:13:14:1a3d:a2ff:fe1a:7964",
         "by_software": "OpenSMTPD", "queue_id": "7d1a8c44", "unrecognised": []},
    ),
    (   # git list, <aNN4Mk9Nh_mF1dJ6@pks.im>: OpenSMTPD submission with no "from" clause at all
        "\n\tby mail (OpenSMTPD) with ESMTPSA id dcc4d935 (TLSv1.3:TLS_CHACHA20_POLY1305_SHA256:256:NO);\n"
        "\tWed, 24 Sep 2025 04:48:53 +0000 (UTC)",
        {"from_host": None, "by_host": "mail", "authenticated": True, "queue_id": "dcc4d935"},
    ),
])
def test_single_real_headers(value, expected):
    hop = parse_received(value)
    assert {key: getattr(hop, key) for key in expected} == expected


def test_rfc8601_date_is_read_despite_month_first_order():
    hop = parse_received("from a by b with ESMTPA id q; Fri, Feb 15 2002 17:19:07 -0800")
    assert hop.time is not None and (hop.time.year, hop.time.month, hop.time.day, hop.time.hour) == (2002, 2, 15, 17)


def test_unparsable_date_is_kept_raw():
    hop = parse_received("from a by b with SMTP; yesterday around noon")
    assert hop.time is None
    assert hop.time_raw == "yesterday around noon"
    assert "yesterday around noon" in hop.unrecognised


def test_postfix_tls13_key_exchange_details():
    # netdev list, 2022-01-26, "DKIM-Filter: OpenDKIM Filter v2.11.0 serv108.segi.ulg.ac.be 7B3E0200BFE9"
    hop = parse_received(
        "from localhost.localdomain (148.24-240-81.adsl-dyn.isp.belgacom.be [81.240.24.148])\n"
        " (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n"
        "         key-exchange X25519 server-signature RSA-PSS (2048 bits))\n"
        "        (No client certificate requested)\n"
        "        by serv108.segi.ulg.ac.be (Postfix) with ESMTPSA id 7B3E0200BFE9;\n"
        "        Wed, 26 Jan 2022 19:47:00 +0100 (CET)")
    assert (hop.tls.version, hop.tls.cipher, hop.tls.bits) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384", "256/256")
    assert hop.tls.note == "key-exchange X25519, server-signature RSA-PSS (2048 bits)"
    assert hop.authenticated and hop.queue_id == "7B3E0200BFE9"


def test_protocol_says_tls_when_no_comment_does():
    hop = parse_received("from a (a [192.0.2.1]) by b with ESMTPS id Q; Mon, 17 Sep 2018 12:00:00 +0000")
    assert (hop.tls.stated_by, hop.tls.version, hop.tls.cipher) == ("protocol", None, None)
    assert not hop.authenticated


@pytest.mark.parametrize("value", [
    "(qmail 24358 invoked by uid 550); 7 Aug 2024 19:28:29 -0000",      # oss-security (ezmlm), 2024-08-07
    "(qmail 19830 invoked by alias); 26 Mar 2004 06:50:12 -0000",       # cygwin-patches (ezmlm), 2004-03-26
    "(qmail 23615 invoked from network); 7 Aug 2024 19:08:50 -0000",    # oss-security, 2024-08-07
])
def test_qmail_process_lines_are_understood(value):
    hop = parse_received(value)
    assert hop.unrecognised == []
    assert hop.from_host is None and hop.by_host is None and not hop.authenticated
    assert hop.time is not None and hop.time.utcoffset().total_seconds() == 0


def test_receiver_address_literal_and_several_recipients():
    # RFC 5321 §4.4 allows an address literal after "by" and several "for" paths are common
    hop = parse_received("from x ([192.0.2.1]) by [IPv6:2001:db8::1] with ESMTP id A for <a@example.org>, "
                         "<b@example.net>; Mon, 1 Jan 2024 00:00:00 +0000")
    assert (hop.by_ip, hop.for_addr, hop.unrecognised) == ("2001:db8::1", "a@example.org, b@example.net", [])
