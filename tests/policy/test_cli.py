"""``saslscope policy serve`` as a command: usage errors, --print-config, metrics, the hook."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.policy.service_process import SASLSCOPE, policy_process
from tests.redis_server import free_port


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SASLSCOPE, "policy", "serve", *args], capture_output=True, text=True, timeout=30)


def test_usage_errors_are_one_line_and_exit_2() -> None:
    for args, words in ((["--user-messages", "fifty/1h"], "N/WINDOW"),
                        (["--redis", "redis://:hunter2@127.0.0.1:6379/0"], "--redis-password-env"),
                        (["--listen", "nowhere"], "HOST:PORT"),
                        (["--metrics", "unix:/tmp/x"], "HOST:PORT")):
        result = _serve(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert words in result.stderr
        assert "hunter2" not in result.stderr


def test_print_config_shows_the_quick_start_flags_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "detect.toml"
    config.write_text('[policy]\nkinds = ["new_network=prepend"]\n')
    result = _serve("--config", str(config), "--user-messages", "50/1h", "--action", "defer", "--dry-run", "--print-config")
    assert result.returncode == 0, result.stderr
    assert 'user_messages = "50/1h"' in result.stdout
    assert 'kinds = ["new_network=prepend", "rate_limit=defer"]' in result.stdout
    assert "dry_run = true" in result.stdout
    config.write_text("[policy]\nhold = 1\n")
    result = _serve("--config", str(config))
    assert result.returncode == 2 and "unknown key 'hold'" in result.stderr


def test_metrics_count_requests_and_actions_by_rule_and_never_name_a_user(tmp_path: Path) -> None:
    port = free_port()
    with policy_process("--user-messages", "1/1h", "--metrics", f"127.0.0.1:{port}", log=tmp_path / "svc.log") as service:
        client = service.client()
        for n in range(3):
            client.ask(protocol_state="RCPT", sasl_username="secret-user@example.test", client_address="192.0.2.7",
                       instance=f"m{n}")
        client.ask(protocol_state="END-OF-MESSAGE", sasl_username="secret-user@example.test", client_address="192.0.2.7",
                   instance="m2", recipient_count="1")
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        client.close()
    assert 'saslscope_policy_requests_total{state="RCPT"} 3.0' in body
    assert 'saslscope_policy_requests_total{state="END-OF-MESSAGE"} 1.0' in body
    assert 'saslscope_policy_answers_total{action="hold",rule="rate_limit/user_messages"} 2.0' in body
    assert 'saslscope_policy_answers_total{action="hold",rule="block:rate_limit/user_messages"} 1.0' in body
    assert 'saslscope_policy_decision_seconds_count 4.0' in body
    assert "secret-user" not in body and "192.0.2.7" not in body


def test_the_hook_runs_once_per_episode_with_the_finding_as_json(tmp_path: Path) -> None:
    out = tmp_path / "findings.jsonl"
    script = f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read())"
    command = shlex.join([sys.executable, "-c", script])
    with policy_process("--user-messages", "1/1h", "--exec", command, log=tmp_path / "svc.log") as service:
        client = service.client()
        answers = [client.ask(protocol_state="DATA", sasl_username="alice@example.test", client_address="192.0.2.7",
                              instance=f"m{n}", recipient_count="1") for n in range(4)]
        client.close()
        deadline = time.monotonic() + 10
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [a.split()[0] for a in answers] == ["DUNNO", "HOLD", "HOLD", "HOLD"]
    findings = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(findings) == 1
    assert findings[0]["kind"] == "rate_limit" and findings[0]["username"] == "alice@example.test"
    assert findings[0]["evidence"][0]["source"] == "postfix-policy"
    assert "sasl_username=alice@example.test" in findings[0]["evidence"][0]["text"]
