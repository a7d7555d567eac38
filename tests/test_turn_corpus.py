import numpy as np

from sottovoce.proto.codec import FRAME_SAMPLES
from sottovoce.tools.turn import sentences as S
from sottovoce.tools.turn.corpus import (
    DECISION_WINDOW_MS,
    IGNORE,
    Synth,
    espeak_voice_names,
    make_scripts,
    render,
)


def test_scripts_are_reproducible_from_the_seed():
    assert make_scripts("train", 30, 5) == make_scripts("train", 30, 5)
    assert make_scripts("train", 30, 5) != make_scripts("train", 30, 6)


def test_held_out_voices_never_reach_training():
    held, train = set(espeak_voice_names(True)), set(espeak_voice_names(False))
    assert held and train and not held & train
    train_scripts = make_scripts("train", 400, 11)
    test_scripts = make_scripts("test", 200, 11)
    assert not {s.voice.name for s in train_scripts} & {s.voice.name for s in test_scripts}
    assert {s.voice.name for s in test_scripts} <= held
    assert any(s.voice.engine == "piper" for s in train_scripts)


def _stems(held_out: bool) -> list[str]:
    """The fixed words before a template's first slot identify it (when there are enough)."""
    stems = [
        t.split("{")[0].rstrip(",.?!") for t in S.STATEMENTS + S.QUESTIONS + S.COMMANDS if S.is_held_out(t) == held_out
    ]
    return [s for s in stems if len(s.split()) >= 4]


def test_held_out_templates_never_reach_training():
    train_text = " ".join(c for s in make_scripts("train", 600, 2) for c in s.chunks)
    test_text = " ".join(c for s in make_scripts("test", 300, 2) for c in s.chunks)
    held = _stems(True)
    assert held
    assert not [stem for stem in held if stem in train_text]
    assert [stem for stem in held if stem in test_text]
    assert not [stem for stem in _stems(False) if stem in test_text]


def test_rendered_turn_labels_pauses_and_end():
    scripts = [s for s in make_scripts("test", 40, 9) if len(s.chunks) >= 2][:2]
    synth = Synth()
    for script in scripts:
        turn = render(script, synth)
        target, weight = turn.frame_labels()
        assert turn.pcm.dtype == np.int16 and target.size == -(-turn.pcm.size // FRAME_SAMPLES)
        window = DECISION_WINDOW_MS // 20
        for start, end in turn.pauses():
            first = -(-start // FRAME_SAMPLES)
            inside = slice(first, min(end // FRAME_SAMPLES, first + window - 1))
            assert np.all(target[inside] == 0) and np.all(weight[inside] == 1.0)
            # beyond the decision window a pause says nothing: not labelled
            if end // FRAME_SAMPLES > first + window + 1:
                assert target[first + window + 1] == IGNORE
        after_end = -(-turn.speech_end // FRAME_SAMPLES)
        assert np.all(target[after_end : after_end + window - 1] == 1)
        assert np.all(target[after_end + window + 1 :] == IGNORE)
        assert target[0] == IGNORE
        # the audio really is louder where the script says speech is
        s, e = turn.speech[0]
        speech_rms = np.sqrt(np.mean(turn.pcm[s:e].astype(np.float64) ** 2))
        pause = turn.pauses()[0]
        pause_rms = np.sqrt(np.mean(turn.pcm[pause[0] + 800 : pause[1] - 800].astype(np.float64) ** 2))
        assert speech_rms > 2 * pause_rms
