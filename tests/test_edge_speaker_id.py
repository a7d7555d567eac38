"""Whose voice: the wearer close to the glasses' mic, or the person in front of them (edge/speaker_id.py).

Measured on ``sottovoce bench speakers``'s set (tools/bench_speakers.py): the simulator's voices
and the real recordings in firmware_sim/voices/, each close as the wearer and at 1.5 and 3 m
through the room model as the other person, in noise, through the uplink's Opus, one attributor
following the whole conversation.
"""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.edge.speaker_id import (
    OTHER,
    OUTWARD_TAIL_FRAMES,
    WEARER,
    SpeakerAttributor,
    TranslationFloor,
    frame_dbfs,
)
from sottovoce.edge.vad import VADS, make_vad
from sottovoce.firmware_sim.room import Room, at_distance
from sottovoce.host.tts import make_engine
from sottovoce.proto.codec import FRAME_SAMPLES
from sottovoce.tools import bench_speakers
from sottovoce.tools.bench_speakers import Turn

NOISE_DBFS = -58.0


@pytest.fixture(scope="module")
def conversation() -> list[Turn]:
    return bench_speakers.conversation()


def test_attribution_on_simulated_and_real_voices(conversation) -> None:
    results, unheard = bench_speakers.attribute(conversation, SpeakerAttributor())
    assert unheard <= 0.1 * len(conversation)  # only short keywords at a distance go unheard
    wrong = [(r.name, r.level_dbfs) for r in results if r.truth != r.said]
    accuracy = 1 - len(wrong) / len(results)
    print(f"\nattribution: {accuracy:.1%} of {len(results)} turns correct; wrong: {wrong}")
    assert accuracy >= 0.95, wrong
    # the simulator's own voices and the sentences of real people at close-talking microphones, every one
    assert [r.name for r in results if r.source != "real keywords" and r.truth != r.said] == []
    assert (
        sum(r.source == "simulated" for r in results) == 16 and sum(r.source == "real sentences" for r in results) == 40
    )


def test_the_default_threshold_does_at_least_as_well_as_following_the_wearers_level(conversation) -> None:
    default, _ = bench_speakers.attribute(conversation, SpeakerAttributor())
    followed, _ = bench_speakers.attribute(conversation, SpeakerAttributor(follow=0.3))
    assert sum(r.truth == r.said for r in default) >= sum(r.truth == r.said for r in followed)


def test_nothing_heard_is_the_wearer_and_a_followed_wearer_level_follows_their_turns() -> None:
    a = SpeakerAttributor(wearer_dbfs=-20.0, follow=0.3)
    assert a.speaker == WEARER and not a.heard
    a.frame(-60.0, voiced=False)  # unvoiced frames say nothing
    assert not a.heard and a.speaker == WEARER
    for _ in range(10):
        a.frame(-40.0, voiced=True)
    assert a.speaker == OTHER and a.turn_ended() == OTHER
    assert a.wearer_dbfs == -20.0  # another person's turn does not move the wearer's level
    for _ in range(10):
        a.frame(-26.0, voiced=True)
    assert a.turn_ended() == WEARER
    assert -26.0 < a.wearer_dbfs < -20.0
    assert (a.counters.turns_wearer, a.counters.turns_other) == (1, 1)


# --- translation mode's floor: the turn arbiter fed through TranslationFloor ------------------------


def _over_answer(audio: np.ndarray, outward_playing: bool = False):
    """``audio`` said while an answer plays in the ear, fed to the arbiter through the floor as the
    daemon feeds it (the edge's VAD, the silence end-of-turn rule): the arbiter's decisions, the
    speaker the floor gave each turn's start and end, and the floor."""
    from sottovoce.edge import arbiter as arb
    from sottovoce.edge.end_rules import SilencePolicy

    vad = make_vad(next(iter(VADS)))
    floor = TranslationFloor()
    arbiter = arb.TurnArbiter(SilencePolicy(confirm_ms=500, tentative_ms=200))
    rng = np.random.default_rng(1)
    x = np.concatenate([np.zeros(4800), audio.astype(np.float64), np.zeros(16000)])
    x += rng.standard_normal(len(x)) * 32768 * 10 ** (NOISE_DBFS / 20)
    x = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    decisions, speakers, playing_told = [], [], None
    for seq, i in enumerate(range(0, len(x) - FRAME_SAMPLES + 1, FRAME_SAMPLES)):
        frame = x[i : i + FRAME_SAMPLES]
        view = floor.frame(vad.process(frame), False, frame_dbfs(frame), True, outward_playing)
        if view.answer_playing != playing_told:
            playing_told = view.answer_playing
            decisions += arbiter.feed(arb.PlaybackState(playing_told))
        for d in arbiter.feed(arb.Frame(seq, view.speech)):
            decisions.append(d)
            if isinstance(d, arb.SpeechStart):
                speakers.append((d, floor.turn_started()))
            elif isinstance(d, arb.ConfirmedEnd):
                speakers.append((d, floor.turn_ended()))
    return decisions, speakers, floor


def test_the_other_persons_speech_over_the_whisper_opens_a_turn_and_never_ducks_it() -> None:
    from sottovoce.edge import arbiter as arb

    spanish = make_engine("espeak").synthesize("Tengo que llegar al centro antes de las cinco.", voice="es")
    decisions, speakers, floor = _over_answer(at_distance(spanish, 1.5, Room(seed=5)))
    kinds = [type(d) for d in decisions]
    assert arb.Duck not in kinds and arb.SpeechDuringPlayback not in kinds and arb.BargeIn not in kinds
    starts = [d for d in speakers if isinstance(d[0], arb.SpeechStart)]
    ends = [d for d in speakers if isinstance(d[0], arb.ConfirmedEnd)]
    assert [s[1] for s in starts] == [OTHER] and not starts[0][0].barge_in and [e[1] for e in ends] == [OTHER]
    assert floor.counters.frames_other_over_answer > 20


def test_the_wearers_speech_over_the_whisper_still_ducks_and_barges_in() -> None:
    from sottovoce.edge import arbiter as arb

    wearer = make_engine("piper", deterministic=True).synthesize("Wait, say that again please.")
    decisions, speakers, _ = _over_answer(wearer)
    kinds = [type(d) for d in decisions]
    assert arb.Duck in kinds and arb.SpeechDuringPlayback in kinds and arb.BargeIn in kinds
    starts = [d for d in speakers if isinstance(d[0], arb.SpeechStart)]
    assert [s[1] for s in starts] == [WEARER] and starts[0][0].barge_in


def test_nothing_is_heard_while_the_outward_speaker_plays_and_for_its_tail() -> None:
    """The wearer's translated words said aloud leak into the mic loud and near: never a turn."""
    from sottovoce.edge import arbiter as arb

    aloud = make_engine("espeak").synthesize("Sí, la estación está a dos calles de aquí.", voice="es")
    decisions, _, floor = _over_answer(aloud, outward_playing=True)
    assert not any(isinstance(d, (arb.SpeechStart, arb.Duck, arb.SpeechDuringPlayback)) for d in decisions)
    assert floor.counters.frames_outward > len(aloud) // FRAME_SAMPLES
    f = TranslationFloor()
    f.frame(0.0, False, -90.0, False, outward_playing=True)
    tail = [f.frame(0.99, True, -15.0, False, outward_playing=False) for _ in range(OUTWARD_TAIL_FRAMES + 1)]
    assert all(v.speech == 0.0 and not v.onset for v in tail[:-1]) and tail[-1].speech == 0.99
