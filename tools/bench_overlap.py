"""`sottovoce bench overlap`: speech over an answer read by its words alone vs by words and sound.

Every committed real clip of kind backchannel, nonverbal (coughs, laughs), interruption and
command (``firmware_sim/voices``), and Piper and eSpeak NG saying backchannels and interruptions,
go through the Opus uplink and the host's reading of an overlap (``host.overlap``): Whisper's
words judged alone, and the same words with the sound's measures (``host.overlap_sound``). The
wearer's own speaking level is not known here (a session learns it from their turns), so loudness
plays no part: these figures are what the sound's shape adds on its own.

The host reads the uplink as the device sent it, without the edge's echo cancellation, so
``--echo-db`` lays the assistant's whispered answer under each clip (its level against the clip's
speech; the edge ducks the answer by 20 dB or more at the wearer's onset, so -10 dB is a strong
leak), and ``--noise-dbfs`` adds pink ambient noise.

Reported per judge: the backchannel false-interruption rate (backchannels and nonverbal sounds
read as interruptions), command recall (interruptions and commands read as interruptions), and
how many of each were left ``unsure`` (the edge then decides by length). Thresholds were chosen
on these same clips: the figures are not held out.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sottovoce.firmware_sim.recordings import recordings
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.overlap import OverlapKind, judge_overlap, judge_overlap_result
from sottovoce.host.overlap_sound import classify, measure
from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.tools.options import add_logging_option, add_options, config_from, option, setup_logging

BACKCHANNEL_KINDS = ("backchannel", "nonverbal")
INTERRUPTION_KINDS = ("interruption", "command")
SYNTHETIC = {
    "backchannel": ["Mm-hm.", "Yeah.", "Okay.", "Uh-huh.", "I see."],
    "interruption": ["Stop.", "Wait.", "No.", "Hold on.", "Wait, what about tomorrow?"],
}
JUDGES = ("words", "words+sound")


@dataclass(frozen=True)
class BenchOverlapConfig:
    json: Path | None = option(None, "also write the results here", type=Path, metavar="FILE")
    margin_ms: int = option(100, "silence around each clip, as the edge's query slice has around the speech")
    echo_db: float | None = option(None, "the whispered answer under each clip, dB against the clip's speech",
                                   type=float, metavar="DB")  # fmt: skip
    noise_dbfs: float | None = option(None, "pink ambient noise under each clip", type=float, metavar="DBFS")
    seed: int = option(5, "seed of the noise")


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # "real", "piper" or "espeak"
    kind: str  # the clip's kind in the manifest, or the synthetic phrase's
    pcm: np.ndarray

    @property
    def expected(self) -> OverlapKind:
        return OverlapKind.BACKCHANNEL if self.kind in BACKCHANNEL_KINDS else OverlapKind.INTERRUPTION


@dataclass(frozen=True)
class Row:
    name: str
    source: str
    kind: str
    expected: str
    text: str
    confidence: float
    sound: str
    words: str  # the verdict from the words alone
    combined: str  # from words and sound
    reason: str


def cases() -> list[Case]:
    from sottovoce.host.tts import EspeakTts, PiperTts

    out = [
        Case(r.id, "real", r.kind, read_wav(r.path))
        for r in sorted(recordings().values(), key=lambda r: (r.kind, r.id))
        if r.kind in BACKCHANNEL_KINDS + INTERRUPTION_KINDS
    ]
    engines = {"piper": PiperTts(), "espeak": EspeakTts()}
    for kind, phrases in SYNTHETIC.items():
        for phrase in phrases:
            for name, engine in engines.items():
                out.append(Case(f"{name}: {phrase}", name, kind, engine.synthesize(phrase)))
    return out


ANSWER = "The forecast says light rain in the afternoon, clearing by the evening, with a high of fourteen degrees."


def under(pcm: np.ndarray, config: BenchOverlapConfig, answer: np.ndarray | None, rng: np.random.Generator):
    """The clip with silence around it, and the answer's echo and ambient noise under it, if asked."""
    from sottovoce.host.whisper import active_rms_dbfs
    from sottovoce.proto.codec import to_int16
    from sottovoce.tools.bench_vad import noise

    pad = np.zeros(config.margin_ms * SAMPLE_RATE // 1000, dtype=np.int16)
    x = np.concatenate([pad, pcm, pad]).astype(np.float64) / 32768.0
    if answer is not None and config.echo_db is not None:
        start = int(rng.integers(0, max(1, len(answer) - len(x))))
        echo = np.resize(answer[start:], len(x)).astype(np.float64) / 32768.0
        gain_db = active_rms_dbfs(pcm) + config.echo_db - active_rms_dbfs(answer)
        x = x + echo * 10 ** (gain_db / 20)
    if config.noise_dbfs is not None:
        x = x + noise("pink", len(x), rng) * 10 ** (config.noise_dbfs / 20)
    return to_int16(x.astype(np.float32))


def read(case: Case, asr, config: BenchOverlapConfig, answer: np.ndarray | None, rng: np.random.Generator) -> Row:
    from sottovoce.tools.turn.corpus import opus_round_trip

    pcm = opus_round_trip(under(case.pcm, config, answer, rng))
    result = asr.transcribe(pcm)
    sound = classify(measure(pcm), None)
    words = judge_overlap(result.text, result.confidence)
    combined = judge_overlap_result(result, sound)
    return Row(case.name, case.source, case.kind, case.expected.value, result.text, round(result.confidence, 2),
               sound.kind.value, words.kind.value, combined.kind.value, combined.reason)  # fmt: skip


def summary(rows: list[Row]) -> dict[str, dict[str, float | int]]:
    out: dict[str, dict[str, float | int]] = {}
    for judge in JUDGES:
        verdicts = {r.name: (r.words if judge == "words" else r.combined) for r in rows}
        bc = [r for r in rows if r.expected == OverlapKind.BACKCHANNEL.value]
        intr = [r for r in rows if r.expected == OverlapKind.INTERRUPTION.value]
        false_stops = sum(verdicts[r.name] == "interruption" for r in bc)
        caught = sum(verdicts[r.name] == "interruption" for r in intr)
        out[judge] = {
            "backchannels": len(bc),
            "false_interruptions": false_stops,
            "false_interruption_rate": round(false_stops / max(1, len(bc)), 3),
            "backchannels_unsure": sum(verdicts[r.name] == "unsure" for r in bc),
            "interruptions": len(intr),
            "caught": caught,
            "command_recall": round(caught / max(1, len(intr)), 3),
            "interruptions_unsure": sum(verdicts[r.name] == "unsure" for r in intr),
            "interruptions_missed": sum(verdicts[r.name] == "backchannel" for r in intr),
        }
    return out


def table(rows: list[Row], totals: dict[str, dict[str, float | int]]) -> str:
    lines = [f"{'clip':32} {'kind':12} {'whisper':30} {'conf':>4}  {'sound':9} {'words':12} {'words+sound':12}"]
    for r in rows:
        mark = "" if r.combined == r.expected else "  <- " + ("unsure" if r.combined == "unsure" else "wrong")
        lines.append(f"{r.name[:32]:32} {r.kind:12} {r.text[:30]!r:30} {r.confidence:4.2f}  {r.sound:9} "
                     f"{r.words:12} {r.combined:12}{mark}")  # fmt: skip
    lines.append("")
    lines.append(f"{'judge':12} {'backchannel false-interruption':>31} {'unsure':>7}   {'command recall':>15} "
                 f"{'unsure':>7} {'missed':>7}")  # fmt: skip
    for judge, t in totals.items():
        lines.append(
            f"{judge:12} {t['false_interruptions']:>4}/{t['backchannels']:<3} = {t['false_interruption_rate']:5.1%}"
            f"{'':13} {t['backchannels_unsure']:>7}   {t['caught']:>4}/{t['interruptions']:<3} = "
            f"{t['command_recall']:5.1%} {t['interruptions_unsure']:>7} {t['interruptions_missed']:>7}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from sottovoce.host.asr import WhisperAsr

    ap = argparse.ArgumentParser(prog="sottovoce bench overlap", description=__doc__)
    add_options(ap, BenchOverlapConfig)
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    setup_logging("bench", args.log_level)
    config = config_from(BenchOverlapConfig, args)
    answer = None
    if config.echo_db is not None:
        from sottovoce.host.tts import PiperTts
        from sottovoce.host.whisper import WhisperVoice

        answer = WhisperVoice(PiperTts()).speak(ANSWER)
    rng = np.random.default_rng(config.seed)
    asr = WhisperAsr()
    try:
        rows = [read(case, asr, config, answer, rng) for case in cases()]
    finally:
        asr.close()
    totals = summary(rows)
    heard = [f"echo {config.echo_db:+g} dB" if config.echo_db is not None else "no echo",
             f"noise {config.noise_dbfs:g} dBFS" if config.noise_dbfs is not None else "no noise"]  # fmt: skip
    print(f"Opus uplink, {', '.join(heard)}; the wearer's speaking level unknown")
    print(table(rows, totals))
    if config.json:
        config.json.write_text(json.dumps({"summary": totals, "clips": [asdict(r) for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
