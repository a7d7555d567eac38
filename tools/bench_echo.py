"""`sottovoce bench echo`: the edge's echo cancellation on vs off, at echo levels up to +12 dB.

Per echo level (relative to the wearer's speech level at the mic) the same track is played twice,
once through the edge's ``EchoCanceller`` and once without it: three whispered answers go down
as Opus and play in the ear; the simulator's mic (``firmware_sim.mic.Mic``: echo path, pink
noise) hears them, the uplink's Opus round trip carries the frame to the edge, and the edge's VAD
reads it. The first two answers are far-end only; in the third the wearer talks over the answer
(double talk). The device's "started" report reaches the edge ``report_lag`` frames after the
answer starts, as over a real link.

The frames are scored as the edge scores them (``FrameScorer``: canceller, VAD, onset cue).
Measured: self-interruptions (far-end-only speech the VAD holds for the barge-in time, which
would stop the answer), ducks the echo alone causes (far-end-only frames the VAD or the onset
cue takes for the wearer, runs closer than the arbiter's restore time counted once), ERLE and
residual echo over the far-end-only frames (over the first second of each level's first answer,
and over the rest, which shows convergence), the delay the canceller estimated, whether and how
fast the wearer's double talk is still heard, and how soon it would duck the answer.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sottovoce.edge.arbiter import BARGE_IN_MS, RESTORE_AFTER_MS
from sottovoce.edge.echo import EchoCanceller
from sottovoce.edge.scorer import FrameScorer
from sottovoce.edge.turn import VadThresholds
from sottovoce.edge.vad import Vad, make_vad
from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.scenario import ECHO_COLORINGS, Echo, Noise
from sottovoce.proto import control
from sottovoce.proto.codec import (
    DOWNLINK_CONFIG,
    FRAME_MS,
    FRAME_SAMPLES,
    OpusDecoder,
    OpusEncoder,
    frames_of,
)
from sottovoce.tools.options import add_logging_option, add_options, config_from, option, setup_logging

ANSWERS = [
    "It is sunny today, with a high of twenty two degrees and a light breeze from the west.",
    "Your next meeting is at three o'clock with Anna, in the small room on the second floor.",
    "The pharmacy on Main Street closes at eight tonight, and it is a five minute walk from here.",
]
WEARER = "Wait, what about tomorrow morning?"
GAP_S = 1.0  # silence between answers
# The wearer's voice at the mic: loud enough for the VAD, with room for an echo 12 dB louder to
# stay clear of clipping (a clipped echo is no longer the reference's linear image).
WEARER_DBFS = -32.0
TALK_OVER_S = 1.5  # the wearer starts this long into the last answer
NOISE_DBFS = -55.0  # a quiet room's pink noise at the mic, as in the demo scenario
FULL_SCALE = 32768.0


@dataclass
class BenchEchoConfig:
    json: Path | None = option(None, "also write the results here", type=Path, metavar="FILE")
    delay_ms: float = option(2.0, "acoustic delay from the ear speaker to the mic")
    coloring: str = option("linear", "echo path: linear, or bone conduction (soft clipping, resonance)",
                           choices=ECHO_COLORINGS)  # fmt: skip
    report_lag: int = option(1, "frames between the answer starting and the edge hearing its report")
    seed: int = option(3, "seed of the noise")
    levels: tuple[float, ...] = (-12.0, -6.0, 0.0, 6.0, 12.0)  # echo dB relative to the wearer (--levels)


@dataclass
class Track:
    """What plays and what is said, on one 20 ms frame timeline."""

    answers: list[tuple[int, list[bytes]]]  # (first frame, Opus frames) per answer
    wearer: np.ndarray  # float, int16 scale, one value per sample of the timeline
    wearer_span: tuple[int, int]  # frames of the wearer's speech
    wearer_dbfs: float
    answer_dbfs: float
    frames: int


@dataclass
class Result:
    level_db: float
    aec: bool
    self_interruptions: int  # far-end-only stretches the VAD held for the barge-in time
    far_end_speech_frames: int  # far-end-only frames the VAD called speech
    erle_db: float  # over all far-end-only frames
    erle_first_s_db: float  # the first second of the first answer (convergence)
    erle_converged_db: float  # the rest
    residual_dbfs: float
    delay_ms: int  # the canceller's estimate (-1: none, or AEC off)
    double_talk_heard: bool
    double_talk_detect_ms: int | None  # wearer's onset -> the VAD's barge-in-length run begins
    echo_ducks: int = 0  # ducks of the answer by its own echo (VAD or onset cue)
    echo_ducks_on_cue: int = 0  # ... of them begun by the onset cue
    double_talk_duck_ms: int | None = None  # wearer's onset -> the first frame that would duck (VAD or cue)


def build_track(seed: int = 0) -> Track:
    """Three whispered answers (Piper, at the host's whisper level) and the wearer's talk-over."""
    from sottovoce.host.tts import make_engine, trim_silence
    from sottovoce.host.whisper import WhisperVoice, active_rms_dbfs, set_level

    del seed
    engine = make_engine("piper", deterministic=True)
    voice = WhisperVoice(engine)
    encoder = OpusEncoder(DOWNLINK_CONFIG)
    answers, at = [], 0
    gap = round(GAP_S * 1000 / FRAME_MS)
    spoken = [voice.speak(text, ambient_dbfs=NOISE_DBFS) for text in ANSWERS]
    for audio in spoken:
        frames = [encoder.encode(f) for f in frames_of(audio)]
        answers.append((at, frames))
        at += len(frames) + gap
    said = set_level(trim_silence(engine.synthesize(WEARER)).astype(np.float32), WEARER_DBFS).astype(np.float64)
    wearer = np.zeros(at * FRAME_SAMPLES)
    onset = answers[-1][0] + round(TALK_OVER_S * 1000 / FRAME_MS)
    wearer[onset * FRAME_SAMPLES : onset * FRAME_SAMPLES + len(said)] = said
    span = (onset, onset + math.ceil(len(said) / FRAME_SAMPLES))
    answer_dbfs = active_rms_dbfs(np.concatenate(spoken))
    return Track(answers, wearer, span, active_rms_dbfs(said.astype(np.int16)), answer_dbfs, at)


def long_runs(flags: np.ndarray, min_frames: int) -> list[int]:
    """First frames of the runs of True at least ``min_frames`` long."""
    starts, run = [], 0
    for i, flag in enumerate(flags):
        run = run + 1 if flag else 0
        if run == min_frames:
            starts.append(i - min_frames + 1)
    return starts


def duck_runs(flags: np.ndarray, gap_frames: int) -> list[int]:
    """First frames of the runs of True, runs less than ``gap_frames`` apart counted as one (an
    answer ducked stays down until its restore)."""
    starts, last = [], None
    for i in np.flatnonzero(flags):
        if last is None or i - last > gap_frames:
            starts.append(int(i))
        last = i
    return starts


def erle_db(mic_power: np.ndarray, out_power: np.ndarray) -> float:
    if len(mic_power) == 0:
        return float("nan")
    return round(10 * math.log10(max(float(mic_power.sum()), 1e-9) / max(float(out_power.sum()), 1e-9)), 1)


def run_level(
    track: Track, level_db: float, aec: bool, config: BenchEchoConfig, vad: Vad, raw_vad: Vad | None = None
) -> Result:
    """One pass over the track at one echo level, with or without the canceller."""
    echo = Echo(delay_ms=config.delay_ms, level_db=level_db, lowpass_hz=3000.0, coloring=config.coloring)
    mic = Mic(Noise(level_dbfs=NOISE_DBFS, color="pink"), echo, seed=config.seed, wearer_dbfs=track.wearer_dbfs,
              speaker_dbfs=track.answer_dbfs)  # fmt: skip
    canceller = EchoCanceller() if aec else None
    uplink_enc, uplink_dec = OpusEncoder(), OpusDecoder()
    vad.reset()
    if raw_vad is not None:
        raw_vad.reset()
    scorer = FrameScorer(vad, None, canceller, raw_vad)
    playing: dict[int, int] = {}  # frame -> answer index
    for i, (start, frames) in enumerate(track.answers):
        playing.update({start + j: i for j in range(len(frames))})
    speaker_dec = {i: OpusDecoder() for i in range(len(track.answers))}
    starts = {start: i for i, (start, _) in enumerate(track.answers)}
    ends = {start + len(frames): i for i, (start, frames) in enumerate(track.answers)}
    mic_power, out_power, speech = (np.zeros(track.frames) for _ in range(3))
    cue = np.zeros(track.frames, dtype=bool)
    for k in range(track.frames):
        if k in starts and canceller is not None:
            i = starts[k]
            canceller.start(i, i + 1)
            for f in track.answers[i][1]:
                canceller.add_reference(i, f)
        if canceller is not None and k - config.report_lag in starts:
            canceller.on_report(control.PlaybackReport("started", starts[k - config.report_lag] + 1, 0, 0))
        if canceller is not None and k - config.report_lag in ends:
            i = ends[k - config.report_lag]
            canceller.on_report(control.PlaybackReport("finished", i + 1, len(track.answers[i][1]) * FRAME_SAMPLES, 0))
        ear = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        if k in playing:
            i = playing[k]
            ear = speaker_dec[i].decode(track.answers[i][1][k - track.answers[i][0]])
        mic.hear_speaker(ear)
        near = track.wearer[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES]
        captured = mic.capture(near)
        pcm = uplink_dec.decode(uplink_enc.encode(captured))
        frame = scorer.score(k, pcm)
        speech[k], cue[k] = frame.speech, frame.onset
        mic_power[k] = np.mean(pcm.astype(np.float64) ** 2)
        out_power[k] = mic_power[k] if canceller is None else FULL_SCALE**2 * 10 ** (canceller.last_dbfs[1] / 10)
    far_only = np.zeros(track.frames, dtype=bool)
    far_only[list(playing)] = True
    w0, w1 = track.wearer_span
    far_only[w0 : w1 + round(300 / FRAME_MS)] = False  # the wearer's words and their tail
    voiced = speech >= VadThresholds.onset
    barge = BARGE_IN_MS // FRAME_MS
    self_runs = long_runs(voiced & far_only, barge)
    first = track.answers[0][0]
    first_s = np.zeros(track.frames, dtype=bool)
    first_s[first : first + 1000 // FRAME_MS] = True
    talk_runs = [s for s in long_runs(voiced, barge) if w0 - barge <= s < w1]
    echo_ducks = duck_runs((voiced | cue) & far_only, RESTORE_AFTER_MS // FRAME_MS)
    talk_ducks = [s for s in duck_runs(voiced | cue, RESTORE_AFTER_MS // FRAME_MS) if w0 - barge <= s < w1]
    return Result(
        level_db=level_db,
        aec=aec,
        self_interruptions=len(self_runs),
        far_end_speech_frames=int(np.count_nonzero(voiced & far_only)),
        erle_db=erle_db(mic_power[far_only], out_power[far_only]),
        erle_first_s_db=erle_db(mic_power[far_only & first_s], out_power[far_only & first_s]),
        erle_converged_db=erle_db(mic_power[far_only & ~first_s], out_power[far_only & ~first_s]),
        residual_dbfs=round(10 * math.log10(max(float(out_power[far_only].mean()), 1e-9) / FULL_SCALE**2), 1),
        delay_ms=canceller.counters.delay_ms if canceller is not None else -1,
        double_talk_heard=bool(talk_runs),
        double_talk_detect_ms=(talk_runs[0] - w0) * FRAME_MS + BARGE_IN_MS if talk_runs else None,
        echo_ducks=len(echo_ducks),
        echo_ducks_on_cue=sum(1 for s in echo_ducks if not voiced[s]),
        double_talk_duck_ms=(talk_ducks[0] - w0) * FRAME_MS if talk_ducks else None,
    )


def table(results: list[Result]) -> str:
    lines = [
        f"{'echo dB':>7} {'AEC':>4} {'self-int':>8} {'ERLE':>6} {'1st s':>6} {'after':>6} {'resid dBFS':>10} "
        f"{'delay ms':>8} {'double talk':>11} {'echo ducks (cue)':>16} {'talk ducked':>11}"
    ]
    for r in results:
        heard = f"{r.double_talk_detect_ms} ms" if r.double_talk_heard else "missed"
        ducked = f"{r.double_talk_duck_ms} ms" if r.double_talk_duck_ms is not None else "never"
        lines.append(
            f"{r.level_db:+7.0f} {'on' if r.aec else 'off':>4} {r.self_interruptions:8d} {r.erle_db:6.1f} "
            f"{r.erle_first_s_db:6.1f} {r.erle_converged_db:6.1f} {r.residual_dbfs:10.1f} "
            f"{r.delay_ms if r.aec else '-':>8} {heard:>11} {f'{r.echo_ducks} ({r.echo_ducks_on_cue})':>16} "
            f"{ducked:>11}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench echo", description=__doc__)
    add_options(ap, BenchEchoConfig)
    ap.add_argument("--levels", type=float, nargs="+", default=list(BenchEchoConfig.levels), metavar="DB",
                    help="echo levels relative to the wearer's, dB (default: %(default)s)")  # fmt: skip
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    setup_logging("bench", args.log_level)
    config = config_from(BenchEchoConfig, args, levels=tuple(args.levels))
    track = build_track(config.seed)
    vad, raw_vad = make_vad("silero"), make_vad("silero")
    results = [run_level(track, level, aec, config, vad, raw_vad) for level in config.levels for aec in (True, False)]
    print(
        f"{track.frames * FRAME_MS / 1000:.0f} s track: {len(track.answers)} whispered answers, the wearer "
        f"({track.wearer_dbfs:.1f} dBFS) over the last; echo path {config.coloring}, {config.delay_ms:g} ms"
    )
    print(table(results))
    if config.json:
        config.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
