"""``saslscope headers``: read a message's Received chain -- who sent it, and how."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from saslscope.cli.exitcodes import Exit


@click.command()
@click.argument("source", metavar="FILE|MAILDIR|-")
@click.option("--index", type=int, default=None,
              help="Read message N of an mbox file or a Maildir, in delivery order (0 = first, -1 = last;"
                   " a Maildir's default is the last).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--log", "log_paths", multiple=True, metavar="FILE",
              help="Postfix log(s): show the SASL login behind the authenticated hop. Repeatable.")
@click.option("--skew-tolerance", type=click.FloatRange(min=0), default=60.0, show_default=True,
              metavar="SECONDS", help="Flag clock skew when a hop is older than the previous one by more.")
def headers(source: str, index: int | None, as_json: bool, log_paths: tuple[str, ...],
            skew_tolerance: float) -> None:
    """Show the hops of a message (an .eml file, an mbox message, a Maildir's message, or - for
    stdin), oldest first.

    For each hop: the sending host (HELO, reverse name, IP), the receiving host, the protocol
    and its meaning (ESMTPSA = authenticated submission over TLS, RFC 3848), TLS version and
    cipher, queue ID, envelope recipient, time and delay. Then the authenticated submission hop,
    and the SPF, DKIM, DMARC, ARC and Authentication-Results verdicts.

    Exit status: 0 report printed (also when no hop is authenticated), 7 unreadable or empty
    input, or a log that cannot be read.
    """
    from saslscope.headers import HeaderInputError, analyze_source
    from saslscope.headers.logjoin import join_log
    from saslscope.headers.report import to_dict

    try:
        analysis = analyze_source(source, index=index, skew_tolerance=skew_tolerance)
        log = join_log(analysis, list(log_paths)) if log_paths else None
    except HeaderInputError as error:
        click.echo(f"saslscope headers: {_printable(error)}", err=True)     # paths and log text: data
        sys.exit(Exit.BAD_INPUT)
    report = to_dict(analysis, log=log)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _render(report)


# --------------------------------------------------------------------------- human output
# Header text is attacker-controlled: it is never parsed as rich markup (Text objects only)
# and control characters are shown escaped so a header cannot drive the terminal.

def _printable(value: object) -> str:
    text = "" if value is None else str(value)
    return "".join(ch if ch == "\t" or (ch.isprintable()) else f"\\x{ord(ch):02x}" for ch in text)


def _line(*parts: tuple[object, str] | object) -> Any:
    from rich.text import Text

    line = Text()
    for part in parts:
        text, style = part if isinstance(part, tuple) else (part, "")
        line.append(_printable(text), style=style)
    return line


def _delay(seconds: float | None) -> str:
    """``+3.44 s``, ``+2.5 min``, ``-1.2 h``: two decimals at most, a space before the unit."""
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else "+"
    value = abs(seconds)
    if value < 120:
        return f"{sign}{_number(value, 2)} s"
    if value < 7200:
        return f"{sign}{_number(value / 60, 1)} min"
    return f"{sign}{_number(value / 3600, 1)} h"


def _number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _tls_text(tls: dict[str, Any] | None) -> str:
    if not tls:
        return "not stated"
    parts = [tls.get("version"), tls.get("cipher")]
    if tls.get("bits"):
        parts.append(f"({tls['bits']} bits)")
    if tls.get("note"):
        parts.append(f"[{tls['note']}]")
    if tls.get("client_certificate"):
        parts.append(f"client cert: {tls['client_certificate']}")
    return " ".join(str(p) for p in parts if p)


def _render_hop(console: Any, hop: dict[str, Any], is_submission: bool) -> None:
    when = hop["time"] or (f"unparsed date: {hop['time_raw']}" if hop["time_raw"] else "no date")
    skew = ("  CLOCK SKEW", "bold red") if hop["clock_skew"] else ""
    mark = ("  <- AUTHENTICATED SUBMISSION", "bold green") if is_submission else ""
    console.print(_line((f"hop {hop['number']}", "bold"), f"  {when}", (f"  {_delay(hop['delay_seconds'])}", "cyan"),
                        skew, mark))
    sender = [f"helo={hop['helo'] or '?'}", f"rdns={hop['reverse_name'] or '?'}"]
    if hop["from_host"] and hop["from_host"] not in (hop["helo"], hop["reverse_name"]):
        sender.insert(0, hop["from_host"])
    sender.append(f"ip={hop['from_ip'] or '?'}" + (f":{hop['from_port']}" if hop["from_port"] else ""))
    if hop["local_sender"]:                    # injected on the host itself: "uid 1000", "majordomo@..."
        sender.append(f" local sender {hop['local_sender']}")
    console.print(_line("    from  ", " ".join(sender)))
    receiver = " ".join(str(x) for x in (hop["by_host"] or "?", f"({hop['by_software']})" if hop["by_software"] else "",
                                         f"ip={hop['by_ip']}" if hop["by_ip"] else "",
                                         f"via {hop['via']}" if hop["via"] else "") if x)
    console.print(_line("    by    ", receiver))
    info = hop["protocol_info"]
    meaning = f" = {info['meaning']} ({info['reference']})" if info else (" (unknown protocol)" if hop["protocol"] else "")
    console.print(_line("    with  ", (hop["protocol"] or "?", "bold"), meaning))
    console.print(_line("    tls   ", _tls_text(hop["tls"])))
    ids = [f"id {hop['queue_id']}" if hop["queue_id"] else "no queue id"]
    if hop["for"]:
        ids.append(f"for <{hop['for']}>")
    if hop["envelope_from"]:
        ids.append(f"envelope-from <{hop['envelope_from']}>")
    console.print(_line("    ", "  ".join(ids)))
    if hop["authenticated"]:
        who = f" as {hop['authenticated_sender']}" if hop["authenticated_sender"] else ""
        console.print(_line(("    auth  ", "green"), f"authenticated{who}: " + "; ".join(hop["auth_evidence"])))
    if not hop["from_host"] and not hop["by_host"] and hop["comments"]:
        console.print(_line("    note  ", "; ".join(hop["comments"])))     # qmail, majordomo: a comment only
    if hop["unrecognised"]:
        console.print(_line(("    raw?  ", "yellow"), "not understood: " + "  ".join(hop["unrecognised"])))


def _result_lines(title: str, results: list[dict[str, Any]]) -> list[Any]:
    out = []
    for result in results:
        props = " ".join(f"{k}={v}" for k, v in {**result["properties"], **result["extras"]}.items())
        comment = f" ({result['comment']})" if result["comment"] else ""
        reason = f" reason={result['reason']}" if result["reason"] else ""
        where = result["authserv_id"] or "?"
        arc = f" [ARC i={result['instance']}]" if result["instance"] is not None else ""
        out.append(_line(f"  {title:<6}", (result["result"], "bold"), comment, reason, f" {props}", f"  by {where}{arc}"))
    return out


def _render(report: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)   # long header values stay on one line (grep, copy)
    for name, value in report["summary"].items():
        console.print(_line((f"{name}: ", "bold"), value))
    hops = report["hops"]
    submission = report["submission"]
    console.print()
    console.print(_line(("Received chain, oldest first", "bold underline"), f" ({_count(len(hops), 'hop')})"))
    for note in report["notes"]:
        console.print(_line(("note: ", "yellow"), note))
    for hop in hops:
        _render_hop(console, hop, submission is not None and hop["number"] == submission["hop"])
    console.print()
    if submission:
        who = f", authenticated sender {submission['authenticated_sender']}" if submission["authenticated_sender"] else ""
        console.print(_line(("Authenticated submission: ", "bold green"),
                            f"hop {submission['hop']} from {submission['from_ip'] or '?'}"
                            f" ({submission['reverse_name'] or 'no rDNS'}, helo {submission['helo'] or '?'})"
                            f" to {submission['by_host'] or '?'} with {submission['protocol'] or '?'},"
                            f" queue id {submission['queue_id'] or '?'}{who}"))
        if submission["earlier_hops"]:
            console.print(_line(("  note: ", "yellow"), f"the {submission['earlier_hops']} older hop(s) below it were "
                                "written by the submitting side before any authenticated server saw the message"))
        others = [str(n) for n in report["authenticated_hops"] if n != submission["hop"]]
        if others:
            console.print(_line("  later authenticated hops (relays that logged in too): ", ", ".join(others)))
    elif report["authenticated_hops"]:
        # Every authenticated hop that is not a submission is an LMTP login (headers.chain): the
        # mail server logging in to its mailbox store (Cyrus "with LMTPA"), not the client.
        numbers = report["authenticated_hops"]
        logins = (f"login recorded is the mail server's LMTP login to the mailbox store (hop {numbers[0]})"
                  if len(numbers) == 1 else "logins recorded are the mail server's LMTP logins to the mailbox store"
                  f" (hops {', '.join(map(str, numbers))})")
        console.print(_line(("Authenticated submission: ", "bold"), f"none; the only {logins}"))
    else:
        console.print(_line(("Authenticated submission: ", "bold"), "none of the hops says the client authenticated"))
    log = report["log"]
    if log is not None:
        _render_log(console, log, len(hops))
    verdicts = _verdict_lines(report)
    if verdicts:
        console.print()
        console.print(_line(("Verdicts", "bold underline")))
        for line in verdicts:
            console.print(line)
    if report["malformed_lines"]:
        console.print()
        console.print(_line(("Lines that are not header fields", "bold underline")))
        for bad in report["malformed_lines"]:
            console.print(_line(("  line ", "yellow"), f"{bad['line']}: {bad['text']}"))


def _verdict_lines(report: dict[str, Any]) -> list[Any]:
    """The SPF, DKIM, DMARC, ARC and other Authentication-Results lines, in that order."""
    out: list[Any] = []
    for spf in report["spf"]["received_spf"]:
        pairs = " ".join(f"{k}={v}" for k, v in spf["pairs"].items())
        out.append(_line("  SPF   ", (spf["result"] or "?", "bold"), f" ({spf['comment']})" if spf["comment"] else "",
                         f" {pairs}  [Received-SPF]"))
    out += _result_lines("SPF", report["spf"]["results"])
    for signature in report["dkim"]["signatures"]:
        out.append(_line("  DKIM  signature ", " ".join(f"{k}={v}" for k, v in signature.items() if k != "h")))
    out += _result_lines("DKIM", report["dkim"]["results"])
    for note in report["dkim"]["filters"]:
        tied = f"  (queue id of hop {note['hop']})" if note["hop"] else ""
        out.append(_line("  DKIM  filter: ", note["raw"], tied))
    out += _result_lines("DMARC", report["dmarc"]["results"])
    for arc_set in report["arc"]["sets"]:
        seal = arc_set["seal"] or {}
        out.append(_line(f"  ARC   i={arc_set['instance']} ", f"cv={seal.get('cv', '?')} d={seal.get('d', '?')}"))
    out += _result_lines("ARC", report["arc"]["results"])
    others = [r for header in report["auth_results"] for r in header["results"]
              if r["method"] not in ("spf", "dkim", "dmarc", "arc")]
    for result in others:
        props = " ".join(f"{k}={v}" for k, v in result["properties"].items())
        out.append(_line(f"  {result['method']:<6}", (result["result"], "bold"), f" {props}"))
    return out


def _render_log(console: Any, log: dict[str, Any], hop_count: int) -> None:
    def check(value: bool | None) -> str:
        return "unknown" if value is None else ("yes" if value else "NO")

    for login in log["logins"]:
        console.print(_line(("Log: ", "bold"), f"hop {log['hop']}, queue id {log['queue_id']}: ",
                            (f"sasl_username={login['sasl_username']}", "bold green"),
                            f" sasl_method={login['sasl_method']} client={login['client']}"))
        checks = ["     checks: client IP = hop IP: ", check(login["client_ip_matches_hop"]),
                  "; Message-ID = header: ", check(login["message_id_matches_header"])]
        relayed = ", ".join(login["relayed_as"])
        if log["hop"] < hop_count:                    # a next hop exists: does its queue id match the log's?
            checks += ["; relayed as ", relayed or "(not in the log)",
                       " = next hop's queue id: ", check(login["next_hop_queue_id_matches"])]
        elif relayed:
            checks += ["; relayed as ", relayed]
        console.print(_line(*checks))
    if log["note"]:
        console.print(_line(("Log: ", "bold"), log["note"]))
