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
import ipaddress
import re
import textwrap
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saslscope.detect.findings import Severity

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
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=_help(text, duration=duration))
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


@dataclass
class Networks:
    """What one "network" is when logins are grouped (many_ips, new_network, guessed_password)."""

    ipv4_prefix: int = setting(24, "IPv4 prefix length of a network")
    ipv6_prefix: int = setting(48, "IPv6 prefix length of a network")
    loopback_is_local: bool = setting(True, "logins from 127.0.0.0/8 and ::1 are the server itself (webmail, "
                                            "scripts); false when a proxy or a test lab connects over loopback")

    def __post_init__(self) -> None:
        if not (8 <= self.ipv4_prefix <= 32 and 16 <= self.ipv6_prefix <= 128):
            raise ValueError("prefixes: ipv4_prefix 8..32, ipv6_prefix 16..128")


@dataclass
class Bruteforce:
    """One address failing many times on one account."""

    failures: int = setting(10, "failures from one address on one account within the window "
                                "(distinct passwords when the front sees a password hash)")
    window: float = setting(3600.0, "the window", duration=True)
    severity: str = setting("medium", "severity of the finding")


@dataclass
class PasswordSpray:
    """One address failing on many user names."""

    usernames: int = setting(10, "distinct user names failing from one address within the window")
    window: float = setting(3600.0, "the window", duration=True)
    severity: str = setting("high", "severity of the finding")


@dataclass
class DistributedBruteforce:
    """One account failing from many addresses."""

    addresses: int = setting(10, "distinct client addresses failing on one account within the window")
    window: float = setting(3600.0, "the window", duration=True)
    severity: str = setting("medium", "severity of the finding")


@dataclass
class GuessedPassword:
    """Failures, then a success, for one account from one address or network."""

    failures: int = setting(10, "failures (distinct passwords with a hash) before the success, same network; "
                                "as high as bruteforce's, so that a user who mistypes a few times, or a phone "
                                "with a stale password failing a few times an hour, is not a guess")
    window: float = setting(3600.0, "how far back the failures count", duration=True)
    severity: str = setting("critical", "severity of the finding")


@dataclass
class ManyIps:
    """One account logging in from many addresses, networks, countries or ASNs."""

    addresses: int = setting(10, "distinct client addresses within the window")
    networks: int = setting(5, "distinct networks (see [networks]) within the window")
    countries: int = setting(3, "distinct countries within the window (with GeoIP)")
    asns: int = setting(4, "distinct autonomous systems within the window (with GeoIP)")
    window: float = setting(3600.0, "the window", duration=True)
    severity: str = setting("medium", "severity at the threshold")
    high_factor: int = setting(3, "at this multiple of a threshold the finding is high")


@dataclass
class NewNetwork:
    """A login from a network (or country) the account never used, after its learning period."""

    learning: float = setting(14 * 86400.0, "the account's learning period: nothing is new before it ends",
                              duration=True)
    memory: float = setting(90 * 86400.0, "how long a network stays known after its last use", duration=True)
    severity: str = setting("low", "severity of new_network")
    country_severity: str = setting("medium", "severity of new_country (with GeoIP)")


@dataclass
class ImpossibleTravel:
    """Two logins of one account too far apart for the time between them (GeoIP locations)."""

    speed_kmh: float = setting(900.0, "fastest believable travel, km/h (an airliner)")
    min_distance_km: float = setting(500.0, "shorter jumps are ignored (GeoIP is imprecise)")
    severity: str = setting("high", "severity of the finding")


@dataclass
class AuthOnly:
    """Successful AUTH that sent nothing, repeated: credential checking."""

    sessions: int = setting(5, "AUTH-only sessions from one address (or account) within the window")
    window: float = setting(3600.0, "the window", duration=True)
    severity: str = setting("medium", "severity of the finding")


@dataclass
class Fingerprint:
    """An AUTH method spelling, HELO name or TLS cipher never seen for the account."""

    learning: float = setting(14 * 86400.0, "the account's learning period", duration=True)
    memory: float = setting(90 * 86400.0, "how long a fingerprint stays known", duration=True)
    severity: str = setting("low", "severity of the finding")


@dataclass
class VolumeSpike:
    """Messages or recipients per hour far above the account's own baseline and an absolute floor."""

    window: float = setting(3600.0, "the counting window", duration=True)
    baseline: float = setting(14 * 86400.0, "how far back the baseline reaches", duration=True)
    baseline_hours: int = setting(10, "active hours per baseline day (office hours)")
    factor: float = setting(10.0, "a spike is at least this multiple of the baseline rate")
    min_messages: int = setting(100, "and at least this many messages in the window")
    min_recipients: int = setting(300, "or at least this many recipients in the window")
    severity: str = setting("high", "severity of the finding")


@dataclass
class RateLimit:
    """Fixed quotas per account (the policy service's --user-messages/--user-recipients/--user-ips)."""

    messages: int = setting(200, "messages per window (0: no limit)")
    recipients: int = setting(1000, "recipients per window (0: no limit)")
    addresses: int = setting(0, "distinct client addresses per window (0: no limit)")
    window: float = setting(3600.0, "the window", duration=True)
    severity: str = setting("medium", "severity of the finding")


@dataclass
class BounceRatio:
    """A high share of bounced or deferred recipients."""

    ratio: float = setting(0.5, "share of recipients bounced or deferred")
    min_recipients: int = setting(30, "judged from this many recipients in the window")
    window: float = setting(86400.0, "the window", duration=True)
    severity: str = setting("medium", "severity of the finding")


@dataclass
class SenderMismatch:
    """An envelope sender whose domain is neither the login's nor allowed for it."""

    allowed: dict[str, list[str]] = setting({}, "sender domains allowed per login (user@domain) or login "
                                                "domain, e.g. {\"example.org\" = [\"example.net\"]}")
    shared_domains: list[str] = setting([], "sender domains any login may use")
    severity: str = setting("medium", "severity of the finding")


@dataclass
class LocalLogin:
    """A login from the server itself (webmail, a form, local malware): information."""

    window: float = setting(86400.0, "one finding per account per window", duration=True)
    severity: str = setting("info", "severity of the finding")


@dataclass
class Verdicts:
    """How findings add up to a per-account verdict (see docs/detect.md)."""

    suspicious: float = setting(3.0, "score at which an account is suspicious")
    compromised: float = setting(7.0, "score at which an account is compromised")


@dataclass
class History:
    """The history store (--db): what it keeps and for how long (log time, not the clock)."""

    events: float = setting(90 * 86400.0, "logins and failures kept with their log line", duration=True)
    baseline: float = setting(400 * 86400.0, "an account's networks, countries, methods, HELO names and hourly "
                              "volumes kept after their last use", duration=True)
    findings: float = setting(365 * 86400.0, "findings kept for the account dossier", duration=True)
    read_budget: float = setting(0.05, "longest one baseline query may take; past it the detectors judge "
                                 "from memory alone (seconds)", duration=True)
    enforce_for: float = setting(7 * 86400.0, "--postfix-sasl-access: findings this recent (before the newest "
                                 "log time in the store) decide who is held or rejected", duration=True)

    def retention(self) -> tuple[float, float, float]:
        return self.events, self.baseline, self.findings


@dataclass
class GeoIP:
    """GeoIP databases (MaxMind format: City or Country, and ASN); --geoip-db adds to them."""

    databases: list[str] = setting([], "paths of .mmdb files")


@dataclass
class DetectConfig:
    """Every section; each front reads the sections it can use."""

    allow: Allow = field(default_factory=Allow)
    networks: Networks = field(default_factory=Networks)
    bruteforce: Bruteforce = field(default_factory=Bruteforce)
    password_spray: PasswordSpray = field(default_factory=PasswordSpray)
    distributed_bruteforce: DistributedBruteforce = field(default_factory=DistributedBruteforce)
    guessed_password: GuessedPassword = field(default_factory=GuessedPassword)
    many_ips: ManyIps = field(default_factory=ManyIps)
    new_network: NewNetwork = field(default_factory=NewNetwork)
    impossible_travel: ImpossibleTravel = field(default_factory=ImpossibleTravel)
    auth_only_sessions: AuthOnly = field(default_factory=AuthOnly)
    fingerprint_change: Fingerprint = field(default_factory=Fingerprint)
    volume_spike: VolumeSpike = field(default_factory=VolumeSpike)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    bounce_ratio: BounceRatio = field(default_factory=BounceRatio)
    sender_mismatch: SenderMismatch = field(default_factory=SenderMismatch)
    local_login: LocalLogin = field(default_factory=LocalLogin)
    verdicts: Verdicts = field(default_factory=Verdicts)
    history: History = field(default_factory=History)
    geoip: GeoIP = field(default_factory=GeoIP)

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
            if name.endswith("severity"):
                Severity.parse(values[name])
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
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            raise TypeError(f"expected a table, got {type(value).__name__}")
        return {str(k): _convert(item, v, False) for k, v in value.items()}
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
        out.extend(textwrap.wrap(doc[0], 78, initial_indent="# ", subsequent_indent="# "))
    out.append(f"[{name}]")
    nested = []
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if dataclasses.is_dataclass(item):
            nested.append((f"{name}.{f.name}", item))
            continue
        out.extend(textwrap.wrap(f.metadata.get("help", ""), 78, initial_indent="# ", subsequent_indent="# "))
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
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml(k, False)} = {_toml(v, False)}" for k, v in value.items()) + "}"
    return repr(value)
