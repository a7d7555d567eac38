"""The skills offered to a language model as tools (OpenAI-compatible ``tools``), so a capable model
can turn "set a timer for the time it takes to boil an egg" into a timer.

A tool call is carried out by the skill itself: ``tool_words`` turns it into the words the skill
understands ("set a timer for 540 seconds"), and the skill answers them exactly as if the wearer
had said them. Its arguments are a model's output, so they are checked like any outside input: a
call that is not one of these tools, or whose arguments are not what its schema asks for, gives
None, never an exception.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from sottovoce.host.llm import Tool, ToolCall

MAX_TASK_WORDS = 12
MAX_NUMBER = 1e9  # beyond this no skill has anything to say, and the words would not be read back
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def _number(args: dict[str, Any], name: str, default: float | None = None) -> float | None:
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if abs(value) <= MAX_NUMBER else None


def _said(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _words(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    if not isinstance(value, str):
        return None
    words = re.sub(r"[^a-z0-9' ]+", " ", value.lower()).split()
    return " ".join(words[:MAX_TASK_WORDS]) or None


def _clock(args: dict[str, Any]) -> str | None:
    """ "07:30" (24-hour, as the schema asks) as words the skills read without doubt: "7 30 am"."""
    value = args.get("time")
    m = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        return None
    hour = int(m[1])
    return f"{hour % 12 or 12} {m[2]} {'am' if hour < 12 else 'pm'}"


def _seconds(args: dict[str, Any]) -> float | None:
    minutes, seconds = _number(args, "minutes", 0), _number(args, "seconds", 0)
    if minutes is None or seconds is None:
        return None
    return minutes * 60 + seconds


def _timer(args: dict[str, Any]) -> str | None:
    total = _seconds(args)
    return f"set a timer for {_said(total)} seconds" if total is not None else None


def _reminder(args: dict[str, Any]) -> str | None:
    task = _words(args, "task")
    if task is None:
        return None
    if "time" in args:
        at = _clock(args)
        return f"remind me at {at} to {task}" if at is not None else None
    total = _seconds(args)
    return f"remind me in {_said(total)} seconds to {task}" if total is not None else None


def _alarm(args: dict[str, Any]) -> str | None:
    at = _clock(args)
    return f"set an alarm for {at}" if at is not None else None


def _convert(args: dict[str, Any]) -> str | None:
    amount, source, target = _number(args, "amount"), _words(args, "from_unit"), _words(args, "to_unit")
    if amount is None or source is None or target is None:
        return None
    return f"convert {_said(amount)} {source} to {target}"


def _calculate(args: dict[str, Any]) -> str | None:
    value = args.get("expression")
    if not isinstance(value, str):
        return None
    expression = re.sub(r"[^0-9.+\-*/×÷^ ()a-z]+", " ", value.lower()).strip()
    return f"what is {expression}" if expression else None


def _volume(args: dict[str, Any]) -> str | None:
    change = args.get("change")
    if change in ("up", "down"):
        return "louder" if change == "up" else "quieter"
    level = _number(args, "level")
    return f"set the volume to {_said(level)} percent" if level is not None else None


def _fixed(words: str) -> Callable[[dict[str, Any]], str | None]:
    return lambda args: words


_NUMBER = {"type": "number"}
_TEXT = {"type": "string"}
_CLOCK_TIME = {"type": "string", "description": "24-hour clock time, HH:MM"}


def _params(required: tuple[str, ...] = (), **properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": list(required)}


# name -> (tool, the words its call becomes)
SKILL_TOOLS: dict[str, tuple[Tool, Callable[[dict[str, Any]], str | None]]] = {
    t.name: (t, words)
    for t, words in (
        (Tool("set_timer", "Start a countdown timer.", _params(minutes=_NUMBER, seconds=_NUMBER)), _timer),
        (Tool("set_reminder", "Remind the wearer of a task, after some minutes or at a clock time.",
              _params(("task",), task=_TEXT, minutes=_NUMBER, time=_CLOCK_TIME)), _reminder),
        (Tool("set_alarm", "Set an alarm at a clock time.", _params(("time",), time=_CLOCK_TIME)), _alarm),
        (Tool("cancel_timers", "Cancel all timers, reminders and alarms.", _params()), _fixed("cancel all timers")),
        (Tool("convert_units", "Convert an amount between units of length, weight, volume, temperature or speed.",
              _params(("amount", "from_unit", "to_unit"), amount=_NUMBER, from_unit=_TEXT, to_unit=_TEXT)), _convert),
        (Tool("calculate", "Work out an arithmetic expression.", _params(("expression",), expression=_TEXT)),
         _calculate),
        (Tool("get_time", "The current time.", _params()), _fixed("what time is it")),
        (Tool("get_date", "Today's date.", _params()), _fixed("what is the date today")),
        (Tool("get_battery", "The glasses' battery level.", _params()), _fixed("how much battery is left")),
        (Tool("set_volume", "Set the speaker volume to a level in percent, or change it up or down.",
              _params(level=_NUMBER, change={"type": "string", "enum": ["up", "down"]})), _volume),
    )
}  # fmt: skip
TOOLS: tuple[Tool, ...] = tuple(tool for tool, _ in SKILL_TOOLS.values())


def tool_words(call: ToolCall) -> str | None:
    """The words a skill carries the call out from; None if the call is not one the skills can do."""
    entry = SKILL_TOOLS.get(call.name)
    if entry is None:
        return None
    try:
        args = json.loads(call.arguments) if call.arguments.strip() else {}
    except (ValueError, RecursionError):
        return None
    if not isinstance(args, dict):
        return None
    return entry[1](args)
