import numpy as np

from sottovoce.proto.codec import FRAME_SAMPLES
from sottovoce.tools.turn import sentences as S
from sottovoce.tools.turn.corpus import (
    DECISION_WINDOW_MS,
    END_GRACE_MS,
    IGNORE,
    SPEECH_WEIGHT,
    Synth,
    Voice,
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
            # every frame of a pause, long or short, says "not yet", at full weight
            inside = slice(-(-start // FRAME_SAMPLES), end // FRAME_SAMPLES)
            assert np.all(target[inside] == 0) and np.all(weight[inside] == 1.0)
            # and so does the end of the chunk before it, at full weight too
            assert target[start // FRAME_SAMPLES - 1] == 0 and weight[start // FRAME_SAMPLES - 1] == 1.0
        after_end = -(-turn.speech_end // FRAME_SAMPLES)
        grace = END_GRACE_MS // 20
        assert target[after_end] == IGNORE  # the silence is not audible yet
        assert np.all(target[after_end + grace + 1 : after_end + window - 1] == 1)
        assert np.all(target[after_end + window + 1 :] == IGNORE)
        assert target[0] == IGNORE
        assert set(np.unique(weight[target == 0])) == {SPEECH_WEIGHT, 1.0}
        # the audio really is louder where the script says speech is
        s, e = turn.speech[0]
        speech_rms = np.sqrt(np.mean(turn.pcm[s:e].astype(np.float64) ** 2))
        pause = turn.pauses()[0]
        pause_rms = np.sqrt(np.mean(turn.pcm[pause[0] + 800 : pause[1] - 800].astype(np.float64) ** 2))
        assert speech_rms > 2 * pause_rms


def test_a_larger_corpus_reuses_a_cached_smaller_one(tmp_path, monkeypatch):
    from sottovoce.tools.turn import corpus as C

    monkeypatch.setattr(C, "cache_dir", lambda: tmp_path)
    small = C.corpus("test", 2, 11)
    rendered = []
    real_render_all = C.render_all
    monkeypatch.setattr(C, "render_all", lambda scripts: (rendered.extend(scripts), real_render_all(scripts))[1])
    large = C.corpus("test", 3, 11)
    assert len(rendered) == 1  # only the new turn was synthesised
    assert [t.script for t in large] == C.make_scripts("test", 3, 11)
    assert all(np.array_equal(a.pcm, b.pcm) for a, b in zip(small, large[:2], strict=True))
    assert C.corpus("test", 3, 11)[2].pcm.size == large[2].pcm.size  # now cached whole


def test_chunks_come_from_one_utterance_or_are_counted_when_spoken_apart(monkeypatch):
    from sottovoce.host.tts import EspeakTts, TtsError

    synth, voice = Synth(), Voice("espeak", "en-us", 1.0, 1.0)
    together = synth.speak(("Please call my sister,", "then my brother."), voice)
    assert len(together) == 2 and synth.spoken_apart == 0

    def lose_the_marks(*_args, **_kwargs):
        raise TtsError("espeak-ng reported 0 of 1 part boundaries")

    monkeypatch.setattr(EspeakTts, "synthesize_parts", lose_the_marks)
    apart = synth.speak(("Please call my sister,", "then my brother."), voice)
    assert len(apart) == 2 and synth.spoken_apart == 1
    # spoken alone, the first chunk ends like a sentence: not the same audio
    assert apart[0].size != together[0].size or not np.array_equal(apart[0], together[0])


def test_voice_lists_are_fixed_and_leave_out_voices_without_intonation():
    from sottovoce.tools.turn.corpus import ESPEAK_VARIANTS

    assert "whisper" not in ESPEAK_VARIANTS and len(set(ESPEAK_VARIANTS)) == len(ESPEAK_VARIANTS) > 40
    # the same scripts on every run: nothing measured at run time decides who speaks
    assert make_scripts("test", 50, 3) == make_scripts("test", 50, 3)
    train, test = set(espeak_voice_names(False)), set(espeak_voice_names(True))
    assert train and test and not train & test
