"""More real headers: Zimbra, Cyrus LMTP, fetchmail, IronPort, Exchange, MIT Sendmail, SendGrid,
Yahoo, qpsmtpd, nullmailer (sources in samples/SOURCES.md and next to each single header).

Every expected value below was read off the raw header text by hand, not copied from output.
"""

from pathlib import Path

from saslscope.headers import analyze_source, analyze_text, parse_received
from saslscope.headers.authresults import parse_authentication_results
from saslscope.headers.report import to_dict

SAMPLES = Path(__file__).parent / "samples"


def _sample(name: str):
    return analyze_source(str(SAMPLES / name))


def test_every_sample_is_fully_understood():
    for path in sorted(SAMPLES.glob("*.eml")):
        analysis = analyze_source(str(path))
        if path.name == "exchange_qmail.eml":          # "by Forcepoint Email": kept raw on purpose
            continue
        leftovers = {hop.raw: hop.unrecognised for hop in analysis.hops if hop.unrecognised}
        assert leftovers == {}, path.name
        assert all(hop.time is not None for hop in analysis.hops), path.name
        assert not analysis.malformed_lines, path.name


def test_zimbra_submission_behind_amavis_loop():
    analysis = _sample("zimbra_esmtpsa.eml")
    assert len(analysis.hops) == 7
    submission = analysis.submission
    assert analysis.submission_index == 0
    assert (submission.helo, submission.reverse_name, submission.from_ip) == \
        ("localhost.localdomain", "cpe-194-152-11-237.cable.triera.net", "194.152.11.237")
    assert (submission.by_host, submission.by_software, submission.protocol, submission.queue_id) == \
        ("mail.siol.net", "Zimbra", "ESMTPSA", "0A2A9520797")
    assert submission.authenticated_sender == "031275009"
    amavis = analysis.hops[2]       # "by localhost (psrvmta12.zcs-production.pri [127.0.0.1]) (amavisd-new,\n port 10032)"
    assert (amavis.by_host, amavis.by_ip, amavis.by_software, amavis.queue_id) == \
        ("localhost", "127.0.0.1", "amavisd-new, port 10032", "9JqdsLTKX2Ig")


def test_cyrus_lmtpa_is_not_the_submission_and_fetchmail_is_read():
    analysis = _sample("cyrus_lmtpa_fetchmail.eml")
    hops = analysis.hops
    assert len(hops) == 8
    pickup = hops[0]                # "by r063144.stusta.swh.mhn.de (Postfix, from userid 1000)"
    assert (pickup.by_software, pickup.local_sender, pickup.queue_id) == ("Postfix", "uid 1000", "E3C18114290")
    assert hops[1].from_ip == "10.150.63.144" and hops[1].helo == "r063144.stusta.swh.mhn.de"
    cyrus = hops[6]                 # "from pobox.devel.redhat.com ([unix socket]) by ... (Cyrus v2.2.12-...) with LMTPA"
    assert (cyrus.protocol, cyrus.from_ip, cyrus.authenticated) == ("LMTPA", None, True)
    assert cyrus.by_software == "Cyrus v2.2.12-Invoca-RPM-2.2.12-3.RHEL4.1"
    # The MTA logged in to its mailbox server: no sender authenticated anywhere in this chain.
    assert analysis.submission is None
    assert to_dict(analysis)["authenticated_hops"] == [7]
    fetchmail = hops[7]             # "from pobox.devel.redhat.com [10.11.255.8] by ... with IMAP (fetchmail-6.3.4)"
    assert (fetchmail.from_ip, fetchmail.protocol, fetchmail.by_software, fetchmail.for_addr) == \
        ("10.11.255.8", "IMAP", "fetchmail-6.3.4", "davej@localhost")


def test_ironport_tls_in_the_with_clause_and_exchange_frontend():
    hops = _sample("ironport_exchange.eml").hops
    frontend = hops[0]              # "with Microsoft SMTP Server id 15.1.2375.17 via Frontend Transport"
    assert (frontend.from_ip, frontend.by_ip, frontend.via, frontend.queue_id, frontend.tls) == \
        ("10.10.115.15", "10.10.85.144", "Frontend Transport", None, None)
    ironport = hops[2]              # "from unknown (HELO email.microchip.com) ([170.129.1.10]) ... ESMTP/TLS/AES256-SHA256"
    assert (ironport.helo, ironport.reverse_name, ironport.from_ip) == ("email.microchip.com", None, "170.129.1.10")
    assert (ironport.protocol, ironport.tls.cipher, ironport.tls.stated_by) == ("ESMTP", "AES256-SHA256", "protocol")
    assert hops[2].time.isoformat() == "2022-06-09T01:30:44-07:00"
    listexpand = hops[5]            # "(majordomo@vger.kernel.org) by vger.kernel.org via listexpand"
    assert (listexpand.local_sender, listexpand.via) == ("majordomo@vger.kernel.org", "listexpand")


def test_mit_sendmail_user_authenticated_as_and_exim_red_hat_build():
    analysis = _sample("mit_sendmail_exim_redhat.eml")
    submission = analysis.submission
    assert analysis.submission_index == 1
    assert (submission.helo, submission.reverse_name, submission.from_ip) == \
        ("callcc.thunk.org", "96-72-102-169-static.hfc.comcastbusiness.net", "96.72.102.169")
    assert submission.protocol == "ESMTP"            # the comments, not the protocol, say it authenticated
    assert submission.authenticated_sender == "tytso@ATHENA.MIT.EDU"
    assert (submission.tls.version, submission.tls.client_certificate) == ("TLSv1/SSLv3", "verify=NOT")
    assert analysis.hops[0].local_sender == "uid 15806"
    exim = analysis.hops[2]         # "(Exim 4.92 #3 (Red Hat Linux))"
    assert (exim.by_software, exim.helo, exim.from_ip) == ("Exim 4.92 #3 (Red Hat Linux)", "outgoing.mit.edu", "18.9.28.11")


def test_sendgrid_dates_without_semicolon_and_with_fractions():
    hops = _sample("sendgrid_http_google_groups.eml").hops
    http = hops[0]                  # "from MjEyNzE4NTg (unknown) by ... (SG) with HTTP id Legi... Fri, 16 Apr 2021 15:27:16.513 +0000"
    assert (http.protocol, http.queue_id, http.reverse_name, http.from_ip) == \
        ("HTTP", "Legiskg6T_2Z7-r4E84ztw", None, None)
    assert http.time.isoformat() == "2021-04-16T15:27:16.513000+00:00"
    go = hops[1]                    # "... id filter1716p1iad2-11297-6079ACD4-23 2021-04-16 15:27:16.55603616 +0000 UTC m=+..."
    assert go.queue_id == "filter1716p1iad2-11297-6079ACD4-23"
    assert go.time.isoformat() == "2021-04-16T15:27:16.556036+00:00"
    assert go.delay_seconds is not None and 0 < go.delay_seconds < 1
    gmail = hops[2]                 # "(cskrhkwd.outbound-mail.sendgrid.net. [198.21.1.157])"
    assert (gmail.reverse_name, gmail.from_ip, gmail.tls.bits) == \
        ("cskrhkwd.outbound-mail.sendgrid.net", "198.21.1.157", "128/128")


def test_yahoo_webmail_submission():
    analysis = _sample("yahoo_hermes_esmtpa.eml")
    submission = analysis.submission
    assert (submission.by_host, submission.by_software) == \
        ("hermes--production-gq1-5dd4b47f46-prs6p", "Yahoo Inc. Hermes SMTP Server")
    assert (submission.protocol, submission.queue_id, submission.from_ip) == \
        ("ESMTPA", "8cd769ecc3402b59fcfb097dfca91800", None)
    assert analysis.hops[1].protocol == "HTTP"
    arc = analysis.arc_auth_results[0]          # "ARC-Authentication-Results:i=1; smtp.subspace.kernel.org; ..."
    assert (arc.instance, arc.authserv_id) == (1, "smtp.subspace.kernel.org")
    assert [(r.method, r.result) for r in arc.results] == \
        [("dmarc", "none"), ("spf", "none"), ("dkim", "pass"), ("arc", "none")]


# --- single headers -------------------------------------------------------------------------

def test_qpsmtpd_smtp_auth_comment():
    # git@vger.kernel.org, a reply by Jeff King received by peff.net on 24 Jun 2013 (lore.kernel.org/git)
    hop = parse_received(
        "from c-98-244-76-202.hsd1.va.comcast.net (HELO sigill.intra.peff.net) (98.244.76.202)\n"
        "  (smtp-auth username relayok, mechanism cram-md5)\n"
        "  by peff.net (qpsmtpd/0.84) with ESMTPA; Mon, 24 Jun 2013 12:02:04 -0500")
    assert (hop.helo, hop.reverse_name, hop.from_ip) == \
        ("sigill.intra.peff.net", "c-98-244-76-202.hsd1.va.comcast.net", "98.244.76.202")
    assert (hop.by_software, hop.authenticated_sender, hop.unrecognised) == ("qpsmtpd/0.84", "relayok", [])


def test_local_injection_by_uid():
    # devicetree list, Rob Herring, 10 Mar 2022 ("nullmailer pid ... invoked by uid 1000")
    hop = parse_received("(nullmailer pid 2185267 invoked by uid 1000);\n        Thu, 10 Mar 2022 22:18:35 -0000")
    assert (hop.local_sender, hop.unrecognised, hop.time.isoformat()) == ("uid 1000", [], "2022-03-10T22:18:35+00:00")
    # git list, peff.net, 24 Jun 2013
    assert parse_received("(qmail 28802 invoked by uid 102); 24 Jun 2013 17:02:04 -0000").local_sender == "uid 102"


def test_exchange_tls_without_details():
    # linux-block, Chaitanya Kulkarni (nvidia.com), 30 Jun 2022
    hop = parse_received(
        "from rnnvmail201.nvidia.com (10.129.68.8) by DRHQMAIL105.nvidia.com\n (10.27.9.14) with Microsoft "
        "SMTP Server (TLS) id 15.0.1497.32; Thu, 30 Jun\n 2022 09:14:53 +0000")
    assert (hop.from_ip, hop.by_ip, hop.queue_id, hop.unrecognised) == ("10.129.68.8", "10.27.9.14", None, [])
    assert hop.tls is not None and hop.tls.cipher is None and "(TLS)" in hop.tls.note
    assert hop.by_software == "Microsoft Exchange 15.0.1497.32"


def test_exim_port_and_helo_without_reverse_name():
    # u-boot list, Grzegorz Szymaszek (short.pl), 26 Jul 2024
    hop = parse_received(
        "from [192.168.192.146] (port=49304 helo=nx64de-b91e0e)\n by mx01.ayax.eu with esmtpsa (TLS1.3) tls\n"
        " TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (Exim 4.94.2)\n (envelope-from <gszymaszek@short.pl>)\n"
        " id 1sXOZt-000fLA-U9; Fri, 26 Jul 2024 19:18:02 +0200")
    assert (hop.from_ip, hop.helo, hop.reverse_name, hop.queue_id) == \
        ("192.168.192.146", "nx64de-b91e0e", None, "1sXOZt-000fLA-U9")
    assert (hop.authenticated, hop.tls.version, hop.tls.cipher) == \
        (True, "TLS1.3", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")


def test_old_gmail_date_without_semicolon():
    # SendGrid test message quoted in a codechalleng.es bite (2013)
    hop = parse_received("by 10.8.49.86 with SMTP id mf9.22328.51C1E5CDF\n    Wed, 19 Jun 2013 17:09:33 +0000 (UTC)")
    assert (hop.by_host, hop.queue_id, hop.unrecognised) == ("10.8.49.86", "mf9.22328.51C1E5CDF", [])
    assert hop.time.isoformat() == "2013-06-19T17:09:33+00:00"


def test_cambridge_cyrus_lmtp_and_receiver_port():
    # A message quoted in a public test corpus, received at Cambridge (ppsw / Cyrus v2.1.16-HERMES), 25 Aug 2005
    relay = parse_received(
        "from cmailg1.svr.pol.co.uk ([195.92.195.171]:3765)\n\tby ppsw-9.csi.cam.ac.uk (mx.cam.ac.uk "
        "[131.111.8.149]:25)\n\twith esmtp; Thu, 25 Aug 2005 15:47:51 +0100")
    assert (relay.from_ip, relay.from_port, relay.by_ip, relay.unrecognised) == \
        ("195.92.195.171", 3765, "131.111.8.149", [])
    lmtp = parse_received("from ppsw-9-intramail.csi.cam.ac.uk ([192.168.128.139])\n\tby cyrus-5.csi.private.cam.ac.uk "
                          "(Cyrus v2.1.16-HERMES)\n\twith LMTP; Thu, 25 Aug 2005 15:47:51 +0100")
    assert (lmtp.by_software, lmtp.protocol, lmtp.authenticated) == ("Cyrus v2.1.16-HERMES", "LMTP", False)


def test_microsoft_authentication_results_with_the_domain_between_results():
    # dri-devel, AMD senders via Exchange Online, 2 Mar 2020
    parsed = parse_authentication_results(
        "spf=none (sender IP is 165.204.84.17)\n smtp.mailfrom=amd.com; lists.freedesktop.org; dkim=none "
        "(message not signed)\n header.d=none;lists.freedesktop.org; dmarc=permerror action=none\n header.from=amd.com;")
    assert parsed.authserv_id == "lists.freedesktop.org"
    assert [(r.method, r.result) for r in parsed.results] == [("spf", "none"), ("dkim", "none"), ("dmarc", "permerror")]
    assert parsed.results[2].extras == {"action": "none"}
    assert parsed.unrecognised == []


def test_ovh_authentication_results_x_tls_and_dmarc_policy_properties():
    # qemu list, Kane Chen (aspeedtech.com) via OVH, 8 Jul 2025
    parsed = parse_authentication_results(
        "mx.mail.ovh.net;\n     arc=none (no signatures found);\n     dkim=none (no signatures found);\n"
        "     dmarc=pass policy.published-domain-policy=quarantine policy.applied-disposition=none "
        "policy.evaluated-disposition=none (p=quarantine,d=none,d.eval=none) policy.policy-from=p "
        "header.from=aspeedtech.com;\n     spf=pass smtp.mailfrom=kane_chen@aspeedtech.com smtp.helo=TWMBX01.aspeed.com;\n"
        "     x-tls=pass smtp.version=TLSv1.2 smtp.cipher=ECDHE-RSA-AES256-GCM-SHA384 smtp.bits=256")
    assert parsed.authserv_id == "mx.mail.ovh.net" and parsed.unrecognised == []
    dmarc, tls = parsed.results[2], parsed.results[4]
    assert (dmarc.result, dmarc.properties["policy.published-domain-policy"], dmarc.properties["header.from"]) == \
        ("pass", "quarantine", "aspeedtech.com")
    assert (tls.method, tls.properties["smtp.version"], tls.properties["smtp.bits"]) == ("x-tls", "TLSv1.2", "256")


def test_authenticated_user_comment_mdaemon_and_others():
    # linux-mips, <40079391.7080301@mistralsoftware.com> (MDaemon PRO 6.8.5)
    mdaemon = parse_received(
        "from mistralsoftware.com ([192.168.13.230])\n\t(authenticated user suresh@mistralsoftware.com)\n"
        "\tby mistralsoftware.com (mistralsoftware.com [192.168.10.12])\n\t(MDaemon.PRO.v6.8.5.R)\n"
        "\twith ESMTP id 40-md50000000011.tmp\n\tfor <linux-mips@linux-mips.org>; Fri, 16 Jan 2004 13:11:46 +0530")
    assert (mdaemon.authenticated, mdaemon.authenticated_sender, mdaemon.protocol) == \
        (True, "suresh@mistralsoftware.com", "ESMTP")
    assert (mdaemon.from_ip, mdaemon.by_ip, mdaemon.by_software, mdaemon.queue_id, mdaemon.unrecognised) == \
        ("192.168.13.230", "192.168.10.12", "MDaemon.PRO.v6.8.5.R", "40-md50000000011.tmp", [])
    # netdev, Ivan Bornyakov (metrotek.ru), 12 Jun 2022: no queue ID, TLS after the with clause
    other = parse_received(
        "from localhost.localdomain ([178.70.36.174])\n        (authenticated user i.bornyakov@metrotek.ru)\n"
        "        by mail.pr-group.ru with ESMTPSA\n        (using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 "
        "(256 bits));\n        Sun, 12 Jun 2022 21:42:27 +0300")
    assert (other.authenticated_sender, other.from_ip, other.tls.cipher, other.tls.bits, other.unrecognised) == \
        ("i.bornyakov@metrotek.ru", "178.70.36.174", "ECDHE-RSA-AES256-GCM-SHA384", "256", [])


def test_haraka_submission_on_loopback():
    # qemu-devel, Julian Ganz via uberspace.de, 4 Sep 2025 (Haraka writes "HELO unkown" as sent)
    text = ("Received: (qmail 2401 invoked by uid 990); 4 Sep 2025 20:49:17 -0000\n"
            "Authentication-Results: skiff.uberspace.de;\n\tauth=pass (plain)\n"
            "Received: from unknown (HELO unkown) (::1)\n by skiff.uberspace.de (Haraka/3.0.1) with ESMTPSA;\n"
            " Thu, 04 Sep 2025 22:49:17 +0200\n")
    analysis = analyze_text(text)
    submission = analysis.submission
    assert (submission.from_ip, submission.helo, submission.reverse_name, submission.by_software) == \
        ("::1", "unkown", None, "Haraka/3.0.1")
    assert analysis.hops[1].local_sender == "uid 990"
    (verdict,) = analysis.auth_results[0].results
    assert (verdict.method, verdict.result, verdict.comment) == ("auth", "pass", "plain")


def test_ovh_into_exchange_mailbox_transport():
    # The header a recipient quoted in qemu-devel <c35953cd-93ae-4ded-a5f0-466b8873f6d6@kaod.org>
    analysis = _sample("ovh_exchange_mailbox.eml")
    hops = analysis.hops
    assert len(hops) == 8 and analysis.submission is None
    assert (hops[0].from_ip, hops[0].via, hops[0].tls) == ("192.168.10.10", "Frontend Transport", None)
    relay = hops[2]                 # "from TWMBX01.aspeed.com (mail.aspeedtech.com [211.20.114.72]) by in79..."
    assert (relay.helo, relay.reverse_name, relay.from_ip, relay.queue_id) == \
        ("TWMBX01.aspeed.com", "mail.aspeedtech.com", "211.20.114.72", "4bbr4s4RcFz6dtBC")
    assert (hops[7].via, hops[7].by_ip, hops[7].tls.version) == ("Mailbox Transport", "172.16.2.72", "TLS1_2")
    exchange_spf, ovh_spf = analysis.received_spf
    assert (exchange_spf.result, exchange_spf.pairs["client-ip"]) == ("fail", "164.132.34.47")
    assert (ovh_spf.result, ovh_spf.pairs["envelope-from"]) == ("pass", "kane_chen@aspeedtech.com")
    assert analysis.summary["Return-Path"] == "kane_chen@aspeedtech.com"


def test_ozlabs_submission_and_old_exim_tls_comment():
    # qemu-devel, <c35953cd-93ae-4ded-a5f0-466b8873f6d6@kaod.org>
    analysis = _sample("ozlabs_exim_gnu.eml")
    submission = analysis.submission
    assert analysis.submission_index == 0
    assert (submission.helo, submission.reverse_name, submission.from_ip, submission.queue_id) == \
        ("authenticated.ozlabs.org", "localhost", "127.0.0.1", "4bmZgd2QMlz4wd0")
    assert submission.tls.client_certificate == "Client did not present a certificate"
    assert "key-exchange X25519" in submission.tls.note
    exim = analysis.hops[2]         # "with esmtps (TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256)"
    assert (exim.tls.version, exim.tls.cipher, exim.tls.bits, exim.helo, exim.reverse_name) == \
        ("TLS1.2", "ECDHE_RSA_AES_256_GCM_SHA384", "256", "mail.ozlabs.org", "gandalf.ozlabs.org")
    (spf,) = analysis.received_spf   # "Received-SPF: pass client-ip=...; envelope-from=...; helo=..." (no comment)
    assert (spf.result, spf.comment, spf.pairs["helo"]) == ("pass", None, "mail.ozlabs.org")


def test_date_forms_beyond_rfc_5322():
    # Format checks (no real header at hand for the ISO form): RFC 3339 stamps, with or without the ";"
    assert parse_received("by api.example with HTTP id 1; 2024-03-01T12:00:00Z").time.isoformat() == \
        "2024-03-01T12:00:00+00:00"
    hop = parse_received("by api.example with HTTP id x1 2024-03-01T12:00:00.5+02:00")
    assert (hop.queue_id, hop.time.isoformat(), hop.unrecognised) == ("x1", "2024-03-01T12:00:00.500000+02:00", [])
    assert parse_received("by a with SMTP id 2024-13-01T12:00:00Z").time is None      # month 13: not a date


def test_iis_smtpsvc_over_tls_and_ecartis():
    # qemu-devel <9ccd5d3f-59ac-1df3-0020-f5a6bcaaa6d2@eldorado.org.br>, 2 Jun 2022
    iis = parse_received("from p9ibm ([10.10.71.235]) by outlook.eldorado.org.br over TLS\n secured channel with "
                         "Microsoft SMTPSVC(8.5.9600.16384); \n Thu, 2 Jun 2022 17:00:04 -0300")
    assert (iis.by_host, iis.protocol, iis.by_software, iis.from_ip, iis.unrecognised) == \
        ("outlook.eldorado.org.br", "Microsoft SMTPSVC", "Microsoft SMTPSVC 8.5.9600.16384", "10.10.71.235", [])
    assert iis.tls.cipher is None and "over TLS secured channel" in iis.tls.note
    # linux-mips <48616162.6080400@ru.mvista.com>: the list manager's own hop
    ecartis = parse_received("with ECARTIS (v1.0.0; list linux-mips); Tue, 24 Jun 2008 22:04:45 +0100 (BST)")
    assert (ecartis.protocol, ecartis.by_software, ecartis.unrecognised) == \
        ("ECARTIS", "ECARTIS v1.0.0; list linux-mips", [])


def test_mimecast_spelled_out_protocols():
    # linux-kernel, David Laight (aculab.com) through Mimecast, 31 Aug 2024: an authenticated submission
    submission = parse_received(
        "from AcuMS.aculab.com (156.67.243.121 [156.67.243.121]) by\n relay.mimecast.com with ESMTP with both STARTTLS "
        "and AUTH (version=TLSv1.2,\n cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384) id\n uk-mta-92-VIUI8HB7OHmUb0FuB2D6sQ-1; "
        "Sat, 31 Aug 2024 13:40:12 +0100")
    assert (submission.authenticated, submission.from_ip, submission.queue_id, submission.tls.cipher) == \
        (True, "156.67.243.121", "uk-mta-92-VIUI8HB7OHmUb0FuB2D6sQ-1", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384")
    # qemu-devel via Red Hat's Mimecast, 6 Nov 2023: inbound, TLS but no login
    inbound = parse_received(
        "from mail-qk1-f200.google.com (mail-qk1-f200.google.com\n [209.85.222.200]) by relay.mimecast.com with ESMTP "
        "with STARTTLS\n (version=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384) id\n us-mta-422-ra1JI4BFMOG9dJhfi-aIsw-1; "
        "Mon, 06 Nov 2023 11:37:31 -0500")
    assert (inbound.authenticated, inbound.transmission.tls, inbound.tls.version) == (False, True, "TLSv1.3")


def test_exchange_says_who_authenticated_in_its_own_fields():
    # ovh_exchange_mailbox.eml keeps Exchange's "X-MS-Exchange-Organization-AuthAs: Anonymous":
    # the message came in from outside, no one logged in to Exchange to send it
    summary = _sample("ovh_exchange_mailbox.eml").summary
    assert summary["X-MS-Exchange-Organization-AuthAs"] == "Anonymous"
    assert "X-Authenticated-Sender" not in summary


def test_cpanel_and_mailchannels_name_the_login():
    # git@vger.kernel.org via a cPanel host (www18.qth.com); linux-btrfs via MailChannels, 12 Dec 2023
    analysis = analyze_text(
        "X-Get-Message-Sender-Via: www18.qth.com: authenticated_id: dmail@justpickone.org\n"
        "X-Authenticated-Sender: www18.qth.com: dmail@justpickone.org\n"
        "X-Sender-Id: instrampxe0y3a|x-authuser|calestyo@scientia.org\n"
        "Received: from relay.mailchannels.net (localhost [127.0.0.1])\n\tby relay.mailchannels.net (Postfix) with "
        "ESMTP id E21A7140E6B;\n\tTue, 12 Dec 2023 03:40:11 +0000 (UTC)\n")
    assert analysis.summary["X-Get-Message-Sender-Via"] == "www18.qth.com: authenticated_id: dmail@justpickone.org"
    assert analysis.summary["X-Authenticated-Sender"] == "www18.qth.com: dmail@justpickone.org"
    assert analysis.summary["X-Sender-Id"] == "instrampxe0y3a|x-authuser|calestyo@scientia.org"


def test_amazon_ses_smtp_interface():
    # SES bounce/complaint notifications quote the Received header SES added (AWS SES developer guide,
    # "notification examples"; one from a public project's test data, 18 Feb 2020)
    hop = parse_received(
        "from Maxs-MacBook-Pro.local (CPE704ca52f06e7-CMf81d0fa26620.cpe.net.cable.rogers.com []) by "
        "email-smtp.amazonaws.com with SMTP (SimpleEmailService-d-P4XJ6SAG2) id Ayj6eL5Zy9bZQqaeWP88 for "
        "complaint@simulator.amazonses.com; Tue, 18 Feb 2020 14:34:52 +0000 (UTC)")
    assert (hop.helo, hop.reverse_name, hop.from_ip) == \
        ("Maxs-MacBook-Pro.local", "CPE704ca52f06e7-CMf81d0fa26620.cpe.net.cable.rogers.com", None)
    assert (hop.by_software, hop.queue_id, hop.authenticated, hop.unrecognised) == \
        ("Amazon SES (SimpleEmailService-d-P4XJ6SAG2)", "Ayj6eL5Zy9bZQqaeWP88", True, [])


def test_a_header_pasted_indented_or_quoted():
    # The same real header as a forum code block (indented) and as an inline forward ("> " quoted)
    raw = (SAMPLES / "mit_sendmail_exim_redhat.eml").read_text()
    plain = analyze_text(raw)
    for pasted in ("\n".join("    " + line for line in raw.splitlines()),
                   "\n".join("> " + line if line else ">" for line in raw.splitlines()) + "\nThanks.\n"):
        analysis = analyze_text(pasted)
        assert [hop.raw for hop in analysis.hops] == [hop.raw for hop in plain.hops]
        assert analysis.submission.authenticated_sender == "tytso@ATHENA.MIT.EDU"
        assert analysis.malformed_lines == []
    assert analyze_text("    not a header\n    Received: x\n").hops == []       # first line must be a field


def test_a_paste_that_opens_with_a_preamble():
    # The shape of Gmail's "Show original" page copied whole (its summary table first; values made
    # up here), and a sentence of explanation before a header: the header is found, the rest kept.
    paste = ("Original message\nMessage ID\t<CAx@mail.gmail.com>\nCreated at:\tThu, Jan 4, 2024 at 10:15 AM\n"
             "From:\tFoo <foo@example.com>\n\nDownload original\tCopy to clipboard\n\n"
             "Delivered-To: bar@example.com\n"
             "Received: by 2002:a05:6a10:1234:b0:5b1:1234:abcd with SMTP id x1csp123;\n"
             "        Thu, 4 Jan 2024 10:15:02 -0800 (PST)\n\nbody\n")
    analysis = analyze_text(paste)
    assert [hop.by_host for hop in analysis.hops] == ["2002:a05:6a10:1234:b0:5b1:1234:abcd"]
    assert next(line for _, line in analysis.malformed_lines) == "Original message"
    assert len(analysis.malformed_lines) == 5                       # every preamble line kept
    prose = analyze_text("Here is the header you asked for:\n" + (SAMPLES / "zimbra_esmtpsa.eml").read_text())
    assert len(prose.hops) == 7 and prose.malformed_lines == [(1, "Here is the header you asked for:")]
