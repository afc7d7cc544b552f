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

    Empty means no quota. Every message past a quota is a ``rate_limit`` finding (reported once
    per episode); the policy service holds such messages by default (``[policy] kinds``).
    """

    user_messages: str = setting("200/1h", "messages an account may submit per window (\"\": no quota)")
    user_recipients: str = setting("1000/1h", "recipients an account may address per window (\"\": no quota)")
    user_ips: str = setting("", "distinct client addresses an account may send from per window, e.g. 5/1h")
    ip_messages: str = setting("", "unauthenticated messages per client address per window")
    ip_recipients: str = setting("", "unauthenticated recipients per client address per window")
    user_overrides: list[str] = setting(
        [], 'per-account quotas replacing the ones above, e.g. "news@example.org messages=2000/1h recipients=20000/1h"')
    severity: str = setting("medium", "severity of the finding")

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
    kinds: list[str] = setting(["rate_limit=hold"], 'per-kind actions replacing the severity\'s, e.g. ["rate_limit=defer", "new_network=prepend"]')
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
    bounce_ratio: BounceRatio = field(default_factory=BounceRatio)
    sender_mismatch: SenderMismatch = field(default_factory=SenderMismatch)
    local_login: LocalLogin = field(default_factory=LocalLogin)
    verdicts: Verdicts = field(default_factory=Verdicts)
    quota: Quotas = field(default_factory=Quotas)
    policy: Policy = field(default_factory=Policy)
    dovecot: DovecotAuthPolicy = field(default_factory=DovecotAuthPolicy)
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
        line = f"{f.name} = {_toml(item, f.metadata.get('duration', False))}"
        if len(line) > 80 and isinstance(item, list):   # an array may span lines in TOML
            line = f"{f.name} = [\n" + "".join(f"    {_toml(v, False)},\n" for v in item) + "]"
        out.append(line)
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
