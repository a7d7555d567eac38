"""How well the words tell a turn's end from a pause in it: the host's readings of real and
synthetic turns, judged by the language model's end-of-utterance probability
(``host.end_of_utterance``) and by the host's judgement (``host.completeness``).

    python -m sottovoce.tools.turn.words_signal [--split train,dev] [--synthetic 300]

Each turn is read as the host reads it after a tentative end: the real final ASR pass over the
audio up to ``READ_MS`` into each mid-turn pause and into the final silence. Per set it prints
the language model's ROC-AUC (ends against pauses), the share of ends and of pauses each
judgement calls complete, and the model's time per reading. The real set's ``eval`` speakers are
not for this: they are held out for ``sottovoce bench turn --set real``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sottovoce.host import completeness
from sottovoce.host.asr import AsrResult
from sottovoce.host.end_of_utterance import EndOfUtterance
from sottovoce.tools.turn.corpus import Turn

READ_MS = 160  # the tentative end comes 60-200 ms into a silence (the model's, or the VAD's)


@dataclass(frozen=True)
class Reading:
    text: str
    asr: AsrResult
    end: bool  # read at the turn's end (else in a pause)


def readings(turns: Sequence[Turn], transcribe: Callable[[np.ndarray], AsrResult]) -> list[Reading]:
    """The host's reading at each pause of each turn and at its end."""
    out = []
    read = READ_MS * 16
    for turn in turns:
        points = [(min(s + read, e), False) for s, e in turn.pauses()] + [(turn.speech_end + read, True)]
        for at, end in points:
            result = transcribe(turn.pcm[:at])
            out.append(Reading(result.text, result, end))
    return out


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    return float(greater + 0.5 * (pos[:, None] == neg[None, :]).mean())


@dataclass(frozen=True)
class Separation:
    ends: int
    pauses: int
    auc: float  # the model's probability, every reading
    rules_ends_complete: float  # shares of readings the host's judgement calls complete
    rules_pauses_complete: float
    ends_complete: float  # ... and the model's judgement at ``threshold``
    pauses_complete: float
    threshold: float
    ms_per_reading: float


def separation(found: Sequence[Reading], eou: EndOfUtterance, threshold: float) -> Separation:
    t0 = time.perf_counter()
    p = np.asarray([eou.probability(r.text) for r in found])
    ms = 1000 * (time.perf_counter() - t0) / max(1, len(found))
    end = np.asarray([r.end for r in found])
    rules = np.asarray([completeness.judge_result(r.asr, None).complete for r in found])
    words = np.asarray([completeness.judge_result(r.asr, q).complete for r, q in zip(found, p, strict=True)])
    return Separation(
        int(end.sum()), int((~end).sum()), roc_auc(p, end), float(rules[end].mean()), float(rules[~end].mean()),
        float(words[end].mean()), float(words[~end].mean()), threshold, ms,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    prog = "python -m sottovoce.tools.turn.words_signal"
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="train,dev", help="real set splits, comma-separated (never eval)")
    ap.add_argument("--synthetic", type=int, default=300, help="synthetic validation turns (0: none)")
    args = ap.parse_args(argv)
    from sottovoce.host.asr import WhisperAsr
    from sottovoce.tools.turn import real_policy, real_set

    splits = [s for s in args.split.split(",") if s]
    if "eval" in splits:
        ap.error("the eval speakers are held out")
    sets = {f"real {'+'.join(splits)}": real_set.rendered([t for s in splits for t in real_set.real_set().split(s)])}
    if args.synthetic:
        sets["synthetic validation"] = real_policy.synthetic_turns(args.synthetic)
    asr, eou = WhisperAsr(), EndOfUtterance()
    try:
        for name, turns in sets.items():
            s = separation(readings(turns, asr.transcribe), eou, completeness.END_PROBABILITY)
            print(f"{name}: {s.ends} ends, {s.pauses} pauses; model AUC {s.auc:.3f}; complete at ends / pauses: "
                  f"host's rules {s.rules_ends_complete:.1%} / {s.rules_pauses_complete:.1%}, "
                  f"model at p >= {s.threshold:g} {s.ends_complete:.1%} / {s.pauses_complete:.1%}; "
                  f"{s.ms_per_reading:.1f} ms per reading")  # fmt: skip
    finally:
        asr.close()
        eou.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
