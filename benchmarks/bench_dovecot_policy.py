"""Dovecot auth-policy endpoint under keep-alive load: requests/s and latency percentiles.

    .venv/bin/python benchmarks/bench_dovecot_policy.py [--seconds 10] [--connections 50]

Starts ``saslscope policy serve --dovecot-auth-policy`` (memory backend) and drives it with
``wrk`` (C, Debian's package) and a Lua script that posts Dovecot's own bodies: for each attempt
an ``allow`` and then a ``report``, failed ones from 5,000 addresses over 2,000 accounts with
distinct password hashes, as a spray would, so the detectors and windows do real work. The
anchor, measured in the same run, is wrk against a trivial aiohttp handler that returns the same
JSON without deciding anything: the ratio says what the policy logic costs on top of HTTP, and
the anchor's figure is the ceiling of this client and server stack on this machine.
Targets (issue 16): >= 5,000 requests/s, p99 < 10 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))

LUA = textwrap.dedent("""
    local n = 0
    request = function()
      n = n + 1
      local attempt = math.floor(n / 2)
      local ip = string.format("10.%d.%d.%d", attempt % 50, math.floor(attempt / 50) % 100, attempt % 250 + 1)
      local login = string.format("user%d@example.test", attempt % 2000)
      local body = string.format('{"device_id":"","login":"%s","protocol":"smtp","pwhash":"%03x","remote":"%s","session_id":"","tls":"","tls":false', login, attempt % 4096, ip)
      if n % 2 == 0 then
        return wrk.format("POST", "/?command=allow", {["Content-Type"] = "application/json"}, body .. "}")
      end
      return wrk.format("POST", "/?command=report", {["Content-Type"] = "application/json"}, body .. ',"success":false,"policy_reject":false}')
    end
""")

TRIVIAL = textwrap.dedent("""
    import sys
    from aiohttp import web
    async def handle(request):
        await request.read()
        return web.json_response({"status": 0, "msg": ""})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=lambda *a: None)
""")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int) -> None:
    import socket

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def _wrk(port: int, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    latencies = {p: _ms(re.search(rf"^\s+{p}%\s+([\d.]+\w+)", out, re.M)[1]) for p in ("50", "99")}  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": latencies["50"], "p99": latencies["99"], "non2xx": float(errors[1]) if errors else 0.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _run(argv: list[str], port: int, script: Path, seconds: int, connections: int) -> dict[str, float]:
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port)
        _wrk(port, script, 2, connections)  # warm-up
        return _wrk(port, script, seconds, connections)
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (scripts/bootstrap installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "dovecot.lua")
        script.write_text(LUA)
        trivial = Path(tmp, "trivial.py")
        trivial.write_text(TRIVIAL)
        port = _free_port()
        anchor = _run([sys.executable, str(trivial), str(port)], port, script, args.seconds, args.connections)
        port = _free_port()
        ours = _run([SASLSCOPE, "policy", "serve", "--dovecot-auth-policy", f"127.0.0.1:{port}"],
                    port, script, args.seconds, args.connections)
    print(f"{'server':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, result in (("trivial aiohttp handler (anchor)", anchor), ("policy serve --dovecot-auth-policy", ours)):
        print(f"{name:<36} {result['rps']:9.0f} {result['p50']:8.2f} {result['p99']:8.2f} {result['non2xx']:8.0f}")
    print(f"ratio to the anchor: {ours['rps'] / anchor['rps']:.2f}  (cores: {os.cpu_count()}, "
          f"{args.connections} keep-alive connections, {args.seconds} s)")


if __name__ == "__main__":
    main()
