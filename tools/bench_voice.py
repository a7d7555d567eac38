"""`sottovoce bench voice`: the whispered voices against the plain Piper voice they are made from.

For a few assistant sentences, each rendering is measured on: voicing (share of active frames
whose LPC residual is periodic at pitch lags; 0 means no vocal-fold vibration at all), spectral
flatness of the residual (~0.56 for pure noise excitation), intelligibility (word error rate of
Whisper tiny.en on the rendered audio) and the rendering's CPU time per second of audio. The plain
voice is the baseline: a whisper must lose its voicing and keep its words.

    sottovoce bench voice [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sottovoce.host.asr import WhisperAsr, word_error_rate
from sottovoce.host.tts import EspeakTts, PiperTts, trim_silence
from sottovoce.host.whisper import WhisperVoice, active_rms_dbfs, spectral_flatness, voicing
from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.tools.options import add_logging_option, add_options, config_from, option, setup_logging

SENTENCES = (
    "It's three fifteen in the afternoon.",
    "Okay, a five minute timer, starting now.",
    "Twelve times seven is eighty-four.",
    "Your glasses are at fifty-seven percent.",
    "Sorry, I can't help with that yet.",
)


@dataclass
class BenchVoiceConfig:
    json: Path | None = option(None, "also write the figures here", type=Path, metavar="FILE")


@dataclass
class VoiceFigures:
    name: str
    voicing: float
    flatness: float
    wer: float
    ms_per_audio_s: float  # rendering CPU time per second of audio
    level_dbfs: float  # active level of the last sentence


def measure(name: str, render: Callable[[str], np.ndarray], asr: WhisperAsr) -> VoiceFigures:
    v, f, wer, secs, audio_s = [], [], [], 0.0, 0.0
    pcm = np.zeros(0, dtype=np.int16)
    for text in SENTENCES:
        t0 = time.perf_counter()
        pcm = render(text)
        secs += time.perf_counter() - t0
        audio_s += len(pcm) / SAMPLE_RATE
        v.append(voicing(pcm))
        f.append(spectral_flatness(pcm))
        wer.append(word_error_rate(text, asr.transcribe(pcm).text))
    return VoiceFigures(name, round(float(np.mean(v)), 2), round(float(np.mean(f)), 2), round(float(np.mean(wer)), 2),
                        round(1000 * secs / audio_s), round(active_rms_dbfs(pcm), 1))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench voice", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_options(ap, BenchVoiceConfig)
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    setup_logging("bench", args.log_level)
    config = config_from(BenchVoiceConfig, args)
    asr = WhisperAsr()
    piper, espeak = PiperTts(), EspeakTts()
    renders: dict[str, Callable[[str], np.ndarray]] = {
        "piper (plain)": lambda t: trim_silence(piper.synthesize(t)),
        "piper + lpc": WhisperVoice(piper).speak,
        "espeak +whisper": WhisperVoice(espeak).speak,
    }
    results = [measure(name, render, asr) for name, render in renders.items()]
    print(f"{'voice':16s} {'voicing':>7} {'flatness':>8} {'WER':>5} {'ms per s':>8} {'level dBFS':>10}")
    for r in results:
        print(
            f"{r.name:16s} {r.voicing:7.2f} {r.flatness:8.2f} {r.wer:5.2f} {r.ms_per_audio_s:8.0f} {r.level_dbfs:10.1f}"
        )
    if config.json:
        config.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
