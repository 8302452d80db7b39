"""engage's ten built-in playbook rules, registered through ``engage_register_rules``.

The rules live in :mod:`engage.builtin.rules_contact` (welcome, check_in, unanswered,
pick_up_phone), :mod:`engage.builtin.rules_reconnect` and :mod:`engage.builtin.rules_account` (first_feedback,
periodic_feedback, handover, status_update, appreciation); when each fires is spelled out
in :mod:`engage.builtin.rules_when`. Rule names are part of every task key: never rename one.
"""

from __future__ import annotations

from typing import Final

from engage.builtin.rules_account import (
    Appreciation,
    FirstFeedback,
    Handover,
    PeriodicFeedback,
    StatusUpdate,
)
from engage.builtin.rules_contact import CheckIn, PickUpPhone, Unanswered, Welcome
from engage.builtin.rules_reconnect import Reconnect
from engage.hookspecs import RegisterRule, hookimpl
from engage.playbook import Rule

__all__ = [
    "BUILTIN_RULES",
    "Appreciation",
    "CheckIn",
    "FirstFeedback",
    "Handover",
    "PeriodicFeedback",
    "PickUpPhone",
    "Reconnect",
    "StatusUpdate",
    "Unanswered",
    "Welcome",
    "engage_register_rules",
]

BUILTIN_RULES: Final[tuple[Rule, ...]] = (
    Welcome(),
    FirstFeedback(),
    PeriodicFeedback(),
    CheckIn(),
    Unanswered(),
    Reconnect(),
    PickUpPhone(),
    Handover(),
    StatusUpdate(),
    Appreciation(),
)


@hookimpl
def engage_register_rules(register: RegisterRule) -> None:
    """Register engage's ten built-in playbook rules."""
    for rule in BUILTIN_RULES:
        register(rule)
