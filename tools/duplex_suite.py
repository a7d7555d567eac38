"""The scenarios of `sottovoce bench duplex`, as data: one short conversation each (a request and
at most one event over its answer), grouped by what they test.

Every scenario plays in the demo's quiet room (pink noise at -55 dBFS, the glasses' mild echo path)
unless it says otherwise. Synthetic wearers speak with Piper (some with eSpeak); real wearers are
the committed recordings in ``firmware_sim/voices/`` (``clip``). Lists of clip ids are data: a
recording added there joins its category by one more id in the list (a clip of kind
``backchannel`` or ``nonverbal`` joins the backchannels by itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sottovoce.firmware_sim.recordings import recordings

CATEGORIES = ("smooth", "pause", "interruption", "correction", "backchannel", "echo", "noise")

QUIET_ROOM: dict[str, Any] = {
    "noise": {"level_dbfs": -55.0, "color": "pink"},
    "echo": {"delay_ms": 2.0, "gain_db": -24.0, "lowpass_hz": 3000.0},
}
# A skill's answer, the same every time: the ~8.5 s list of what the assistant can do is the long
# answer the wearer talks over (a language model's answer would vary in length from run to run).
LONG_REQUEST = "What can you do?"
OVER_ANSWER_S = 1.5  # the wearer speaks this long into the answer

SMOOTH_SAID = [
    ("What time is it?", "piper"),
    ("What's my battery level?", "piper"),
    ("What is twelve times seven?", "piper"),
    ("Set a timer for three minutes.", "piper"),
    ("What's the date today?", "espeak"),
    ("What time is it?", "espeak"),
]
SMOOTH_CLIPS = ["ls_testing_routine", "arctic_axb_a0005", "ls_i_tell_you", "arctic_aew_a0002"]
PAUSED_SAID = [
    ("Remind me in ten minutes to | call Anna.", 0.8),
    ("Set a timer for | five minutes.", 1.0),
    ("What is twelve | times seven?", 0.6),
    ("Can you tell me | what time it is?", 1.2),
    ("What's my | battery level?", 1.5),
]
# The last has no command in it: only its content, read while it goes on, stops the answer.
CONTENT_INTERRUPTIONS = ["Wait, what about tomorrow?", "Stop. What is twelve times seven?", "What about tomorrow?"]
# A real wearer's long question over the answer, with no command in it.
CONTENT_CLIPS = ["ls_testing_routine"]
COMMAND_INTERRUPTIONS = ["Stop.", "Wait.", "No."]
COMMAND_CLIPS = ["sc_stop_0a196374", "sc_no_0a2b400e"]
# Piper's "Mm-hm." (0.7-0.9 s) and the doubled ones go on past the arbiter's MAX_OVERLAP_MS.
BACKCHANNELS_SAID = ["Mm-hm.", "Yeah.", "Okay.", "Right.", "Uh-huh.", "I see.", "Okay, okay.", "Yeah, yeah, I see."]
# Real backchannels and nonverbal sounds (coughs, laughs, throat-clears) by clip id.
BACKCHANNEL_CLIPS = ["sc_yes_0b40aa8e", "sc_right_0d82fd99"]
BACKCHANNEL_KINDS = ("backchannel", "nonverbal")
ECHO_LEVELS_DB = (-12.0, -6.0, 0.0, 6.0, 12.0)
BONE_LEVELS_DB = (0.0, 12.0)
DOUBLE_TALK_DB = 6.0
BED_LEVELS_DBFS = {"street": -45.0, "babble": -45.0, "wind": -45.0}  # bed -> its level at the mic
NOISE_REQUESTS = [("What time is it?", None), (None, "ls_testing_routine")]  # (said, clip)


@dataclass(frozen=True)
class Correction:
    """What a correction scenario must end with: its reply names ``new``, and the timers then
    listed are one, naming ``new`` and not ``old``."""

    new: str
    old: str


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    scenario: dict[str, Any]  # a scenario file's tables (firmware_sim/scenario.py)
    correction: Correction | None = None
    kind: str = ""  # within a category: content | command (interruption), double_talk (echo)
    tags: tuple[str, ...] = field(default=())  # synthetic | real

    def toml(self) -> str:
        return toml_text({"name": self.name, **self.scenario})

    def write(self, folder: Path) -> Path:
        """The scenario file, in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.toml"
        path.write_text(self.toml(), encoding="utf-8")
        return path


# --- building blocks ------------------------------------------------------------------------------


def said(text: str, **more: Any) -> dict[str, Any]:
    return {"say": text, **more}


def clip(clip_id: str, **more: Any) -> dict[str, Any]:
    return {"clip": clip_id, **more}


def over_answer(utterance: dict[str, Any], barge_in: bool, delay: float = OVER_ANSWER_S) -> dict[str, Any]:
    """``utterance`` said ``delay`` into the answer to the one before."""
    return {**utterance, "after": "answer_start", "delay": delay, "barge_in": barge_in}


def conversation(*utterances: dict[str, Any], tts: str = "piper", **room: Any) -> dict[str, Any]:
    """A scenario: the first utterance at 1 s, each next as it says; the quiet room unless ``room``
    replaces a table of it."""
    first, *rest = utterances
    return {"tts": tts, "lead_in": 0.5, "tail": 2.0, "utterance": [{**first, "at": 1.0}, *rest],
            **QUIET_ROOM, **room}  # fmt: skip


def _slug(text: str) -> str:
    return "_".join("".join(c for c in text.lower() if c.isalnum() or c == " ").split())[:32]


# --- the suite ------------------------------------------------------------------------------------


def suite() -> list[Case]:
    voices = recordings()
    cases: list[Case] = []
    for text, tts in SMOOTH_SAID:
        cases.append(
            Case("smooth", f"smooth_{tts}_{_slug(text)}", conversation(said(text), tts=tts), tags=("synthetic",))
        )
    for clip_id in SMOOTH_CLIPS:
        cases.append(Case("smooth", f"smooth_real_{clip_id}", conversation(clip(clip_id)), tags=("real",)))

    for text, pause in PAUSED_SAID:
        name = f"pause_{pause:.1f}s_{_slug(text)}"
        cases.append(Case("pause", name, conversation(said(text, pause=pause)), tags=("synthetic",)))
    for clip_id in sorted(i for i, c in voices.items() if c.pauses_s):
        cases.append(Case("pause", f"pause_real_{clip_id}", conversation(clip(clip_id)), tags=("real",)))

    long_answer = said(LONG_REQUEST)
    for text in CONTENT_INTERRUPTIONS:
        scenario = conversation(long_answer, over_answer(said(text), barge_in=True))
        cases.append(Case("interruption", f"interrupt_{_slug(text)}", scenario, kind="content", tags=("synthetic",)))
    for clip_id in CONTENT_CLIPS:
        scenario = conversation(long_answer, over_answer(clip(clip_id), barge_in=True))
        cases.append(Case("interruption", f"interrupt_real_{clip_id}", scenario, kind="content", tags=("real",)))
    for text in COMMAND_INTERRUPTIONS:  # they only stop it: the wearer expects silence, not a reply
        scenario = conversation(long_answer, over_answer(said(text, reply=False), barge_in=True))
        cases.append(Case("interruption", f"interrupt_{_slug(text)}", scenario, kind="command", tags=("synthetic",)))
    for clip_id in COMMAND_CLIPS:
        scenario = conversation(long_answer, over_answer(clip(clip_id, reply=False), barge_in=True))
        cases.append(Case("interruption", f"interrupt_real_{clip_id}", scenario, kind="command", tags=("real",)))

    listing = said("What timers do I have?", after="answer_end", delay=1.0)
    for request, fix, new, old in [
        ("Set a timer for five minutes.", "No, ten minutes.", "ten minute", "five minute"),
        ("Set a timer for three minutes.", "No, make that four minutes.", "four minute", "three minute"),
        ("Remind me in ten minutes to call Anna.", "No, Anne.", "anne", "anna"),
    ]:
        scenario = conversation(said(request), over_answer(said(fix), barge_in=True, delay=1.0), listing)
        cases.append(
            Case("correction", f"correct_{_slug(request)}", scenario, Correction(new, old), tags=("synthetic",))
        )

    for text in BACKCHANNELS_SAID:
        scenario = conversation(long_answer, over_answer(said(text), barge_in=False))
        cases.append(Case("backchannel", f"backchannel_{_slug(text)}", scenario, tags=("synthetic",)))
    real = BACKCHANNEL_CLIPS + sorted(i for i, c in voices.items() if c.kind in BACKCHANNEL_KINDS)
    for clip_id in dict.fromkeys(real):
        scenario = conversation(long_answer, over_answer(clip(clip_id), barge_in=False))
        cases.append(Case("backchannel", f"backchannel_real_{clip_id}", scenario, tags=("real",)))

    def echo(level: float, coloring: str = "linear") -> dict[str, Any]:
        return {"delay_ms": 2.0, "level_db": level, "lowpass_hz": 3000.0, "coloring": coloring}

    def headroom(utterance: dict[str, Any], level: float) -> dict[str, Any]:
        """The wearer at a microphone whose gain leaves room for an echo ``level`` dB louder than
        them, as glasses with so loud a speaker are built: a clipping microphone makes the echo
        no linear image of the answer, which no canceller can take out."""
        return {**utterance, "gain_db": -max(0.0, level)}

    for level in ECHO_LEVELS_DB:
        scenario = conversation(headroom(long_answer, level), echo=echo(level))
        cases.append(Case("echo", f"echo_{level:+.0f}db", scenario))
    for level in BONE_LEVELS_DB:
        scenario = conversation(headroom(long_answer, level), echo=echo(level, "bone"))
        cases.append(Case("echo", f"echo_bone_{level:+.0f}db", scenario))
    talk_over = over_answer(headroom(said(CONTENT_INTERRUPTIONS[0]), DOUBLE_TALK_DB), barge_in=True)
    scenario = conversation(headroom(long_answer, DOUBLE_TALK_DB), talk_over, echo=echo(DOUBLE_TALK_DB))
    cases.append(Case("echo", f"echo_double_talk_{DOUBLE_TALK_DB:+.0f}db", scenario, kind="double_talk"))

    for bed, level in BED_LEVELS_DBFS.items():
        for text, clip_id in NOISE_REQUESTS:
            wearer = said(text) if text else clip(clip_id)
            who = f"real_{clip_id}" if clip_id else _slug(text)
            scenario = conversation(wearer, noise={"bed": bed, "level_dbfs": level})
            cases.append(Case("noise", f"noise_{bed}_{who}", scenario, tags=("real" if clip_id else "synthetic",)))
    return cases


FAST = ("smooth_piper_what_time_is_it", "interrupt_wait_what_about_tomorrow", "backchannel_mmhm", "echo_+6db")


def select(only: list[str] | None = None, fast: bool = False) -> list[Case]:
    """The suite, or its categories ``only``, or the fast subset (one smooth request, one
    interruption, one backchannel, one echo)."""
    cases = suite()
    if fast:
        return [c for name in FAST for c in cases if c.name == name]
    return [c for c in cases if not only or c.category in only]


# --- TOML -----------------------------------------------------------------------------------------


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"no TOML for {v!r}")


def toml_text(doc: dict[str, Any]) -> str:
    """``doc`` as TOML: scalars first, then tables, then arrays of tables (all a scenario uses)."""
    lines = [f"{k} = {_value(v)}" for k, v in doc.items() if not isinstance(v, dict | list)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]", *(f"{kk} = {_value(vv)}" for kk, vv in v.items())]
    for k, v in doc.items():
        if isinstance(v, list):
            for item in v:
                lines += ["", f"[[{k}]]", *(f"{kk} = {_value(vv)}" for kk, vv in item.items())]
    return "\n".join(lines) + "\n"
