"""``sottovoce bench translate [--json FILE] [--llm URL] [--limit N] [--pair SRC-TGT] [segmenter options]``:
live translation per language pair (es->en, en->es) and path (offline Apertium; the ``--llm`` backend when given).

Each sentence of ``translate_data/sentences.toml`` (said by eSpeak NG, or a real recording from
``translate_data/clips``) is fed in real time, 20 ms at a time, through the same pieces a
translation session uses: the simultaneous listener (Whisper base partials word by word, the
segmenter's commit policy), the translator and the voice (whispered Piper into English, eSpeak NG
aloud otherwise). Reported:

- ``chrf``, ``bleu`` (sacrebleu, corpus level) of what the listener hears, the segments'
  translations joined; ``chrf_whole``/``bleu_whole`` of the final transcript translated in one
  piece (what cutting it into segments costs);
- ``asr_wer``: word error rate of the final transcript against the source text; ``said_wer``: of
  the source words the segments said (a word said twice, or never, counts against it);
- ``ear_voice_span_p50_s``/``_p90_s``: per segment, from the start of its first word in the audio
  to the first sample of its translation at the ear. Translations play one after another, so a
  segment ready while the previous one still plays waits for it: that wait counts. Word starts
  come from Whisper's word alignment of the whole recording. ``commit_lag_p50_s``,
  ``prepare_p50_s``, ``ear_wait_p50_s`` split the span: first word to commit, commit to the
  translation's first piece rendered, then waiting for the translation before it to be heard.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sottovoce.host.answer import Draft
from sottovoce.host.asr import word_error_rate
from sottovoce.host.llm import LlmConfig
from sottovoce.host.responder import Reply
from sottovoce.host.translation.in_order import InOrder
from sottovoce.host.translation.models import (
    EAR_RATE,
    PARTIAL_EVERY_S,
    TranslationModels,
    ear_voice,
    load_translation_models,
)
from sottovoce.host.translation.segmenter import Segmenter, SegmenterConfig
from sottovoce.host.translation.session import TranslationSession
from sottovoce.host.translation.simultaneous import SimultaneousListener
from sottovoce.host.translation.translator import TranslationError, Translator
from sottovoce.host.translation.voices import OutwardVoice
from sottovoce.host.tts import EspeakTts, PiperTts
from sottovoce.host.whisper import WhisperVoice
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE
from sottovoce.tools.options import add_logging_option, add_options, config_from, fail, setup_logging

PROGRAM = "bench translate"
DATA = Path(__file__).parent / "translate_data"
LEAD_S, TAIL_S = 0.3, 0.6  # silence around each sentence, as the edge sends it around a turn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    source: str
    target: str
    text: str
    reference: str
    clip: str | None = None

    @property
    def audio_kind(self) -> str:
        return "real" if self.clip else "synthetic"


def load_items(path: Path = DATA / "sentences.toml") -> dict[tuple[str, str], list[Item]]:
    data = tomllib.loads(path.read_text())
    return {
        (p["source"], p["target"]): [
            Item(p["source"], p["target"], s["text"], s["reference"], s.get("clip")) for s in p["sentence"]
        ]
        for p in data["pair"]
    }


def speech_of(item: Item, tts: EspeakTts) -> np.ndarray:
    from sottovoce.firmware_sim.scenario import read_wav

    pcm = read_wav(DATA / "clips" / item.clip) if item.clip else tts.synthesize(item.text, tts.voice_for(item.source))
    lead, tail = np.zeros(int(LEAD_S * SAMPLE_RATE), np.int16), np.zeros(int(TAIL_S * SAMPLE_RATE), np.int16)
    return np.concatenate([lead, pcm, tail])


def limited(items: list[Item], limit: int) -> list[Item]:
    """The first ``limit`` items of each kind of audio (a quick run still hears real speech)."""
    counts: dict[str, int] = {}
    chosen = []
    for item in items:
        counts[item.audio_kind] = counts.get(item.audio_kind, 0) + 1
        if counts[item.audio_kind] <= limit:
            chosen.append(item)
    return chosen


@dataclass
class Segment:
    first_word: int  # index of its first word among the turn's words
    text: str
    translation: str = ""
    committed_s: float = 0.0  # when the segmenter committed it, seconds from the audio's start
    ready_s: float = 0.0  # its translation's first sample rendered, seconds from the audio's start
    audio_s: float = 0.0


@dataclass
class Run:
    transcript: str
    segments: list[Segment] = field(default_factory=list)
    failed: int = 0  # translations the translator could not make (a session goes on without them too)

    @property
    def heard(self) -> str:
        return " ".join(s.translation for s in self.segments if s.translation)


async def simulate(
    models: TranslationModels, translator: Translator, voice, pcm: np.ndarray, item: Item, seg: SegmenterConfig
) -> Run:
    """Feed ``pcm`` in real time through partial ASR -> segmenter -> translator -> voice."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    fed = 0
    segmenter = Segmenter(seg)
    run = Run("")
    pipeline = TranslationSession.pipeline(models.asr, voice)

    async def prepare(segment: Segment) -> Draft | None:
        # as a session prepares it: translated, its first speech unit rendered, while the one before plays
        try:
            segment.translation = await translator.translate(segment.text, item.source, item.target)
        except TranslationError as exc:
            run.failed += 1
            log.warning("%s", exc)
            return None
        if not segment.translation:
            return None
        draft = await pipeline.draft(Reply(segment.translation))
        segment.ready_s = loop.time() - t0
        return draft

    heard_until = 0.0  # when the listener will have heard the translations said so far

    async def say(segment: Segment, draft: Draft) -> None:
        nonlocal heard_until
        pieces = [p async for p in pipeline.pieces(draft)]
        segment.audio_s = sum(len(p.packets) for p in pieces) * FRAME_SAMPLES / SAMPLE_RATE
        heard_until = max(segment.ready_s, heard_until) + segment.audio_s

    def ear_idle() -> bool:
        return sayings.idle and loop.time() - t0 >= heard_until

    sayings: InOrder[Segment, Draft] = InOrder(prepare, say, max_queued=64)

    def commit(text: str) -> None:
        segment = Segment(len(segmenter.said) - len(text.split()), text, committed_s=loop.time() - t0)
        run.segments.append(segment)
        sayings.put(segment)

    speaker = loop.create_task(sayings.run())
    listener = SimultaneousListener(
        models.asr, lambda: pcm[:fed], segmenter, commit, language=item.source, ear_idle=ear_idle
    )
    while fed < len(pcm):
        fed = min(len(pcm), fed + FRAME_SAMPLES)
        listener.audio_grew(fed)
        await asyncio.sleep(max(0.0, t0 + fed / SAMPLE_RATE - loop.time()))
    final, rest = await listener.final(pcm)
    run.transcript = final.text
    if rest:
        commit(rest)
    sayings.end()
    await speaker
    return run


def ear_voice_spans(run: Run, onsets: list[float]) -> list[tuple[float, float, float]]:
    """Per segment with a translation: (first sample at the ear, its commit, its first piece
    rendered) minus the start of its first word, the translations playing one after another."""
    spans, free_at = [], 0.0
    for s in run.segments:
        if not s.translation or not onsets:
            continue
        start = max(s.ready_s, free_at)
        free_at = start + s.audio_s
        onset = onsets[min(s.first_word, len(onsets) - 1)]
        spans.append((start - onset, s.committed_s - onset, s.ready_s - onset))
    return spans


def scores(hyps: list[str], refs: list[str]) -> tuple[float, float]:
    import sacrebleu

    return sacrebleu.corpus_chrf(hyps, [refs]).score, sacrebleu.corpus_bleu(hyps, [refs]).score


def summary(rows: list[dict]) -> dict:
    chrf, bleu = scores([r["heard"] for r in rows], [r["reference"] for r in rows])
    chrf_whole, bleu_whole = scores([r["whole"] for r in rows], [r["reference"] for r in rows])
    spans = [s for r in rows for s, _, _ in r["spans"]]
    commits = [c for r in rows for _, c, _ in r["spans"]]
    prepared = [ready - c for r in rows for _, c, ready in r["spans"]]
    waited = [s - ready for r in rows for s, _, ready in r["spans"]]
    return {
        "sentences": len(rows),
        "chrf": round(chrf, 1),
        "bleu": round(bleu, 1),
        "chrf_whole": round(chrf_whole, 1),
        "bleu_whole": round(bleu_whole, 1),
        "asr_wer": round(float(np.mean([r["wer"] for r in rows])), 3),
        # the source words the segments said, against the source text: a word said twice or never counts
        "said_wer": round(float(np.mean([r["said_wer"] for r in rows])), 3),
        "segments": len(spans),
        # translations that failed (segments, or the transcript whole): not heard, not in the spans
        "failed_translations": sum(r["failed"] for r in rows),
        "ear_voice_span_p50_s": round(float(np.percentile(spans, 50)), 2) if spans else None,
        "ear_voice_span_p90_s": round(float(np.percentile(spans, 90)), 2) if spans else None,
        # the part of the span spent before the segmenter committed the words (the rest: MT, TTS, queue)
        "commit_lag_p50_s": round(float(np.percentile(commits, 50)), 2) if commits else None,
        # then: translated and its first piece rendered; then waiting for the translation before it to be heard
        "prepare_p50_s": round(float(np.percentile(prepared, 50)), 2) if prepared else None,
        "ear_wait_p50_s": round(float(np.percentile(waited, 50)), 2) if waited else None,
    }


async def bench(
    llm: LlmConfig,
    limit: int | None,
    seg: SegmenterConfig,
    pairs: list[str] | None = None,
    ear_rate: float = EAR_RATE,
    partial_every_s: float = PARTIAL_EVERY_S,
) -> list[dict]:
    items = {k: v for k, v in load_items().items() if pairs is None or "-".join(k) in pairs}
    models = await asyncio.to_thread(load_translation_models, None, llm)
    models.asr.config = dataclasses.replace(models.asr.config, partial_every_s=partial_every_s)
    tts = EspeakTts()
    whisper = ear_voice(WhisperVoice(PiperTts()), ear_rate)
    paths: list[tuple[str, Translator]] = [("offline", models.offline)]
    if models.backend is not None:
        paths.append(("llm", models.backend))
    results = []
    try:
        for (source, target), pair_items in items.items():
            chosen = pair_items if limit is None else limited(pair_items, limit)
            voice = whisper if target == "en" else OutwardVoice(tts, target)
            audio = {id(i): speech_of(i, tts) for i in chosen}
            onsets = {id(i): [t for _, t in models.asr.word_onsets(audio[id(i)], source)] for i in chosen}
            for path, translator in paths:
                rows = []
                for item in chosen:
                    run = await simulate(models, translator, voice, audio[id(item)], item, seg)
                    try:
                        whole = await translator.translate(run.transcript, source, target) if run.transcript else ""
                    except TranslationError as exc:
                        run.failed += 1
                        log.warning("%s", exc)
                        whole = ""
                    spans = ear_voice_spans(run, onsets[id(item)])
                    said = " ".join(s.text for s in run.segments)
                    rows.append({"kind": item.audio_kind, "heard": run.heard, "whole": whole,
                                 "reference": item.reference, "wer": word_error_rate(item.text, run.transcript),
                                 "said_wer": word_error_rate(item.text, said), "spans": spans,
                                 "failed": run.failed})  # fmt: skip
                    log.info("%s->%s %s: %r -> %r (spans %s)", source, target, path, run.transcript, run.heard,
                             [(round(s, 2), round(c, 2)) for s, c, _ in spans])  # fmt: skip
                result = {"pair": f"{source}-{target}", "path": path, "translator": translator.name} | summary(rows)
                result["by_audio"] = {
                    kind: summary([r for r in rows if r["kind"] == kind])
                    for kind in ("synthetic", "real")
                    if any(r["kind"] == kind for r in rows)
                }
                results.append(result)
    finally:
        models.asr.close()
        await models.aclose()
    return results


def print_table(results: list[dict]) -> None:
    print(f"{'pair':6} {'path':8} {'audio':9} {'n':>3} {'chrF':>5} {'BLEU':>5} {'chrF1':>5} {'WER':>5} {'said':>5} "
          f"{'EVS50':>6} {'EVS90':>6} {'commit':>6} {'prep':>5} {'wait':>5}")  # fmt: skip
    for r in results:
        for kind, s in [("all", r), *r["by_audio"].items()]:
            p50 = "-" if s["ear_voice_span_p50_s"] is None else f"{s['ear_voice_span_p50_s']:.2f}"
            p90 = "-" if s["ear_voice_span_p90_s"] is None else f"{s['ear_voice_span_p90_s']:.2f}"
            commit = s["commit_lag_p50_s"]
            print(f"{r['pair']:6} {r['path']:8} {kind:9} {s['sentences']:3d} {s['chrf']:5.1f} {s['bleu']:5.1f} "
                  f"{s['chrf_whole']:5.1f} {s['asr_wer']:5.2f} {s['said_wer']:5.2f} {p50:>6} {p90:>6} {commit!s:>6} "
                  f"{s['prepare_p50_s']!s:>5} {s['ear_wait_p50_s']!s:>5}")  # fmt: skip
    print("chrF/BLEU: the segments as heard; chrF1: the final transcript translated whole; "
          "said: WER of the source words the segments said; EVS: ear-voice span in s "
          "(first word -> first sample at the ear); commit: p50 s from the first word to its segment's commit; "
          "prep: p50 s from the commit to the translation's first piece rendered; "
          "wait: p50 s it then waits for the one before it to be heard")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"sottovoce {PROGRAM}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="only the first N sentences of each pair and kind of audio (synthetic, real)",
    )
    parser.add_argument("--pair", action="append", metavar="SRC-TGT", help="only this pair (e.g. es-en; repeatable)")
    parser.add_argument("--max-stable-words", type=int, default=SegmenterConfig.max_stable_words, metavar="N",
                        help="commit stable words without a clause boundary once this many wait")  # fmt: skip
    parser.add_argument("--hold-words", type=int, default=SegmenterConfig.hold_words, metavar="N",
                        help="a word with N more after it in one partial is stable (0: agreement only)")  # fmt: skip
    parser.add_argument("--idle-words", type=int, default=SegmenterConfig.idle_words, metavar="N",
                        help="while nothing is being said, commit once N settled words wait (0: as busy)")  # fmt: skip
    parser.add_argument("--settle-s", type=float, default=SegmenterConfig.settle_s, metavar="S",
                        help="a word ending S before the audio's end, probable enough, is settled")  # fmt: skip
    parser.add_argument("--min-probability", type=float, default=SegmenterConfig.min_probability, metavar="P",
                        help="a word's least probability to be settled without agreement (above 1: never)")  # fmt: skip
    parser.add_argument("--pause-s", type=float, default=SegmenterConfig.pause_s, metavar="S",
                        help="a partial ending in this long a quiet commits its words at once (0: never)")  # fmt: skip
    parser.add_argument("--partial-every-s", type=float, default=PARTIAL_EVERY_S, metavar="S",
                        help="a partial decode at most every S of new audio")  # fmt: skip
    parser.add_argument("--ear-rate", type=float, default=EAR_RATE, metavar="R",
                        help="pace of the whispered translations (1.0: the voice's normal speed)")  # fmt: skip
    add_options(parser, LlmConfig, exclude=("llm_threads", "llm_tools"))
    add_logging_option(parser, default="WARNING")
    args = parser.parse_args(argv)
    setup_logging(PROGRAM, args.log_level)
    if args.limit is not None and args.limit < 1:
        return fail(PROGRAM, "--limit must be at least 1")
    t0 = time.perf_counter()
    seg = SegmenterConfig(
        max_stable_words=args.max_stable_words,
        idle_words=args.idle_words,
        settle_s=args.settle_s,
        min_probability=args.min_probability,
        hold_words=args.hold_words,
        pause_s=args.pause_s,
    )
    llm = config_from(LlmConfig, args)
    results = asyncio.run(bench(llm, args.limit, seg, args.pair, args.ear_rate, args.partial_every_s))
    print_table(results)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
