"""``sottovoce bench turn``: the learned end-of-turn model against fixed silence timeouts.

The held-out set is regenerated from the corpus tools at bench time (deterministic: eSpeak NG
voices and sentence templates that never enter training, fixed seed; cached under .cache/turn),
so the bench needs neither TensorFlow nor committed audio. Every policy sees the same Opus-
decoded frames and the same Silero VAD probabilities, read with the same speech/silence
hysteresis (the model's, from ``turn_model.json``), so only the end-of-turn rule differs.
``--voices piper`` swaps the held-out eSpeak voices for the neural Piper voice the demo speaks
with, on the same held-out sentences; training hears that voice too (it is the only one shipped),
so that set holds out sentences only.

``--set real`` scores the same policies on recordings of real people instead
(``sottovoce.tools.turn.real_set``: committed, labelled with their measured pauses, split by
speaker): the ``eval`` speakers by default, ``--split dev`` or ``all`` for the others. Its
``by_kind`` adds each policy's figures per kind of turn (request, paused, numbers, ...).

Metrics (precise definitions in ``sottovoce.tools.turn.evaluate``):
- ``false_cutoff_at_300ms``: share of mid-turn pauses in which the policy confirmed the end of
  the turn within 300 ms of the pause starting (ends called mid-speech count too);
  ``ends_within_300ms``: share of true ends confirmed within 300 ms of the last word.
- ``false_cutoff_rate`` / ``median_latency_s``: at the policy's own operating point, over the
  whole pause; latency = end of the last word to the confirmed end.
- ``median_latency_at_5pct_s``: the model's confirm threshold is swept and the lowest median
  latency with <= 5 % false cut-offs is reported (with the threshold). A fixed silence rule has
  no knob, so it gets its own latency only if its false cut-off rate is <= 5 %, else null;
  ``silence_best`` is the shortest silence timeout that does stay within 5 %.
- ``median_answer_s`` / ``mean_answer_s``: the estimated wait for the answer's first sound, the
  host starting its work at the tentative end and needing ``ANSWER_PREP_MS`` for it.
- ``by_shape``: the false cut-off rate and answer latencies of one-sentence turns and of turns
  whose last chunk follows a pause, apart (``evaluate.turn_shape``): the medians above are mostly
  the latter's, while an assistant mostly hears the former.
- ``us_per_frame``: features + model step + policy for one 20 ms frame (VAD excluded; it is
  shared by every policy), averaged over the held-out frames. ``size_bytes``: the .tflite file.
- ``model_with_words`` (``--words``): the model policy as deployed with a host, which after each
  tentative end runs the real final ASR pass (faster-whisper tiny.en) on the audio so far and
  reads the words (``sottovoce.host.completeness``, with the language model's end-of-utterance
  probability, ``sottovoce.host.end_of_utterance``); a sure reading, complete or unfinished,
  reaches the policy after the measured recognition time, and an end the model alone is sure of
  waits for it. Needs the ``host`` extra; adds an ASR pass and a reading per tentative end
  (``asr_median_s``, ``eou_median_ms``: their median times). Its ``recovered``:
  the turns the host's ledger repairs after a cut-off, the share of their words the answered
  span keeps (``evaluate.recovered_words``), and the turns answered in parts.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sottovoce.edge.end_rules import ModelPolicy, SilencePolicy
from sottovoce.edge.turn_model import TurnModel
from sottovoce.tools.options import add_logging_option, add_options, config_from, option, setup_logging
from sottovoce.tools.turn import evaluate as ev
from sottovoce.tools.turn import real_set
from sottovoce.tools.turn.corpus import Turn, corpus

HELD_OUT_SEED = 20261125
HELD_OUT_TURNS = 300
SILENCE_RULES_MS = (200, 500, 800)
SILENCE_SWEEP_MS = tuple(range(200, 1601, 50))


def _num(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 4)


def _summary(o: ev.Outcome) -> dict:
    return {
        "false_cutoff_at_300ms": _num(o.false_cutoff_at_budget),
        "ends_within_300ms": _num(o.ends_within_budget),
        "false_cutoff_rate": _num(o.false_cutoff_rate),
        "false_cutoff_unrepaired": _num(o.unrepaired_cutoff_rate),
        "median_latency_s": _num(o.median_latency_s),
        "mean_latency_s": _num(o.mean_latency_s),
        "median_answer_s": _num(o.median_answer_s),
        "mean_answer_s": _num(o.mean_answer_s),
    }


def _by_shape(groups: dict[str, ev.Outcome]) -> dict:
    return {
        shape: {
            "turns": len(o.latencies),
            "pauses": o.pauses,
            "false_cutoff_rate": _num(o.false_cutoff_rate),
            "median_latency_s": _num(o.median_latency_s),
            "median_answer_s": _num(o.median_answer_s),
            "mean_answer_s": _num(o.mean_answer_s),
        }
        for shape, o in groups.items()
    }


def us_per_frame(model: TurnModel, episodes: list[ev.Episode], max_frames: int = 6000) -> float:
    policy = ModelPolicy.from_meta(model.meta)
    n, elapsed = 0, 0.0
    for e in episodes:
        start = time.perf_counter()
        for _ in ev.replay_signals(policy, e, model=model, live=True):
            pass
        elapsed += time.perf_counter() - start
        n += len(e.frames)
        if n >= max_frames:
            break
    return elapsed / n * 1e6


def run(
    n: int = HELD_OUT_TURNS,
    seed: int = HELD_OUT_SEED,
    model_path: Path | None = None,
    words: bool = False,
    split: str = "test",
    log=print,
) -> dict:
    """The synthetic held-out set: ``n`` turns of ``split`` rendered from ``seed``."""
    t0 = time.perf_counter()
    turns = corpus(split, n, seed)
    log(f"held-out set ({split}): {len(turns)} turns ({time.perf_counter() - t0:.1f} s); running Silero VAD")
    held_out = {"set": "synthetic", "split": split, "turns": len(turns), "seed": seed,
                "voices": len({t.script.voice.name for t in turns})}  # fmt: skip
    return score_turns(turns, held_out, model_path, words, log=log, started=t0)


def run_real(
    split: str = "eval", n: int | None = None, model_path: Path | None = None, words: bool = False, log=print
) -> dict:
    """The real-speech set: the turns of ``split`` (its first ``n``, if given), each policy's
    figures per kind of turn too."""
    t0 = time.perf_counter()
    chosen = real_set.real_set().split(split)[:n]
    turns = real_set.rendered(chosen)
    log(f"real set ({split}): {len(turns)} turns ({time.perf_counter() - t0:.1f} s); running Silero VAD")
    kinds = {id(t): r.kind for t, r in zip(turns, chosen, strict=True)}
    held_out = {"set": "real", "split": split, "turns": len(turns), "speakers": len({r.speaker for r in chosen}),
                "kinds": dict(sorted(Counter(kinds.values()).items()))}  # fmt: skip
    return score_turns(turns, held_out, model_path, words, by_kind=lambda e: kinds[id(e.turn)], log=log, started=t0)


def score_turns(
    turns: list[Turn],
    held_out: dict,
    model_path: Path | None = None,
    words: bool = False,
    by_kind: Callable[[ev.Episode], str] | None = None,
    log=print,
    started: float | None = None,
) -> dict:
    """The model and the silence rules on ``turns`` (``held_out`` describes them in the result);
    with ``by_kind``, each named policy's figures per group it names."""
    t0 = time.perf_counter() if started is None else started
    episodes = ev.prepare(turns)
    model = TurnModel(model_path)

    policy = ModelPolicy.from_meta(model.meta)
    vad = policy.vad
    default, default_shapes = ev.evaluate_by(policy, episodes, ev.turn_shape, model=model)
    sweep = ev.sweep_model(model, episodes, ev.DEFAULT_THRESHOLDS)
    best = ev.best_under(sweep)
    result: dict = {
        "held_out": {**held_out, "pauses": default.pauses, "vad": {"onset": vad.onset, "offset": vad.offset}},
        "model": {
            **_summary(default),
            "median_latency_at_5pct_s": _num(best[1].median_latency_s) if best else None,
            "threshold_at_5pct": best[0] if best else None,
            "confirm_threshold": policy.confirm,
            "us_per_frame": round(us_per_frame(model, episodes), 1),
            "size_bytes": model.size_bytes,
            "by_shape": _by_shape(default_shapes),
        },
        "model_sweep": [
            {
                "threshold": th,
                "false_cutoff_rate": _num(o.false_cutoff_rate),
                "median_latency_s": _num(o.median_latency_s),
            }
            for th, o in sweep
        ],
    }
    if words:
        from sottovoce.host.asr import WhisperAsr  # the host's recogniser: the host extra
        from sottovoce.host.end_of_utterance import EndOfUtterance

        asr, eou = WhisperAsr(), EndOfUtterance()
        host = ev.HostReading(asr.transcribe, end_of_utterance=eou.probability)
        log(f"replaying with the host's reading of the words ({len(episodes)} turns)")
        outcome, shapes = ev.evaluate_by(policy, episodes, ev.turn_shape, host, model)
        result["model_with_words"] = {
            **_summary(outcome),
            "by_shape": _by_shape(shapes),
            "asr_passes": len(host.decode_s),
            "asr_median_s": _num(float(np.median(host.decode_s))) if host.decode_s else None,
            "eou_median_ms": _num(1000 * float(np.median(host.read_s))) if host.read_s else None,
        }
        recovery = ev.recovered_words(policy, episodes, asr.transcribe, host, model)
        result["model_with_words"]["recovered"] = {
            "turns": recovery.turns,
            "mean_word_recall": _num(recovery.mean_recall),
            "min_word_recall": _num(recovery.min_recall),
            "split_turns": recovery.split_turns,
        }
        asr.close()
        eou.close()
    if by_kind is not None:
        result["model"]["by_kind"] = _by_shape(ev.evaluate_by(policy, episodes, by_kind, model=model)[1])

    def silence_rule(ms: int) -> SilencePolicy:
        return SilencePolicy(confirm_ms=ms, tentative_ms=min(200, ms), vad=vad)

    # One replay per timeout gives both the sweep's outcome and the named rules' shapes.
    replays = {ms: ev.evaluate_by(silence_rule(ms), episodes, ev.turn_shape)
               for ms in sorted({*SILENCE_RULES_MS, *SILENCE_SWEEP_MS})}  # fmt: skip
    rules = [(ms, whole) for ms, (whole, _) in replays.items()]
    for ms in SILENCE_RULES_MS:
        o, shapes = replays[ms]
        ok = o.false_cutoff_rate <= ev.MAX_FALSE_CUTOFF
        result[f"silence_{ms}ms"] = {
            **_summary(o),
            "median_latency_at_5pct_s": _num(o.median_latency_s) if ok else None,
            "by_shape": _by_shape(shapes),
        }
        if by_kind is not None:
            result[f"silence_{ms}ms"]["by_kind"] = _by_shape(ev.evaluate_by(silence_rule(ms), episodes, by_kind)[1])
    best_rule = next(((ms, o) for ms, o in rules if o.false_cutoff_rate <= ev.MAX_FALSE_CUTOFF), None)
    result["silence_best"] = (
        {"timeout_ms": best_rule[0], **_summary(best_rule[1])} if best_rule else {"timeout_ms": None}
    )
    result["elapsed_s"] = round(time.perf_counter() - t0, 1)
    return result


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "—"
    return f"{100 * x:.1f} %" if pct else f"{x:.3f} s"


def _described(held_out: dict) -> str:
    return f"{'real set' if held_out.get('set') == 'real' else 'held-out'} ({held_out['split']})"


def table(result: dict) -> str:
    rows = [("model (int8 GRU)", result["model"])]
    if "model_with_words" in result:
        rows.append(("model + host's words", result["model_with_words"]))
    rows += [(f"silence {ms} ms", result[f"silence_{ms}ms"]) for ms in SILENCE_RULES_MS]
    if result["silence_best"].get("timeout_ms"):
        rows.append((f"silence {result['silence_best']['timeout_ms']} ms (best ≤5 %)", result["silence_best"]))
    head = (
        f"{'policy':<28} {'false cut-off @300ms':>20} {'ends ≤300ms':>11} {'false cut-off':>13} "
        f"{'median latency':>14} {'mean latency':>12} {'latency @5% FCO':>15} {'answer median/mean':>18}"
    )
    lines = [head, "-" * len(head)]
    for name, r in rows:
        lines.append(
            f"{name:<28} {_fmt(r['false_cutoff_at_300ms'], True):>20} {_fmt(r['ends_within_300ms'], True):>11} "
            f"{_fmt(r['false_cutoff_rate'], True):>13} {_fmt(r['median_latency_s']):>14} "
            f"{_fmt(r.get('mean_latency_s')):>12} {_fmt(r.get('median_latency_at_5pct_s')):>15} "
            f"{_fmt(r.get('median_answer_s')):>8} / {_fmt(r.get('mean_answer_s'))}"
        )
    m, h = result["model"], result["held_out"]
    if "model_with_words" in result:
        w = result["model_with_words"]
        lines.append(
            f"model + host's words: {_fmt(w['false_cutoff_unrepaired'], True)} of pauses cut off beyond repair "
            f"({ev.UNREPAIRED})"
        )
        rec = w["recovered"]
        lines.append(
            f"model + host's words: {rec['turns']} turns repaired, keeping {_fmt(rec['mean_word_recall'], True)} of "
            f"their words (least {_fmt(rec['min_word_recall'], True)}); {rec['split_turns']} turns answered in parts"
        )
    shown = ("model (int8 GRU)", "model + host's words", "silence 500 ms")
    shaped = [(name, r["by_shape"]) for name, r in rows if name in shown]
    for shape, first in shaped[0][1].items() if shaped else ():
        answers = ", ".join(f"{name} {_fmt(s[shape]['median_answer_s'])} / {_fmt(s[shape]['mean_answer_s'])}"
                            for name, s in shaped)  # fmt: skip
        lines.append(f"answer median / mean, {shape} ({first['turns']} turns): {answers}")
    lines.append(
        f"model: {m['size_bytes'] / 1024:.1f} KB, {m['us_per_frame']:.0f} µs per 20 ms frame, "
        f"5 % operating point at threshold {m['threshold_at_5pct']}; "
        f"{_described(h)}: {h['turns']} turns, {h['pauses']} mid-turn pauses, "
        + (f"{h['speakers']} speakers" if "speakers" in h else f"{h['voices']} voices")
    )
    kinds = [(name, r["by_kind"]) for name, r in rows if "by_kind" in r and name in shown]
    for kind in kinds[0][1] if kinds else ():
        first = kinds[0][1][kind]
        cells = ", ".join(f"{name} {_fmt(k[kind]['false_cutoff_rate'], True)} / {_fmt(k[kind]['median_latency_s'])}"
                          for name, k in kinds)  # fmt: skip
        counted = f"{first['turns']} turns, {first['pauses']} pauses"
        lines.append(f"false cut-off / median latency, {kind} ({counted}): {cells}")
    lines.append(
        f"answer: estimated first sound of the answer after the last word, the host needing "
        f"{ev.ANSWER_PREP_MS} ms from the tentative end (measured in the demo)"
    )
    return "\n".join(lines)


VOICES = {"espeak": "test", "piper": "test-piper"}  # --voices: the held-out split each names
SETS = ("synthetic", "real")


@dataclass
class BenchTurnConfig:
    json: Path | None = option(None, "write the results as JSON to this file", type=Path, metavar="FILE")
    set: str = option(SETS[0], "synthetic held-out turns, or recordings of real people", choices=SETS)
    split: str = option("eval", "with --set real: the speakers held out for evaluation, the development "
                        "speakers, or all", choices=("eval", "dev", "all"))  # fmt: skip
    turns: int = option(HELD_OUT_TURNS, "held-out turns to generate (with --set real: at most this many)")
    seed: int = option(HELD_OUT_SEED, "the held-out set's seed")
    model: Path | None = option(None, "a .tflite other than the packaged one", type=Path, metavar="FILE")
    words: bool = option(False, "also replay the host's reading of the words (runs ASR)")
    voices: str = option(next(iter(VOICES)), "held-out eSpeak voices, or the Piper voice (heard in training) on "
                         "held-out sentences", choices=tuple(VOICES))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sottovoce bench turn", description=__doc__.split("\n\n")[0])
    add_options(ap, BenchTurnConfig)
    add_logging_option(ap, default="WARNING")
    args = ap.parse_args(argv)
    config = config_from(BenchTurnConfig, args)
    if config.turns < 1:
        ap.error("--turns must be at least 1")
    setup_logging("bench", args.log_level)
    if config.set == "real":
        result = run_real(config.split, config.turns, config.model, words=config.words)
    else:
        result = run(config.turns, config.seed, config.model, words=config.words, split=VOICES[config.voices])
    print(table(result))
    if config.json:
        config.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {config.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
