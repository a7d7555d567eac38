"""Scenario parsing, validation messages, WAV input and the reactive timing of the director."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from sottovoce.firmware_sim.director import Director
from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.scenario import (
    Echo,
    Noise,
    ScenarioError,
    load_scenario,
    parse_scenario,
    read_wav,
    resolve_path,
    synthesize,
)
from sottovoce.proto.codec import FRAME_SAMPLES
from sottovoce.proto.gatt.speaker import PlaybackRecord


def test_packaged_demo_parses_with_a_barge_in_and_a_pause_mid_sentence():
    s = load_scenario("demo", synthesize_audio=False)
    assert len(s.utterances) >= 4
    paused = [u for u in s.utterances if u.pause]
    assert len(paused) == 1 and len(paused[0].parts) == 2 and paused[0].pause > 0.5  # longer than the silence rule
    barge = [u for u in s.utterances if u.barge_in]
    assert len(barge) == 1 and barge[0].trigger.after == "answer_start" and barge[0].trigger.delay == 1.0
    assert barge[0].trigger.ref == barge[0].index - 1
    assert resolve_path("demo").name == "demo.toml"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[utterance]]\nsay = "hi"\nat = 1\naftr = "start"\n', r"x\.toml:1 \[\[utterance\]\] #1: unknown key 'aftr'"),
        ('[[utterance]]\nsay = "hi"\n', "exactly one of 'at'"),
        ('[[utterance]]\nsay = "hi"\nat = 1\nwav = "a.wav"\n', "exactly one of 'say'"),
        ('[[utterance]]\nsay = "hi"\nafter = "answer_start"\n', "needs an utterance to refer to"),
        (
            '[[utterance]]\nsay = "a"\nat = 0\n\n[[utterance]]\nsay = "b"\nafter = "later"\n',
            r"x\.toml:5 \[\[utterance\]\] #2: 'after' must be one of",
        ),
        ('[[utterance]]\nsay = "hi"\nat = -1\n', "'at' must be in"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[link]\nloss = 2\n', r"\[link\]: 'loss' must be in \[0, 1\]"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[link]\nmax_mtu = 10\n', "'max_mtu' must be an integer in"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[link]\ndisconnect = [{at = 1}]\n', "needs both 'at' and 'duration'"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[noise]\ncolor = "brown"\n', "'color' must be one of"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[[button]]\nkind = "smash"\nat = 1\n', r"\[\[button\]\] #1: 'kind'"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[[gesture]]\nat = 1\n', "missing key 'kind'"),
        ('[[utterance]]\nsay = "hi"\nat = 1\nbarge_in = "yes"\n', "'barge_in' must be true or false"),
        ('[[utterance]]\nsay = "hi"\nat = 1\nreply = 0\n', "'reply' must be true or false"),
        ('[[utterance]]\nsay = "hi"\nat = 1\nwav = "nope.wav"\n', "exactly one of"),
        ('[[utterance]]\nwav = "nope.wav"\nat = 1\n', "'wav' file not found"),
        ("tail = 1\n", "at least one"),
        ('[[utterance]]\nsay = "hi"\nat = \n', "invalid TOML.*line 3"),
        ('speed = 3\n[[utterance]]\nsay = "hi"\nat = 1\n', "unknown key 'speed'"),
        ('[[utterance]]\nsay = "call | Anna"\nat = 1\n', "pauses at '\\|' but gives no 'pause'"),
        ('[[utterance]]\nsay = "call Anna"\npause = 0.5\nat = 1\n', "'pause' needs a '\\|'"),
        ('[[utterance]]\nsay = "call | "\npause = 0.5\nat = 1\n', "nothing to say before or after"),
        ('[[utterance]]\nsay = "call | Anna"\npause = 9\nat = 1\n', "'pause' must be in"),
    ],
)
def test_validation_names_the_bad_key_and_line(toml: str, message: str):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(toml, "x.toml")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[utterance]]\nsay = "hi"\nat = inf\n', r"\[\[utterance\]\] #1: 'at' must be a finite number, got inf"),
        ('[[utterance]]\nsay = "hi"\nat = nan\n', "'at' must be a finite number, got nan"),
        (
            '[[utterance]]\nsay = "a"\nat = 0\n[[utterance]]\nsay = "b"\nafter = "answer_end"\ndelay = nan\n',
            "'delay' must be a finite",
        ),
        (
            '[[utterance]]\nsay = "a"\nat = 0\n[[utterance]]\nsay = "b"\nafter = "answer_end"\ntimeout = inf\n',
            "'timeout' must be a finite",
        ),
        ('[[utterance]]\nsay = "hi"\nat = 1e9\n', r"'at' must be in \[0, 86400\]"),
        ('[[utterance]]\nsay = "hi"\nat = 1\nrate = nan\n', "'rate' must be a finite"),
        ('[[utterance]]\nsay = "hi"\nat = 1\ngain_db = -inf\n', "'gain_db' must be a finite"),
        ('tail = inf\n[[utterance]]\nsay = "hi"\nat = 1\n', "'tail' must be a finite"),
        ('max_duration = nan\n[[utterance]]\nsay = "hi"\nat = 1\n', "'max_duration' must be a finite"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[link]\nloss = nan\n', r"\[link\]: 'loss' must be a finite"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[link]\njitter_ms = inf\n', "'jitter_ms' must be a finite"),
        (
            '[[utterance]]\nsay = "hi"\nat = 1\n[link]\ndisconnect = [{at = inf, duration = 1}]\n',
            r"disconnect\[0\]: 'at' must be a finite",
        ),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[noise]\nlevel_dbfs = -inf\n', "'level_dbfs' must be a finite"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[echo]\ndelay_ms = nan\n', "'delay_ms' must be a finite"),
        ('[[utterance]]\nsay = "hi"\nat = 1\n[battery]\ndrain_per_min = inf\n', "'drain_per_min' must be a finite"),
        (
            '[[utterance]]\nsay = "hi"\nat = 1\n[[button]]\nkind = "tap"\nat = nan\n',
            r"\[\[button\]\] #1: 'at' must be a finite",
        ),
    ],
)
def test_infinite_and_nan_numbers_are_rejected_naming_the_key(toml: str, message: str):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(toml, "x.toml")


def test_every_scenario_number_is_checked_for_range_and_finiteness():
    """Each numeric key of every table rejects nan: none is read without the checks."""
    for table, keys in {
        None: ["tail", "lead_in", "max_duration"],
        "link": ["connection_interval_ms", "loss", "jitter_ms"],
        "noise": ["level_dbfs"],
        "echo": ["delay_ms", "gain_db", "level_db", "lowpass_hz"],
        "battery": ["start", "drain_per_min"],
    }.items():
        for key in keys:
            body = f"{key} = nan\n"
            toml = (body if table is None else "") + '[[utterance]]\nsay = "hi"\nat = 1\n'
            toml += f"[{table}]\n{body}" if table else ""
            with pytest.raises(ScenarioError, match=f"'{key}' must be a finite number"):
                parse_scenario(toml, "x.toml")


def test_unknown_packaged_name_lists_what_exists():
    with pytest.raises(ScenarioError, match="demo"):
        resolve_path("no-such-scenario")


def test_wav_utterances_are_resampled_and_mixed_down(tmp_path: Path):
    t = np.arange(8000) / 8000
    tone = (10000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.stack([tone, tone], axis=1).tobytes())
    audio = read_wav(path)
    assert abs(len(audio) - 16000) <= 1 and 9000 < np.abs(audio).max() < 11000
    (tmp_path / "s.toml").write_text('[[utterance]]\nwav = "a.wav"\ntext = "a tone"\nat = 0.5\n')
    s = load_scenario(tmp_path / "s.toml")
    assert s.utterances[0].text == "a tone" and len(s.utterances[0].audio) == len(audio)


def test_a_mid_sentence_pause_is_silence_between_the_parts_of_one_spoken_sentence():
    toml = '[[utterance]]\nsay = "Remind me in ten minutes to, | call Anna."\npause = 0.8\nat = 1\ntts = "espeak"\n'
    s = parse_scenario(toml, "x.toml")
    u = s.utterances[0]
    assert u.text == "Remind me in ten minutes to, call Anna."
    assert u.parts == ["Remind me in ten minutes to,", "call Anna."]
    synthesize(s)
    from sottovoce.host.tts import EspeakTts

    whole = EspeakTts().synthesize(u.text)
    assert u.audio is not None and len(u.audio) > len(whole) * 0.8 + 0.8 * 16000 * 0.9
    # the longest silent stretch is the pause itself (speech at both ends: trimmed)
    frames = np.abs(u.audio[: len(u.audio) // 160 * 160].reshape(-1, 160)).max(axis=1)
    quiet = np.flatnonzero(frames <= 0)
    runs = np.split(quiet, np.flatnonzero(np.diff(quiet) != 1) + 1)
    longest = max(len(r) for r in runs) * 10  # ms
    assert 790 <= longest <= 860 and frames[0] > 0 and frames[-1] > 0


def _scripted(toml: str) -> Director:
    s = parse_scenario(toml, "x.toml")
    for u in s.utterances:  # stand-in speech: one second of a constant, distinct per utterance
        u.audio = np.full(16000, 1000 * (u.index + 1), dtype=np.int16)
    return Director(s)


def test_director_reacts_to_the_answer_as_heard():
    d = _scripted(
        """
tail = 0.5
[[utterance]]
say = "one"
at = 0.1
[[utterance]]
say = "two"
after = "answer_start"
delay = 0.5
barge_in = true
[[utterance]]
say = "three"
after = "answer_end"
delay = 0.2
"""
    )
    playback: list[PlaybackRecord] = []
    k = 0
    while not d.finished(k, playback) and k < 1000:
        d.step(k, playback)
        t = k * FRAME_SAMPLES
        if k == 75:  # the answer to "one" (ended at 1.1 s) starts at 1.5 s
            playback.append(PlaybackRecord(stream=1, start_sample=t))
        if playback and playback[-1].ended is None and k > 75:
            playback[-1].samples += FRAME_SAMPLES
            playback[-1].end_sample = t + FRAME_SAMPLES
            if k == 110:  # barge-in stops it; the answer to "two" plays 3.2..3.6 s
                playback[-1].ended = "flushed"
        if k == 160:
            playback.append(PlaybackRecord(stream=2, start_sample=t, end_sample=t + 20 * FRAME_SAMPLES,
                                           ended="finished", samples=20 * FRAME_SAMPLES))  # fmt: skip
        k += 1
    one, two, three = d.spoken
    assert (one.start_sample, one.trigger) == (1600, "at")
    assert (two.start_sample, two.trigger, two.barge_in) == (75 * 320 + 8000, "answer_start", True)
    assert (three.start_sample, three.trigger) == (180 * 320 + 3200, "answer_end")
    assert d.misses == 0


def test_director_goes_ahead_after_timeout_and_counts_the_miss():
    d = _scripted('[[utterance]]\nsay = "a"\nat = 0\n[[utterance]]\nsay = "b"\nafter = "answer_end"\ntimeout = 1\n')
    for k in range(200):
        d.step(k, [])
    assert d.spoken[1].start_sample == 16000 + 16000 and d.spoken[1].trigger == "timeout(answer_end)"
    assert d.misses == 1


def test_device_events_fire_once_on_their_anchor():
    d = _scripted('[[utterance]]\nsay = "a"\nat = 0\n[[button]]\nkind = "tap"\nafter = "previous_end"\n'
                  'utterance = 1\ndelay = 0.1\n[[gesture]]\nkind = "nod"\nat = 0.5\n')  # fmt: skip
    fired = []
    for k in range(100):
        fired += d.step(k, [])[1]
    assert [(e.table, e.kind, e.sample) for e in fired] == [("gesture", "nod", 8000), ("button", "tap", 17600)]


def test_mic_mixes_noise_at_its_level_and_the_delayed_echo():
    mic = Mic(Noise(level_dbfs=-40.0, color="pink"), Echo(), seed=1)
    frames = np.concatenate([mic.capture(np.zeros(FRAME_SAMPLES)) for _ in range(200)]).astype(np.float64)
    rms_db = 20 * np.log10(np.sqrt(np.mean(frames**2)) / 32768)
    assert -42 < rms_db < -38
    echo = Mic(None, Echo(delay_ms=10, gain_db=-6, lowpass_hz=8000), seed=1)
    click = np.zeros(FRAME_SAMPLES, dtype=np.int16)
    click[0] = 20000
    echo.hear_speaker(click)
    out = echo.capture(np.zeros(FRAME_SAMPLES))
    assert np.argmax(np.abs(out)) == 160 and 5000 < out[160] < 10100  # 10 ms later, about half
