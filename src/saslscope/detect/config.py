"""One configuration for every front: thresholds, windows, allow-lists, actions.

The file is TOML (``--config FILE``); every key has a default, so an empty file (or none) is a
working configuration, and ``--print-config`` prints the defaults with their comments. Each
section is a dataclass whose fields carry their own help text (``metadata["help"]``): the
loader, the printer and the docs read the same definitions. Unknown keys are errors, so a typo
never silently leaves a default in force.

Durations are written as ``"90s"``, ``"15m"``, ``"2h"``, ``"30d"`` (or a number of seconds).
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any



_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(ValueError):
    """The configuration file is unreadable or says something invalid; the message says where."""


def parse_duration(value: str | int | float) -> float:
    """``"15m"`` -> 900.0; a bare number is seconds."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION_RE.fullmatch(value)
        if not match:
            raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 15m, 2h, 30d)")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds <= 0:
        raise ValueError(f"a duration must be positive: {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def _help(text: str, *, duration: bool = False) -> dict[str, Any]:
    return {"help": text, "duration": duration}


def setting(default: Any, text: str, *, duration: bool = False) -> Any:
    """A config field with its help text; lists get a fresh copy of the default."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=_help(text, duration=duration))
    return field(default=default, metadata=_help(text, duration=duration))


@dataclass
class Allow:
    """Who is never reported as an attacker (own networks, monitoring, known relays)."""

    networks: list[str] = setting([], "client networks never judged (CIDR), e.g. office ranges and monitoring hosts")
    users: list[str] = setting([], "accounts never judged (exact names)")
    relays: list[str] = setting([], "known relays whose logins are expected from many addresses (CIDR)")

    def __post_init__(self) -> None:
        for net in (*self.networks, *self.relays):
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"not a network: {net!r}") from None

    def covers(self, username: str | None, ip: str) -> bool:
        """True for an allow-listed account, or a client address in an allow-listed network."""
        if username is not None and username in self.users:
            return True
        if not self.networks:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    @functools.cached_property
    def _networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(net, strict=False) for net in self.networks)


@dataclass
class Bruteforce:
    """One address failing many times on one account."""

    failures: int = setting(10, "failures from one address on one account within the window")
    window: float = setting(3600.0, "the window", duration=True)
    severity: str = setting("medium", "severity of the finding")


@dataclass(frozen=True, slots=True)
class Quota:
    """``limit`` per sliding ``seconds``: ``"50/1h"``."""

    limit: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.limit}/{format_duration(self.seconds)}"


def parse_quota(text: str) -> Quota | None:
    """``"50/1h"`` -> Quota(50, 3600.0); ``""`` -> None (no limit); a ValueError says what to write."""
    if not text.strip():
        return None
    count, slash, window = text.partition("/")
    if not slash or not count.strip().isdigit() or int(count) < 1:
        raise ValueError(f"not a quota: {text!r} (write N/WINDOW, e.g. 50/1h)")
    return Quota(int(count), parse_duration(window))


@dataclass
class Quotas:
    """Fixed quotas per account and per unauthenticated client address (N/WINDOW, sliding).

    Empty means no quota. Every message past a quota is a ``rate_limit`` finding.
    """

    user_messages: str = setting("", "messages an account may submit per window, e.g. 50/1h")
    user_recipients: str = setting("", "recipients an account may address per window, e.g. 500/1h")
    user_ips: str = setting("", "distinct client addresses an account may send from per window, e.g. 5/1h")
    ip_messages: str = setting("", "unauthenticated messages per client address per window")
    ip_recipients: str = setting("", "unauthenticated recipients per client address per window")
    user_overrides: list[str] = setting(
        [], 'per-account quotas replacing the ones above, e.g. "news@example.org messages=2000/1h recipients=20000/1h"')
    severity: str = setting("high", "severity of the finding")

    def __post_init__(self) -> None:
        for name in ("user_messages", "user_recipients", "user_ips", "ip_messages", "ip_recipients"):
            parse_quota(getattr(self, name))
        for line in self.user_overrides:
            parse_user_override(line)


#: quota names an override line may set
OVERRIDE_QUOTAS = ("messages", "recipients", "ips")


def parse_user_override(line: str) -> tuple[str, dict[str, Quota | None]]:
    """``"news@example.org messages=2000/1h"`` -> ("news@example.org", {"messages": Quota(...)})."""
    user, *items = line.split()
    quotas: dict[str, Quota | None] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or name not in OVERRIDE_QUOTAS:
            raise ValueError(f"in override {line!r}: write NAME=N/WINDOW with NAME one of {', '.join(OVERRIDE_QUOTAS)}")
        quotas[name] = parse_quota(value)
    if not quotas:
        raise ValueError(f"override {line!r} sets no quota")
    return user, quotas


#: the answers of the policy service, weakest first
POLICY_ACTIONS = ("dunno", "prepend", "hold", "defer", "reject")


def _check_action(value: str, where: str) -> None:
    if value not in POLICY_ACTIONS:
        raise ValueError(f"{where}: unknown action {value!r} (use one of {', '.join(POLICY_ACTIONS)})")


@dataclass
class Policy:
    """``policy serve``: what Postfix is told when a finding is made, and for how long."""

    info: str = setting("dunno", "action for a finding of severity info: dunno, prepend, hold, defer or reject")
    low: str = setting("dunno", "action for severity low")
    medium: str = setting("prepend", "action for severity medium")
    high: str = setting("hold", "action for severity high (HOLD: the message waits in the hold queue)")
    critical: str = setting("hold", "action for severity critical")
    kinds: list[str] = setting([], 'per-kind actions replacing the severity\'s, e.g. ["rate_limit=defer", "new_network=prepend"]')
    users: list[str] = setting([], 'per-account actions replacing both, e.g. ["ceo@example.org=defer", "news@example.org=dunno"]')
    block: float = setting(3600.0, "how long an account (or an unauthenticated client address) stays under a finding's action", duration=True)
    prepend_header: str = setting("X-Saslscope-Policy", "header name of the prepend action (the value names the rule)")
    hold_text: str = setting("suspected compromised account, held for review", "text of the hold action (Postfix logs it)")
    defer_text: str = setting("4.7.1 sending limit reached, try again later", "text of the defer action: keep a 4.7.x code")
    reject_text: str = setting("5.7.1 message refused by sending policy", "text of the reject action: keep a 5.7.x code")
    on_backend_error: str = setting("dunno", "answer when the state backend fails or is slower than backend_timeout: dunno or defer")
    backend_timeout: float = setting(0.1, "bound on each state backend call", duration=True)
    idle_timeout: float = setting(330.0, "close a policy connection idle this long (Postfix closes its own after 300s)", duration=True)
    max_connections: int = setting(4096, "connections served at once; more are closed at once")
    dry_run: bool = setting(False, "learning mode: log what would be done, always answer dunno, set no block, run no hook")

    def __post_init__(self) -> None:
        for level in ("info", "low", "medium", "high", "critical"):
            _check_action(getattr(self, level), level)
        if self.on_backend_error not in ("dunno", "defer"):
            raise ValueError(f"on_backend_error: use dunno or defer, not {self.on_backend_error!r}")
        for where, entries in (("kinds", self.kinds), ("users", self.users)):
            for entry in entries:
                name, eq, action = entry.rpartition("=")
                if not eq or not name:
                    raise ValueError(f"{where}: write NAME=ACTION, not {entry!r}")
                _check_action(action, f"{where} {entry!r}")
        for text in (self.prepend_header, self.hold_text, self.defer_text, self.reject_text):
            if not text.isprintable() or not text.isascii():
                raise ValueError(f"action texts must be printable ASCII: {text!r}")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")


@dataclass
class DovecotAuthPolicy:
    """Dovecot's auth-policy endpoint (policy serve --dovecot-auth-policy): tarpit, refuse, and
    what the check after a correct password may do."""

    window: float = setting(3600.0, "how far back wrong passwords count", duration=True)
    tarpit_after: int = setting(3, "distinct wrong passwords from one address before its attempts are delayed")
    tarpit_base: int = setting(1, "first delay in seconds; it doubles with each further distinct wrong password")
    tarpit_max: int = setting(15, "longest delay in seconds (Dovecot's own auth penalty stops at 15)")
    block_on: list[str] = setting(
        ["bruteforce", "password_spray", "distributed_bruteforce", "guessed_password"],
        "finding kinds that make the service refuse, for [policy] block: the address (bruteforce, "
        "password_spray) or the account's logins from outside its own networks (distributed_bruteforce, "
        "guessed_password)",
    )
    block_severity: str = setting("medium", "the least severity of such a finding that refuses")
    refuse_guessed_after: int = setting(
        3, "after a correct password: refuse it when the address is outside the account's networks and "
           "first tried this many distinct wrong passwords on it (0: never refuse a correct password)")
    baseline_ttl: float = setting(90 * 86400.0, "how long a network stays one of the account's own after "
                                                "its last successful login", duration=True)


@dataclass
class DetectConfig:
    """Every section; each front reads the sections it can use."""

    allow: Allow = field(default_factory=Allow)
    bruteforce: Bruteforce = field(default_factory=Bruteforce)
    quota: Quotas = field(default_factory=Quotas)
    policy: Policy = field(default_factory=Policy)
    dovecot: DovecotAuthPolicy = field(default_factory=DovecotAuthPolicy)

    @classmethod
    def load(cls, path: str | Path | None) -> DetectConfig:
        """The defaults, overridden by the TOML file at ``path`` (None: the defaults alone)."""
        if path is None:
            return cls()
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_table(table, str(path))

    @classmethod
    def from_table(cls, table: dict[str, Any], where: str = "config") -> DetectConfig:
        config: DetectConfig = _build(cls, table, where)
        return config




def _build(kind: type[Any], table: dict[str, Any], where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__}")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    hints = typing.get_type_hints(kind)
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(fields))})")
    values: dict[str, Any] = {}
    for name, value in table.items():
        hint = hints[name]
        here = f"{where}.{name}"
        if dataclasses.is_dataclass(hint):
            values[name] = _build(typing.cast(type[Any], hint), value, here)
            continue
        try:
            values[name] = _convert(hint, value, fields[name].metadata.get("duration", False))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{here}: {exc}") from None
    try:
        return kind(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _convert(hint: Any, value: Any, duration: bool) -> Any:
    if duration:
        return parse_duration(value)
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return [_convert(item, v, False) for v in value]
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value, False)
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and type(value) is hint:
        return value
    if hint is str and isinstance(value, str):
        return value
    raise TypeError(f"expected {getattr(hint, '__name__', hint)}, got {type(value).__name__} {value!r}")


def render_defaults(config: DetectConfig | None = None) -> str:
    """The configuration as commented TOML: what ``--print-config`` prints."""
    config = config or DetectConfig()
    out = ["# saslscope detection configuration (TOML). Every key shows its default.", ""]
    for section in dataclasses.fields(config):
        value = getattr(config, section.name)
        _render_section(section.name, value, out)
    return "\n".join(out).rstrip() + "\n"


def _render_section(name: str, value: Any, out: list[str]) -> None:
    doc = (type(value).__doc__ or "").strip().splitlines()
    if doc:
        out.append(f"# {doc[0]}")
    out.append(f"[{name}]")
    nested = []
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if dataclasses.is_dataclass(item):
            nested.append((f"{name}.{f.name}", item))
            continue
        out.append(f"# {f.metadata.get('help', '')}")
        out.append(f"{f.name} = {_toml(item, f.metadata.get('duration', False))}")
    out.append("")
    for sub_name, sub in nested:
        _render_section(sub_name, sub, out)


def _toml(value: Any, duration: bool) -> str:
    if duration:
        return f'"{format_duration(value)}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v, False) for v in value) + "]"
    return repr(value)
