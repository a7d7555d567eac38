"""Whose voice: the wearer close to the glasses' mic, or the person in front of them (edge/speaker_id.py).

Measured on a set of turns in conversation order: the simulator's voices (the wearer's Piper voice
close, other people's eSpeak NG voices in four languages at 1.5 and 3 m through the room model)
and the real recordings in firmware_sim/voices/ (each said close as the wearer, then at 1.5 m
and 3 m as the other person), with pink-ish noise at the mic, the edge's VAD deciding which
frames are speech, one attributor following the whole conversation.
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
from sottovoce.edge.turn import VadThresholds
from sottovoce.edge.vad import VADS, make_vad
from sottovoce.firmware_sim.recordings import recordings
from sottovoce.firmware_sim.room import Room, at_distance
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.tts import make_engine
from sottovoce.proto.codec import FRAME_SAMPLES

NOISE_DBFS = -58.0
OTHER_VOICES = [("es", "¿Dónde está la estación de tren? Tengo prisa."), ("de", "Wo ist der Bahnhof, bitte?"),
                ("fr", "Où est la gare, s'il vous plaît?"), ("ca", "On és l'estació de tren, si us plau?")]  # fmt: skip
WEARER_LINES = ["Yes, the station is two streets from here.", "Thank you.", "No.", "It is on the left, past the bank."]


def _turns() -> list[tuple[str, np.ndarray, int]]:
    """(name, int16 audio, true speaker) in conversation order: the other person, then the wearer."""
    espeak, piper = make_engine("espeak"), make_engine("piper", deterministic=True)
    turns = []
    for i, ((voice, text), line) in enumerate(zip(OTHER_VOICES, WEARER_LINES, strict=True)):
        audio = espeak.synthesize(text, voice=voice)
        turns.append((f"espeak:{voice}@1.5m", at_distance(audio, 1.5, Room(seed=i)), OTHER))
        turns.append((f"piper:{line}", piper.synthesize(line), WEARER))
        turns.append((f"espeak:{voice}@3m", at_distance(audio, 3.0, Room(seed=10 + i)), OTHER))
    for i, (clip_id, clip) in enumerate(sorted(recordings().items())):
        if clip.kind == "nonverbal":
            continue
        audio = read_wav(clip.path)
        turns.append((f"{clip_id}@1.5m", at_distance(audio, 1.5, Room(seed=100 + i)), OTHER))
        turns.append((clip_id, audio, WEARER))
        turns.append((f"{clip_id}@3m", at_distance(audio, 3.0, Room(seed=200 + i)), OTHER))
    return turns


def _attribute(turns, attributor: SpeakerAttributor) -> list[tuple[str, int, int, float]]:
    """(name, truth, attributed, level) for each turn the VAD heard (one it did not is no turn)."""
    vad = make_vad(next(iter(VADS)))
    rng = np.random.default_rng(0)
    out = []
    for name, audio, truth in turns:
        vad.reset()
        gap = np.zeros(8000)
        x = np.concatenate([gap, audio.astype(np.float64), gap])
        x += rng.standard_normal(len(x)) * 32768 * 10 ** (NOISE_DBFS / 20)
        x = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        for i in range(0, len(x) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            frame = x[i : i + FRAME_SAMPLES]
            attributor.frame(frame_dbfs(frame), vad.process(frame) >= VadThresholds.onset)
        level, heard = attributor.level_dbfs, attributor.heard
        said = attributor.turn_ended()
        if heard:
            out.append((name, truth, said, level))
    return out


@pytest.fixture(scope="module")
def conversation() -> list[tuple[str, np.ndarray, int]]:
    return _turns()


def test_attribution_on_simulated_and_real_voices(conversation) -> None:
    results = _attribute(conversation, SpeakerAttributor())
    assert len(results) >= 0.9 * len(conversation)  # only short keywords at 3 m go unheard
    wrong = [(name, round(level, 1)) for name, truth, said, level in results if said != truth]
    accuracy = 1 - len(wrong) / len(results)
    sim = [r for r in results if r[0].startswith(("espeak", "piper"))]
    print(f"\nattribution: {accuracy:.1%} of {len(results)} turns correct ({len(conversation)} said) "
          f"(simulated voices {sum(r[1] == r[2] for r in sim)}/{len(sim)}); wrong: {wrong}")  # fmt: skip
    assert accuracy >= 0.95, wrong
    assert all(truth == said for _, truth, said, _ in sim)  # the simulator's own voices, every one


def test_attribution_of_sentences_by_real_people_is_exact(conversation) -> None:
    """Close-talk sentence recordings (not the keyword clips, recorded at any level on laptops)."""
    sentences = [t for t in conversation if t[0].split("@")[0].startswith(("rh_", "ls_", "arctic_"))]
    results = _attribute(sentences, SpeakerAttributor())
    assert [r[0] for r in results if r[1] != r[2]] == []


def test_nothing_heard_is_the_wearer_and_the_wearer_level_follows_their_turns() -> None:
    a = SpeakerAttributor(wearer_dbfs=-20.0)
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
