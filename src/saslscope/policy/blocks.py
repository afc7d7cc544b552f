"""Blocks: after a finding earns an action, its subject (the account, or the client address of
unauthenticated mail) gets that action for ``[policy] block`` seconds.

A block is a state operation like any other (a sliding window whose kept evidence says
``ACTION RULE COUNTERS``), so it lives in the same backend as the counters and every front
sharing that backend sees it: the Dovecot auth-policy endpoint (issue 16) can set one after a
``guessed_password`` finding and the Postfix side then holds that account's mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from saslscope.detect.findings import Evidence
from saslscope.detect.state import Once, Window, WindowCount
from saslscope.policy.actions import Action


@dataclass(frozen=True, slots=True)
class Block:
    action: Action
    rule: str      # the rule that set it
    why: str       # its counters then


class Blocks:
    def __init__(self, seconds: float, source: str) -> None:
        self.seconds = seconds
        self.source = source

    def read(self, subject: str) -> Window:
        return Window(f"blk\0{subject}", self.seconds, weight=0)

    def set(self, subject: str, block: Block, time: datetime) -> Window:
        text = f"{block.action} {block.rule} {block.why}"
        return Window(f"blk\0{subject}", self.seconds, weight=1, keep=Evidence(self.source, None, text, time))

    def episode(self, rule: str, subject: str) -> Once:
        """True once per rule and subject while blocks last: one report (log, hook) per episode."""
        return Once(f"ep\0{rule}\0{subject}", self.seconds)

    @staticmethod
    def live(answer: WindowCount) -> list[Block]:
        """Every live block in a :meth:`read`'s answer, oldest first."""
        if answer.total <= 0:
            return []
        blocks = []
        for entry in answer.kept:
            action_name, _, rest = entry.text.partition(" ")
            try:
                action = Action.parse(action_name)
            except KeyError:
                continue
            rule, _, why = rest.partition(" ")
            blocks.append(Block(action, rule, why))
        return blocks

    @classmethod
    def strongest(cls, answer: WindowCount) -> Block | None:
        """The strongest live block in a :meth:`read`'s answer (the newest of equals)."""
        best: Block | None = None
        for block in cls.live(answer):
            if best is None or block.action >= best.action:
                best = block
        return best
