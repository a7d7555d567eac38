"""`sottovoce bench vad`: the edge's VAD (Silero) against the WebRTC VAD, on the same audio.

Audio: sentences spoken by several synthetic voices (eSpeak NG variants and Piper), laid out with
pauses, mixed with white and pink noise at several SNRs, and sent through the Opus round trip the
uplink applies. Ground truth per 20 ms frame comes from the clean speech (voiced where its level
is within 35 dB of the utterance's peak). Metrics per SNR: frame ROC-AUC (WebRTC's binary output
gives its balanced accuracy), F1 at each detector's operating point, and µs per frame.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sottovoce.edge.vad import SileroVad, Vad, WebRtcVad
from sottovoce.proto.codec import FRAME_SAMPLES, OpusDecoder, OpusEncoder, frames_of, to_int16
from sottovoce.tools.options import add_logging_option, add_options, config_from, option, setup_logging

SENTENCES = [
    "Turn left at the next corner and keep walking for two blocks.",
    "What is the weather going to be like tomorrow morning?",
    "Remind me to buy milk on the way home.",
    "How far is the nearest train station from here?",
    "Set a timer for twelve minutes please.",
    "Read me the last message from Anna.",
    "Is the pharmacy on Main Street still open?",
    "Translate thank you very much into Italian.",
]
VOICES = [("espeak", "en-us"), ("espeak", "en+f3"), ("espeak", "en-us+m3"), ("espeak", "en-029+f5"), ("piper", None)]


@dataclass
class Score:
    vad: str
    snr_db: float
    auc: float
    f1: float
    us_per_frame: float


def build_track(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Clean speech with pauses (float32) and its per-frame speech labels."""
    from sottovoce.host.tts import EspeakTts, PiperTts

    rng = np.random.default_rng(seed)
    engines = {"espeak": EspeakTts(), "piper": PiperTts()}
    pieces, labels = [], []
    for i, sentence in enumerate(SENTENCES):
        engine, voice = VOICES[i % len(VOICES)]
        speech = engines[engine].synthesize(sentence, voice=voice).astype(np.float32) / 32768.0
        speech *= 0.25 / max(1e-6, np.abs(speech).max())
        pause = np.zeros(int(rng.uniform(0.4, 1.5) * 16000), dtype=np.float32)
        for chunk, is_speech in ((pause, False), (speech, True)):
            frames = frames_of(to_int16(chunk))
            pieces += frames
            if is_speech:
                level = np.array([np.sqrt(np.mean((f / 32768.0) ** 2)) + 1e-9 for f in frames])
                labels += list(20 * np.log10(level) > 20 * np.log10(level.max()) - 35)
            else:
                labels += [False] * len(frames)
    return np.concatenate(pieces).astype(np.float32) / 32768.0, np.array(labels)


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))  # 1/f power
    pink = np.fft.irfft(spectrum, n).astype(np.float32)
    return pink / pink.std()


def mix(clean: np.ndarray, labels: np.ndarray, snr_db: float, kind: str, rng) -> np.ndarray:
    speech_power = np.mean(clean.reshape(-1, FRAME_SAMPLES)[labels] ** 2)
    n = noise(kind, len(clean), rng)
    return clean + n * np.sqrt(speech_power / 10 ** (snr_db / 10))


def opus_round_trip(audio: np.ndarray) -> list[np.ndarray]:
    enc, dec = OpusEncoder(), OpusDecoder()
    return [dec.decode(enc.encode(f)) for f in frames_of(to_int16(audio))]


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability a random speech frame scores above a random non-speech frame (ties count half)."""
    pos, neg = scores[labels], scores[~labels]
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    allscores = np.concatenate([pos, neg])
    for value in np.unique(allscores):  # average ranks of ties
        tied = allscores == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def f1(pred: np.ndarray, labels: np.ndarray) -> float:
    tp = np.sum(pred & labels)
    return float(2 * tp / max(1, 2 * tp + np.sum(pred & ~labels) + np.sum(~pred & labels)))


def score(vad: Vad, frames: list[np.ndarray], labels: np.ndarray, snr: float) -> Score:
    vad.reset()
    start = time.perf_counter()
    probs = np.array([vad.process(f) for f in frames])
    elapsed = time.perf_counter() - start
    return Score(vad.name, snr, round(auc(probs, labels), 3), round(f1(probs >= 0.5, labels), 3),
                 round(elapsed / len(frames) * 1e6, 1))  # fmt: skip


@dataclass
class BenchVadConfig:
    json: Path | None = option(None, "also write the results here", type=Path, metavar="FILE")
    seed: int = option(7, "seed of the noise and the track's layout")
    snr: tuple[float, ...] = (20.0, 10.0, 5.0, 0.0)  # signal-to-noise ratios in dB (--snr, several values)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench vad", description=__doc__)
    add_options(ap, BenchVadConfig)
    ap.add_argument("--snr", type=float, nargs="+", default=list(BenchVadConfig.snr), metavar="DB",
                    help="signal-to-noise ratios in dB (default: %(default)s)")  # fmt: skip
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    setup_logging("bench", args.log_level)
    config = config_from(BenchVadConfig, args, snr=tuple(args.snr))

    rng = np.random.default_rng(config.seed)
    clean, labels = build_track(config.seed)
    vads: list[Vad] = [SileroVad(), WebRtcVad(aggressiveness=2)]
    results: list[Score] = []
    for snr in config.snr:
        for kind in ("white", "pink"):
            frames = opus_round_trip(mix(clean, labels, snr, kind, rng))
            for vad in vads:
                s = score(vad, frames, labels, snr)
                s.vad = f"{vad.name}/{kind}"
                results.append(s)
    print(f"{len(labels)} frames ({len(labels) * 0.02:.0f} s), {labels.mean():.0%} speech, Opus round trip")
    print(f"{'detector/noise':18} {'SNR dB':>7} {'ROC-AUC':>8} {'F1':>6} {'µs/frame':>9}")
    for s in results:
        print(f"{s.vad:18} {s.snr_db:7.0f} {s.auc:8.3f} {s.f1:6.3f} {s.us_per_frame:9.1f}")
    if config.json:
        config.json.write_text(json.dumps([asdict(s) for s in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
