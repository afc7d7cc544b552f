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


@dataclass
class Bruteforce:
    """One address failing many times on one account."""

    failures: int = setting(10, "failures from one address on one account within the window")
    window: float = setting(3600.0, "the window", duration=True)
    severity: str = setting("medium", "severity of the finding")


@dataclass
class History:
    """The history store (--db): what it keeps and for how long (log time, not the clock)."""

    events: float = setting(90 * 86400.0, "logins and failures kept with their log line", duration=True)
    baseline: float = setting(400 * 86400.0, "an account's networks, countries, methods, HELO names and hourly "
                              "volumes kept after their last use", duration=True)
    findings: float = setting(365 * 86400.0, "findings kept for the account dossier", duration=True)
    read_budget: float = setting(0.05, "longest one baseline query may take; past it the detectors judge "
                                 "from memory alone (seconds)", duration=True)

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
    bruteforce: Bruteforce = field(default_factory=Bruteforce)
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
