"""When each cue is said, and its words at the moment it is said.

A turn's cue must *finish* ``lead_m`` before the turn (10-40 m: nearer, a walker has no time to
act; further, they turn too early or forget), so it starts earlier by the distance walked while it
is rendered and spoken: walking speed x (render time + its own spoken length, from its length).
Its distance ("in 25 metres") is said as it will be when the number is heard. A cue that waited
(the wearer was talking) is re-worded when its turn comes to be said, said as urgent ("now turn
left") when the turn is a few metres away, and dropped once the turn is behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from sottovoce.host.navigation.instructions import Step, say_distance

DEFAULT_SPEED_MPS = 1.4  # walking pace when the fixes do not tell yet


@dataclass(frozen=True)
class CueConfig:
    # Where a turn's cue should finish, before the turn. Above the window's middle: what moves a
    # cue off its mark is mostly one-sided - the wearer talking when it is due holds it back (their
    # turn, then its end confirmed: up to ~7 m at walking pace), and one their speech stopped is
    # said again after it (~10 m) - while a fix's drifting error moves it either way by up to ~8 m.
    lead_m: float = 30.0
    min_lead_m: float = 10.0  # a cue finishing nearer than this is late
    max_lead_m: float = 40.0
    urgent_m: float = 18.0  # a turn this near: its cue may go as soon as the wearer pauses
    render_s: float = 0.5  # from the decision to the first sample at the ear
    # The whispered voice's pace: 14-19 characters a second on cues (Finnish street names are
    # long words, so characters tell the length better than words); the slow end, so a cue
    # rather finishes early than late.
    chars_per_s: float = 15.0
    number_at_s: float = 0.6  # when in a cue its distance is heard
    min_speed_mps: float = 0.6
    max_speed_mps: float = 2.5


@dataclass(frozen=True)
class Cue:
    """One thing the navigator wants said: a turn (``step`` set), or a sentence of its own."""

    key: str
    text: str
    urgent: bool = False
    step: Step | None = None


def spoken_s(text: str, config: CueConfig) -> float:
    return len(text) / config.chars_per_s


def walking_speed(speed_mps: float | None, config: CueConfig) -> float:
    if speed_mps is None or speed_mps <= 0:
        return DEFAULT_SPEED_MPS
    return min(max(speed_mps, config.min_speed_mps), config.max_speed_mps)


def turn_words(step: Step, to_turn_m: float, config: CueConfig) -> tuple[str, bool]:
    """The cue for ``step`` said ``to_turn_m`` before it, and whether it is urgent."""
    if to_turn_m <= config.urgent_m:
        return f"Now {step.instruction()}.", True
    return f"In {say_distance(to_turn_m)}, {step.instruction()}.", False


def turn_cue_due(step: Step, to_turn_m: float, speed_mps: float | None, config: CueConfig) -> bool:
    """Whether ``step``'s cue must start now to finish ``lead_m`` before the turn."""
    speed = walking_speed(speed_mps, config)
    words, _ = turn_words(step, config.lead_m + speed * (config.render_s + 2.0), config)
    return to_turn_m <= config.lead_m + speed * (config.render_s + spoken_s(words, config))


def turn_cue_now(step: Step, to_turn_m: float, speed_mps: float | None, config: CueConfig) -> Cue | None:
    """The words of ``step``'s cue at this moment; None once the turn is behind."""
    if to_turn_m <= 0:
        return None
    speed = walking_speed(speed_mps, config)
    heard_at = max(0.0, to_turn_m - speed * (config.render_s + config.number_at_s))
    text, urgent = turn_words(step, heard_at, config)
    return Cue(f"turn-{step.at_m:.0f}", text, urgent, step)


def turn_cue_after(words: str, step: Step, to_turn_m: float, speed_mps: float | None, config: CueConfig) -> Cue | None:
    """``step``'s cue said straight after ``words`` (a departure) when the turn is so near that its
    own cue, once they are said, would already be due: the wearer would walk on while it waits.
    Its distance is the one left when it is heard; None when the turn can have its own cue."""
    after = walking_speed(speed_mps, config) * spoken_s(f"{words} ", config)
    if not turn_cue_due(step, to_turn_m - after, speed_mps, config):
        return None
    return turn_cue_now(step, to_turn_m - after, speed_mps, config)
