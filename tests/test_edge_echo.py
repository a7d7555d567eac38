"""The edge's echo canceller: real WebRTC AEC3 on real (Piper) speech through the simulator's echo
path and Opus, driven through its public interface, and the pieces of ``sottovoce bench echo``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.edge.config import EdgeConfig
from sottovoce.edge.daemon import Edge
from sottovoce.edge.echo import MAX_STREAM_FRAMES, EchoCanceller, estimate_delay
from sottovoce.edge.vad import make_vad
from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.scenario import Echo
from sottovoce.proto import control
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, OpusDecoder, OpusEncoder, frames_of
from sottovoce.tools import bench_echo

WEARER_DBFS = -32.0


@pytest.fixture(scope="module")
def answer() -> tuple[list[bytes], float]:
    """A whispered answer as the host sends it (Opus frames) and its active level."""
    from sottovoce.host.tts import make_engine
    from sottovoce.host.whisper import WhisperVoice, active_rms_dbfs

    audio = WhisperVoice(make_engine("piper", deterministic=True)).speak(
        "Your next meeting is at three o'clock with Anna, in the small room on the second floor, and then "
        "you are free for the rest of the afternoon."
    )
    encoder = OpusEncoder(DOWNLINK_CONFIG)
    return [encoder.encode(f) for f in frames_of(audio)], active_rms_dbfs(audio)


def _play(canceller: EchoCanceller, frames: list[bytes], level_db: float, answer_dbfs: float, tail: int = 30):
    """The answer plays from frame 0 (its 'started' report arrives with the first echo); returns
    the mic frames and what the canceller made of them."""
    canceller.start(7, 1)
    for f in frames:
        canceller.add_reference(7, f)
    canceller.on_report(control.PlaybackReport("started", 1, 0, 0))
    mic = Mic(None, Echo(delay_ms=2, level_db=level_db, lowpass_hz=3000), wearer_dbfs=WEARER_DBFS,
              speaker_dbfs=answer_dbfs)  # fmt: skip
    ear_decoder = OpusDecoder()
    ins, outs = [], []
    for k in range(len(frames) + tail):
        mic.hear_speaker(ear_decoder.decode(frames[k]) if k < len(frames) else np.zeros(FRAME_SAMPLES, np.int16))
        if k == len(frames):
            canceller.on_report(control.PlaybackReport("finished", 1, len(frames) * FRAME_SAMPLES, 0))
        pcm = mic.capture(np.zeros(FRAME_SAMPLES))
        out = canceller.process(pcm)
        canceller.near_end(False)
        ins.append(pcm)
        outs.append(out)
    return np.concatenate(ins).astype(np.float64), np.concatenate(outs).astype(np.float64)


def _dbfs(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x**2) / 32768**2 + 1e-12)


def test_estimate_delay_finds_a_known_lag():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(16000) * 3000
    mic = np.concatenate([np.zeros(123), ref[:-123]]) * 0.5 + rng.standard_normal(16000) * 100
    lag, score = estimate_delay(ref, mic, 8000)
    assert lag == 123 and score > 0.9
    lag, score = estimate_delay(ref, rng.standard_normal(16000) * 3000, 8000)
    assert score < 0.3  # unrelated signals: no estimate


def test_an_echo_12_db_louder_than_the_wearer_is_cancelled_and_measured(answer):
    frames, answer_dbfs = answer
    canceller = EchoCanceller()
    mic, out = _play(canceller, frames, 12.0, answer_dbfs)
    c = canceller.counters
    assert _dbfs(mic) > WEARER_DBFS + 5  # the echo really is louder than the wearer
    late = slice(len(mic) // 2, len(frames) * FRAME_SAMPLES)  # after convergence
    assert _dbfs(mic[late]) - _dbfs(out[late]) > 25
    assert c.erle_db >= 20 and c.far_end_only_frames > len(frames) // 2
    assert c.residual_echo_dbfs < WEARER_DBFS - 10  # what is left is well below the wearer's voice
    assert 0 <= c.delay_ms <= 30 and c.delay_estimates > 0  # the reference is just ahead of its echo
    assert c.reference_missing == 0 and c.realignments == 0


def test_an_answer_held_and_set_going_again_is_still_cancelled_against_the_right_samples(answer):
    frames, answer_dbfs = answer
    hold_at, held_for = 60, 25  # frames: the device stops after frame 59 and goes on half a second later
    canceller = EchoCanceller()
    canceller.start(7, 1)
    for f in frames:
        canceller.add_reference(7, f)
    canceller.on_report(control.PlaybackReport("started", 1, 0, 0))
    mic = Mic(None, Echo(delay_ms=2, level_db=12.0, lowpass_hz=3000), wearer_dbfs=WEARER_DBFS,
              speaker_dbfs=answer_dbfs)  # fmt: skip
    ear_decoder = OpusDecoder()
    ins, outs = [], []
    played = 0
    for k in range(len(frames) + held_for):
        if k == hold_at:
            canceller.on_report(control.PlaybackReport("held", 1, played * FRAME_SAMPLES, 0))
        if k == hold_at + held_for:
            canceller.on_report(control.PlaybackReport("restored", 1, played * FRAME_SAMPLES, 0))
        if hold_at <= k < hold_at + held_for:
            mic.hear_speaker(np.zeros(FRAME_SAMPLES, np.int16))
        else:
            mic.hear_speaker(ear_decoder.decode(frames[played]))
            played += 1
        pcm = mic.capture(np.zeros(FRAME_SAMPLES))
        outs.append(canceller.process(pcm))
        canceller.near_end(False)
        ins.append(pcm)
    mic_in, out = np.concatenate(ins).astype(np.float64), np.concatenate(outs).astype(np.float64)
    after = slice((hold_at + held_for + 5) * FRAME_SAMPLES, (hold_at + held_for + 45) * FRAME_SAMPLES)
    assert _dbfs(mic_in[after]) > WEARER_DBFS + 5  # the echo is back, and loud
    assert _dbfs(mic_in[after]) - _dbfs(out[after]) > 20  # ... and cancelled from the first frames on
    assert canceller.counters.reference_missing == 0


def test_once_the_answer_has_finished_no_frame_counts_as_far_end(answer):
    frames, answer_dbfs = answer
    canceller = EchoCanceller()
    _play(canceller, frames[:50], 0.0, answer_dbfs, tail=0)
    before = canceller.counters.far_end_frames
    for _ in range(20):
        canceller.process(np.zeros(FRAME_SAMPLES, dtype=np.int16))
    assert canceller.counters.far_end_frames - before <= 2  # the lead's last frame, then silence


def test_bad_and_excess_reference_frames_are_counted_not_kept(answer):
    frames, _ = answer
    canceller = EchoCanceller()
    canceller.start(1, 1)
    canceller.add_reference(1, b"\xff\xff\xff")
    canceller.add_reference(2, frames[0])  # a stream never started: nothing to add to
    assert canceller.counters.reference_decode_errors == 1
    for _ in range(MAX_STREAM_FRAMES + 3):
        canceller.add_reference(1, frames[0])
    assert canceller.counters.reference_overflow == 4  # the bad frame was kept, concealed


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(
                control.PlaybackReport,
                st.sampled_from(["started", "finished", "flushed", "underrun", "held", "ducked", "restored"]),
                st.integers(0, 3),
                st.integers(0, 2**32 - 1),
                st.integers(0, 2**64 - 1),
            ),
            st.builds(
                control.BufferReport,
                st.integers(0, 3),
                st.integers(0, 2**32 - 1),
                st.integers(0, 2**32 - 1),
                st.integers(0, 2**32 - 1),
            ),
        ),
        max_size=12,
    )
)
def test_any_sequence_of_device_reports_leaves_a_frame_per_frame(reports):
    canceller = EchoCanceller()
    canceller.start(1, 1)
    canceller.add_reference(1, OpusEncoder(DOWNLINK_CONFIG).encode(np.zeros(FRAME_SAMPLES, dtype=np.int16)))
    pcm = np.full(FRAME_SAMPLES, 100, dtype=np.int16)
    for report in reports:
        canceller.on_report(report)
        out = canceller.process(pcm)
        assert out.dtype == np.int16 and out.shape == (FRAME_SAMPLES,)


def test_aec_is_on_by_default_and_its_counters_reach_the_edge_log():
    on = Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", host="127.0.0.1:9", turn="silence"))
    off = Edge(EdgeConfig(device="serial:/dev/ttyNOPE0", host="127.0.0.1:9", turn="silence", aec=False))
    assert {"echo.erle_db", "echo.residual_echo_dbfs", "echo.delay_ms"} <= set(on.all_counters())
    assert not any(k.startswith("echo.") for k in off.all_counters())
    # the onset cue reads the canceller's levels: there with it, gone without it
    assert {"onset.cues", "onset.residual_db"} <= set(on.all_counters())
    assert not any(k.startswith("onset.") for k in off.all_counters())
    on.close()
    off.close()


# --- the bench's pieces ------------------------------------------------------------------------


def test_long_runs_and_erle():
    flags = np.array([1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1], dtype=bool)
    assert bench_echo.long_runs(flags, 3) == [3, 8]
    assert bench_echo.erle_db(np.array([100.0, 100.0]), np.array([1.0, 1.0])) == 20.0


@pytest.fixture(scope="module")
def track():
    return bench_echo.build_track()


def test_with_aec_a_loud_echo_interrupts_nothing_and_the_wearer_is_still_heard(track):
    config = bench_echo.BenchEchoConfig()
    vad = make_vad("silero")
    on = bench_echo.run_level(track, 12.0, True, config, vad)
    off = bench_echo.run_level(track, 12.0, False, config, vad)
    assert off.self_interruptions > 0  # without cancellation the echo reads as speech
    assert on.self_interruptions == 0 and on.erle_db > 20
    assert on.double_talk_heard
    assert on.delay_ms >= 0 and off.delay_ms == -1


@pytest.mark.parametrize("coloring", ["linear", "bone"])
def test_the_onset_cue_ducks_under_the_wearer_sooner_than_the_vad_and_never_on_the_echo(track, coloring):
    config = bench_echo.BenchEchoConfig(coloring=coloring)
    vad = make_vad("silero")
    for level in (-6.0, 6.0):
        r = bench_echo.run_level(track, level, True, config, vad)
        assert r.echo_ducks == 0, r  # the answer's own echo, however loud, ducks nothing
        assert r.double_talk_duck_ms is not None and r.double_talk_detect_ms is not None
        assert r.double_talk_duck_ms < r.double_talk_detect_ms - bench_echo.BARGE_IN_MS, r  # before the VAD's run


def test_duck_runs_count_a_run_once_until_the_restore_time_has_passed():
    flags = np.zeros(40, dtype=bool)
    flags[[2, 3, 8, 30]] = True
    assert bench_echo.duck_runs(flags, 10) == [2, 30]
    assert bench_echo.duck_runs(flags, 4) == [2, 8, 30]


def test_a_short_word_over_an_answer_too_quiet_to_hear_at_the_mic_is_speech_and_the_answer_never_is(answer):
    """A whisper in a quiet room under the glasses' mild echo path: its echo is under the noise,
    the canceller has nothing to converge on, and the wearer's "Stop." must still read as speech."""
    from sottovoce.edge.scorer import FrameScorer
    from sottovoce.edge.turn import VadThresholds
    from sottovoce.firmware_sim.scenario import Noise
    from sottovoce.host.tts import make_engine, trim_silence
    from sottovoce.host.whisper import set_level

    frames, answer_dbfs = answer
    said = set_level(trim_silence(make_engine("piper", deterministic=True).synthesize("Stop.")).astype(np.float32),
                     WEARER_DBFS).astype(np.float64)  # fmt: skip
    lead, onset = 60, 60 + 100  # frames: the room before the answer; the wearer's onset
    wearer = np.zeros((lead + len(frames)) * FRAME_SAMPLES)
    wearer[onset * FRAME_SAMPLES : onset * FRAME_SAMPLES + len(said)] = said
    canceller = EchoCanceller()
    scorer = FrameScorer(make_vad("silero"), None, canceller, make_vad("silero"))
    mic = Mic(Noise(level_dbfs=-55.0, color="pink"), Echo(delay_ms=2, level_db=-30, lowpass_hz=3000),
              seed=1, wearer_dbfs=WEARER_DBFS, speaker_dbfs=answer_dbfs)  # fmt: skip
    ear_decoder = OpusDecoder()
    canceller.start(7, 1)
    for f in frames:
        canceller.add_reference(7, f)
    speech = []
    for k in range(lead + len(frames)):
        if k == lead:
            canceller.on_report(control.PlaybackReport("started", 1, 0, 0))
        ear = ear_decoder.decode(frames[k - lead]) if k >= lead else np.zeros(FRAME_SAMPLES, np.int16)
        mic.hear_speaker(ear)
        speech.append(scorer.score(k, mic.capture(wearer[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES])).speech)
    heard = np.array(speech) >= VadThresholds.onset
    assert not heard[:onset].any()  # the answer's echo is never speech
    assert heard[onset : onset + 25].sum() >= 5  # the word is, for at least 100 ms
    assert scorer.onset is not None and scorer.onset.counters.inaudible_frames > 0
