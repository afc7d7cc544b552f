"""Where the policy service's state lives: this process's memory, or Redis for a fleet.

Both answer the detection engine's state operations (:mod:`saslscope.detect.state`) for one
decision at a time. :class:`MemoryBackend` is :class:`~saslscope.detect.state.MemoryState`
itself. :class:`RedisBackend` runs every operation of a decision in **one Lua script**
(:data:`LUA`), which Redis executes atomically: two services deciding at the same moment see
each other's counts, so no two of them both allow the 51st message. Keys expire with their
windows, so Redis holds only live state.

Keys are ``PREFIX`` + an operation letter + the detector's key (which may contain an
attacker's user name: Redis keys are binary-safe, nothing is parsed out of them). The script
takes its keys in ARGV, so it needs a single Redis server (or a replica set), not Redis Cluster.
The clock is the calling service's (``now``): run the fleet with synchronised clocks (NTP).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from saslscope.detect.findings import Evidence
from saslscope.detect.state import (
    KEEP_EVIDENCE,
    Answer,
    MemoryState,
    Once,
    Op,
    Seen,
    SeenAnswer,
    State,
    Window,
    WindowCount,
)


class BackendError(RuntimeError):
    """The backend could not answer (unreachable, refused, malformed answer)."""


class StateBackend(Protocol):
    name: str

    async def apply(self, ops: Sequence[Op], now: float) -> list[Answer]:
        """Answer ``ops`` atomically at time ``now`` (Unix seconds)."""
        ...

    async def close(self) -> None: ...


class MemoryBackend:
    """State in this process: nothing to install, shared by all of this service's connections.

    :meth:`apply_now` answers synchronously (the server calls it directly, without a task).
    """

    name = "memory"

    def __init__(self, state: State | None = None) -> None:
        self.state: State = state if state is not None else MemoryState()
        self.apply_now = self.state.apply

    async def apply(self, ops: Sequence[Op], now: float) -> list[Answer]:
        return self.state.apply(ops, now)

    async def close(self) -> None:
        return None


# Evidence travels through Redis as one string: source, line, time, text separated by US
# (0x1f). The text is last, so a US inside it (attacker text may hold any byte but NUL and
# newline) stays in the text.
_US = "\x1f"


def encode_evidence(evidence: Evidence) -> str:
    line = "" if evidence.line is None else str(evidence.line)
    time = evidence.time.isoformat() if evidence.time is not None else ""
    return f"{evidence.source}{_US}{line}{_US}{time}{_US}{evidence.text}"


def decode_evidence(data: str) -> Evidence:
    source, line, time, text = data.split(_US, 3)
    return Evidence(source, int(line) if line else None, text, datetime.fromisoformat(time) if time else None)


#: A batch of decisions, each one's operations in order. ARGV: prefix, number of decisions,
#: then per decision its time, its number of operations and per operation
#:   W key seconds member weight has_keep keep kept_at -> {total, distinct, kept_total, entries, first|'', kept...}
#:   S key member ttl record                     -> {known, members, first}
#:   O key seconds                               -> {1|0}
#:   X key value ttl                             -> {previous|false}
#: Reply: one list of answers per decision. Semantics are MemoryState's, line for line
#: (tests/policy/test_backend.py runs one suite on both); kept evidence is left out below a
#: Window's ``kept_at``.
LUA = f"""
local prefix = ARGV[1]
local keep_max = {KEEP_EVIDENCE}
local now, now_text
local i = 3
local function ms(seconds) return math.ceil(seconds * 1000) end

local function window(key, seconds, member, weight, has_keep, keep, kept_at)
  local base = prefix .. 'w:' .. key
  local ek, hk, kk = base .. ':e', base .. ':h', base .. ':k'
  local horizon = now - seconds
  while true do
    local head = redis.call('LINDEX', ek, 0)
    if not head then break end
    local t, w, k, m = string.match(head, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
    if tonumber(t) > horizon then break end
    redis.call('LPOP', ek)
    redis.call('HINCRBY', hk, 't', -tonumber(w))
    if m ~= '' then
      if redis.call('HINCRBY', hk, 'm:' .. m, -1) <= 0 then
        redis.call('HDEL', hk, 'm:' .. m)
        redis.call('HINCRBY', hk, 'd', -1)
      end
    end
    if k == '1' then redis.call('HINCRBY', hk, 'kt', -1) end
  end
  while true do
    local head = redis.call('LINDEX', kk, 0)
    if not head then break end
    local t = string.match(head, '^([^|]*)|')
    if tonumber(t) > horizon then break end
    redis.call('LPOP', kk)
  end
  local adds = weight ~= 0 or member ~= '' or has_keep == '1'
  if adds then
    redis.call('RPUSH', ek, now_text .. '|' .. weight .. '|' .. has_keep .. '|' .. member)
    redis.call('HINCRBY', hk, 't', weight)
    if member ~= '' and redis.call('HINCRBY', hk, 'm:' .. member, 1) == 1 then
      redis.call('HINCRBY', hk, 'd', 1)
    end
    if has_keep == '1' then
      redis.call('RPUSH', kk, now_text .. '|' .. keep)
      redis.call('LTRIM', kk, -keep_max, -1)
      redis.call('HINCRBY', hk, 'kt', 1)
    end
  end
  if adds then
    -- a read need not extend the keys' life: every entry expires with its window anyway
    local life = ms(seconds)
    redis.call('PEXPIRE', ek, life)
    redis.call('PEXPIRE', hk, life)
    redis.call('PEXPIRE', kk, life)
  end
  local h = redis.call('HMGET', hk, 't', 'd', 'kt')
  local total, distinct = tonumber(h[1] or 0), tonumber(h[2] or 0)
  local head = redis.call('LINDEX', ek, 0)
  local reply = {{total, distinct, tonumber(h[3] or 0), redis.call('LLEN', ek),
                 head and string.match(head, '^([^|]*)|') or ''}}
  if kept_at == 0 or total >= kept_at or distinct >= kept_at then
    for _, entry in ipairs(redis.call('LRANGE', kk, 0, -1)) do
      reply[#reply + 1] = string.sub(entry, string.find(entry, '|', 1, true) + 1)
    end
  end
  return reply
end

local function seen(key, member, ttl, record)
  local zk, fk = prefix .. 's:' .. key, prefix .. 's:' .. key .. ':first'
  local last = redis.call('ZSCORE', zk, member)
  local known = 0
  if last and tonumber(last) > now - ttl then known = 1 end
  if record == '0' then
    -- only asked: a decision that must not teach the baseline
    return {{known, redis.call('ZCOUNT', zk, '(' .. (now - ttl), '+inf'), redis.call('GET', fk)}}
  end
  redis.call('ZADD', zk, now_text, member)
  redis.call('ZREMRANGEBYSCORE', zk, '-inf', now - ttl)
  redis.call('SET', fk, now_text, 'NX')
  redis.call('PEXPIRE', zk, ms(ttl))
  redis.call('PEXPIRE', fk, ms(ttl))
  return {{known, redis.call('ZCARD', zk), redis.call('GET', fk)}}
end

local batch = {{}}
for d = 1, tonumber(ARGV[2]) do
  now_text = ARGV[i]
  now = tonumber(now_text)
  local count = tonumber(ARGV[i + 1])
  i = i + 2
  local out = {{}}
  for _ = 1, count do
    local op = ARGV[i]
    if op == 'W' then
      out[#out + 1] = window(ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5], ARGV[i + 6], tonumber(ARGV[i + 7]))
      i = i + 8
    elseif op == 'S' then
      out[#out + 1] = seen(ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4])
      i = i + 5
    elseif op == 'O' then
      local set = redis.call('SET', prefix .. 'o:' .. ARGV[i + 1], '1', 'PX', ms(tonumber(ARGV[i + 2])), 'NX')
      out[#out + 1] = {{set and 1 or 0}}
      i = i + 3
    elseif op == 'X' then
      local k = prefix .. 'x:' .. ARGV[i + 1]
      local previous = redis.call('GET', k)
      redis.call('SET', k, ARGV[i + 2], 'PX', ms(tonumber(ARGV[i + 3])))
      out[#out + 1] = {{previous}}
      i = i + 4
    else
      return redis.error_reply('unknown operation ' .. tostring(op))
    end
  end
  batch[d] = out
end
return batch
"""


def encode_batch(decisions: Sequence[tuple[Sequence[Op], float]], prefix: str) -> list[str | float | int]:
    """The script's ARGV for a batch of (operations, time) (see :data:`LUA`)."""
    argv: list[str | float | int] = [prefix, len(decisions)]
    for ops, now in decisions:
        argv += [repr(now), len(ops)]
        _encode_ops(ops, argv)
    return argv


def _encode_ops(ops: Sequence[Op], argv: list[str | float | int]) -> None:
    for op in ops:
        if isinstance(op, Window):
            keep = op.keep
            argv += ["W", op.key, repr(op.seconds), op.member, op.weight,
                     "0" if keep is None else "1", "" if keep is None else encode_evidence(keep), op.kept_at]
        elif isinstance(op, Seen):
            argv += ["S", op.key, op.member, repr(op.ttl), "1" if op.record else "0"]
        elif isinstance(op, Once):
            argv += ["O", op.key, repr(op.seconds)]
        else:
            argv += ["X", op.key, op.value, repr(op.ttl)]


def decode_answers(ops: Sequence[Op], reply: Any) -> list[Answer]:
    """The script's reply as the answers MemoryState would give."""
    if not isinstance(reply, list) or len(reply) != len(ops):
        raise BackendError(f"unexpected script reply for {len(ops)} operations")
    answers: list[Answer] = []
    for op, item in zip(ops, reply, strict=True):
        if isinstance(op, Window):
            total, distinct, kept_total, entries, first, *kept = item
            oldest = _text(first)
            answers.append(WindowCount(int(total), int(distinct), tuple(decode_evidence(_text(k)) for k in kept),
                                       int(kept_total), int(entries), float(oldest) if oldest else None))
        elif isinstance(op, Seen):
            known, members, first = item
            answers.append(SeenAnswer(bool(int(known)), int(members), float(_text(first)) if first is not None else None))
        elif isinstance(op, Once):
            answers.append(bool(int(item[0])))
        else:
            previous = item[0] if item else None
            answers.append(None if previous is None else _text(previous))
    return answers


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class RedisBackend:
    """State in Redis (``--redis URL``), shared by every service pointed at it.

    Decisions that arrive while a script call is in flight wait and go together in the next
    call (at most :data:`BATCH` of them): one round trip and one client-side command for many
    decisions when busy, none of the waiting when not. Each decision stays atomic (the whole
    batch is). The client fails fast instead of retrying: the service bounds every call anyway
    (``backend_timeout``) and answers its fallback; redis-py reconnects on the next call once
    the server is back, so the service recovers by itself.
    """

    name = "redis"

    def __init__(self, url: str, *, password: str | None = None, timeout: float = 0.1,
                 prefix: str = "saslscope:") -> None:
        import redis.asyncio as redis_asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.prefix = prefix
        self.client = redis_asyncio.Redis.from_url(
            url, password=password, socket_timeout=timeout, socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0), max_connections=64,
        )
        self.script = self.client.register_script(LUA)
        self._errors = (redis_asyncio.RedisError, OSError)
        self._waiting: list[tuple[Sequence[Op], float, asyncio.Future[list[Answer]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def apply(self, ops: Sequence[Op], now: float) -> list[Answer]:
        if not ops:
            return []
        future: asyncio.Future[list[Answer]] = asyncio.get_running_loop().create_future()
        self._waiting.append((ops, now, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            batch = [entry for entry in batch if not entry[2].done()]  # the caller gave up (timeout)
            if not batch:
                continue
            try:
                reply = await self.script(args=encode_batch([(ops, now) for ops, now, _ in batch], self.prefix))
                if not isinstance(reply, list) or len(reply) != len(batch):
                    raise BackendError("unexpected script reply")
                results: list[list[Answer] | BaseException] = []
                for (ops, _, _), answers in zip(batch, reply, strict=True):
                    try:
                        results.append(decode_answers(ops, answers))
                    except (BackendError, ValueError, TypeError) as exc:
                        results.append(BackendError(f"redis: malformed answer: {exc}"))
            except self._errors as exc:
                results = [BackendError(f"redis: {exc}")] * len(batch)
            except BackendError as exc:
                results = [exc] * len(batch)
            for (_, _, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        await self.client.aclose()


#: decisions sent in one script call at most (bounds one call's argument list and run time)
BATCH = 64
