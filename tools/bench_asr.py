"""`sottovoce bench asr`: a turn's streaming recognition, incremental partials against re-decoding
the whole turn for every partial, in the same run.

Each turn is fed to a ``StreamingTranscriber`` frame by frame; a partial is due every
``partial_every_s`` of new audio and runs to its end before more audio comes (as live when the
worker keeps up), then the final pass decodes the whole turn. Measured per turn: the process's
CPU seconds for its partials and for its final pass, the partial decodes and the audio they read,
and the word error rate of the final transcript and of the last partial. Turns: real recordings
from ``firmware_sim/voices/`` joined into ~8 s and ~15 s turns (one speaker's sentences after
another's, 0.3 s apart), and Piper's synthetic long requests.

    sottovoce bench asr [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sottovoce.firmware_sim.recordings import recording
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.asr import StreamingTranscriber, WhisperAsr, word_error_rate
from sottovoce.host.tts import PiperTts
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE
from sottovoce.tools.options import add_logging_option, add_options, config_from, option, setup_logging

REAL_TURNS = (
    ("ls_another_engineer", "arctic_aew_a0002"),
    ("arctic_aew_a0001", "ls_i_tell_you", "arctic_axb_a0005"),
    ("arctic_aew_a0003", "arctic_axb_a0006", "arctic_axb_a0005"),
    ("ls_another_engineer", "arctic_aew_a0002", "ls_another_door", "arctic_aew_a0003"),
)
SYNTHETIC_TURNS = (
    "Tell me about the history of Rome, and then tell me how the aqueducts carried water into the city.",
    "Remind me tomorrow at nine to call the garage about the brakes, and ask them whether the tyres are ready.",
    "What is the difference between a crocodile and an alligator, and which one lives in Florida?",
)
GAP_S = 0.3


@dataclass
class BenchAsrConfig:
    json: Path | None = option(None, "also write the figures here", type=Path, metavar="FILE")


@dataclass
class TurnFigures:
    turn: str
    mode: str  # "incremental" or "whole turn"
    audio_s: float
    partial_cpu_s: float
    final_cpu_s: float
    partial_decodes: int
    partial_audio_s: float  # audio decoded for partials, all told
    final_wer: float
    partial_wer: float  # the last partial against the whole reference


def _real_turn(ids: tuple[str, ...]) -> tuple[str, np.ndarray]:
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.int16)
    parts: list[np.ndarray] = []
    for clip in ids:
        parts += [read_wav(recording(clip).path), gap]
    return " ".join(recording(c).transcript for c in ids), np.concatenate(parts[:-1])


async def stream_turn(asr: WhisperAsr, pcm: np.ndarray) -> tuple[StreamingTranscriber, str, float, float, str]:
    """(transcriber, last partial, partial CPU s, final CPU s, final text) of one streamed turn."""
    partials: list[str] = []

    async def on_partial(text: str) -> None:
        partials.append(text)

    have = 0
    st = StreamingTranscriber(asr, lambda: pcm[:have], on_partial)
    cpu0 = time.process_time()
    for have in range(FRAME_SAMPLES, len(pcm) + 1, FRAME_SAMPLES):
        st.audio_grew(have)
        await st.caught_up()  # every partial that is due runs, as on a host that keeps up
    cpu1 = time.process_time()
    final = await st.final(pcm)
    cpu2 = time.process_time()
    return st, partials[-1] if partials else "", cpu1 - cpu0, cpu2 - cpu1, final.text


async def measure(models: dict[str, WhisperAsr], turns: list[tuple[str, str, np.ndarray]]) -> list[TurnFigures]:
    out = []
    for name, reference, pcm in turns:
        for mode, asr in models.items():
            st, partial, partial_cpu, final_cpu, final = await stream_turn(asr, pcm)
            out.append(
                TurnFigures(
                    name, mode, round(len(pcm) / SAMPLE_RATE, 2), round(partial_cpu, 2), round(final_cpu, 2),
                    st.partial_decodes, round(st.partial_audio_s, 1), round(word_error_rate(reference, final), 3),
                    round(word_error_rate(reference, partial), 3),
                )
            )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench asr", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_options(ap, BenchAsrConfig)
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    setup_logging("bench", args.log_level)
    config = config_from(BenchAsrConfig, args)
    incremental = WhisperAsr()
    models = {
        "incremental": incremental,
        "whole turn": WhisperAsr(dataclasses.replace(incremental.config, partial_span_s=0.0)),
    }
    tts = PiperTts(deterministic=True)
    turns = [("real:" + "+".join(ids), *_real_turn(ids)) for ids in REAL_TURNS]
    turns += [(f"synthetic:{i + 1}", text, tts.synthesize(text)) for i, text in enumerate(SYNTHETIC_TURNS)]
    results = asyncio.run(measure(models, turns))
    print(f"{'turn':12s} {'mode':12s} {'audio s':>7} {'partial CPU s':>13} {'final CPU s':>11} {'decodes':>7} "
          f"{'decoded s':>9} {'final WER':>9} {'partial WER':>11}")  # fmt: skip
    for i, r in enumerate(results):
        name = r.turn if r.turn.startswith("synthetic") else f"real:{i // 2 + 1}"
        print(f"{name:12s} {r.mode:12s} {r.audio_s:7.2f} {r.partial_cpu_s:13.2f} {r.final_cpu_s:11.2f} "
              f"{r.partial_decodes:7d} {r.partial_audio_s:9.1f} {r.final_wer:9.3f} {r.partial_wer:11.3f}")  # fmt: skip
    for mode in models:
        mine = [r for r in results if r.mode == mode]
        print(f"{mode}: partial CPU {sum(r.partial_cpu_s for r in mine):.2f} s in all, mean final WER "
              f"{np.mean([r.final_wer for r in mine]):.3f}, mean last-partial WER "
              f"{np.mean([r.partial_wer for r in mine]):.3f}")  # fmt: skip
    if config.json:
        config.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
