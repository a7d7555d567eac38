"""The real-speech end-of-turn set: its manifest, its labels, and the bench on it."""

import json
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.tools import bench_turn
from sottovoce.tools.turn import real_set as rs
from sottovoce.tools.turn.corpus import FINAL_SILENCE_MS


@pytest.fixture(scope="module")
def the_set() -> rs.RealSet:
    return rs.real_set()


def test_the_set_is_large_enough_and_split_by_speaker(the_set):
    assert len(the_set.turns) >= 60
    splits_of = defaultdict(set)
    for t in the_set.turns:
        splits_of[t.speaker].add(t.split)
    assert len(splits_of) >= 12
    assert all(len(s) == 1 for s in splits_of.values())  # no speaker in two splits
    assert set(the_set.speakers) == set(splits_of)  # every listed speaker speaks
    for name in rs.SPLITS:
        assert the_set.split(name), name
    assert len(the_set.split("all")) == len(the_set.turns)
    held_out = {t.kind for t in the_set.split("eval")}
    assert {"question", "paused", "numbers"} <= held_out
    assert {t.kind for t in the_set.turns} >= {"question", "paused", "numbers", "list", "hesitation"}


def test_every_turn_has_a_licence_a_source_and_a_recording(the_set):
    for t in the_set.turns:
        assert t.licence in rs.LICENCES and t.source.startswith("https://") and len(t.source_commit) == 40, t.id
        assert (t.file is None) != (t.clip is None), t.id
        assert t.file is None or t.file.is_file()


def test_the_labels_are_what_the_recordings_measure(the_set):
    for t in the_set.turns:
        pcm = rs.audio(t)
        assert pcm.dtype == np.int16 and len(pcm) > 0
        measured = rs.measure(pcm)
        assert measured.end <= len(pcm), t.id
        labelled = t.speech()
        assert abs(measured.start - labelled.start) <= 16 and abs(measured.end - labelled.end) <= 16, t.id
        assert len(measured.pauses) == len(labelled.pauses), t.id
        for (a, b), (c, d) in zip(measured.pauses, labelled.pauses, strict=True):
            assert abs(a - c) <= 16 and abs(b - d) <= 16, t.id
        for s, e in t.pauses_s:
            assert e - s >= rs.MIN_PAUSE_MS / 1000 - rs.LABEL_TOLERANCE_S, t.id
        # the kind follows the labels: a turn with a pause is "paused" unless it says what it holds
        if t.kind in ("request", "question", "read"):
            assert not t.pauses_s, t.id
        if t.kind == "paused":
            assert t.pauses_s, t.id
        if t.kind == "numbers":  # built from separately recorded digits: every pause was spliced in
            assert t.inserted_pauses == tuple(range(len(t.pauses_s))), t.id


def test_measure_finds_the_pause_between_two_sounds_and_ignores_a_short_click():
    rng = np.random.default_rng(1)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    quiet = lambda n: (30 * rng.standard_normal(n)).astype(np.int16)  # noqa: E731
    click = np.full(320, 9000, np.int16)
    pcm = np.concatenate([quiet(8000), click, quiet(8000), tone, quiet(8000), tone, quiet(8000)])
    speech = rs.measure(pcm)
    first = 8000 + 320 + 8000
    assert abs(speech.start - first) <= 320 and abs(speech.end - (first + 8000 + 2 * SAMPLE_RATE)) <= 320
    assert len(speech.pauses) == 1
    (s, e) = speech.pauses[0]
    assert abs(s - (first + SAMPLE_RATE)) <= 320 and abs(e - (first + SAMPLE_RATE + 8000)) <= 320
    assert speech.chunks() == [(speech.start, s), (e, speech.end)]


def test_a_rendered_turn_keeps_its_pauses_and_ends_in_room_tone(the_set):
    turn = next(t for t in the_set.split("eval") if len(t.pauses_s) >= 2 and t.file is not None)
    rendered = rs.render(turn)
    lead = rs.LEAD_MS * SAMPLE_RATE // 1000
    assert rendered.speech[0][0] == lead + turn.speech().start
    assert len(rendered.speech) == len(turn.pauses_s) + 1
    assert [(s - lead, e - lead) for s, e in rendered.pauses()] == list(turn.speech().pauses)
    tail = rendered.pcm[rendered.speech_end + SAMPLE_RATE // 10 :]
    assert len(tail) >= (FINAL_SILENCE_MS - 100) * SAMPLE_RATE // 1000
    spoken = rendered.pcm[rendered.speech[0][0] : rendered.speech[0][1]].astype(float)
    # room tone, not digital silence, and far below the speech
    assert 0 < np.sqrt(np.mean(tail.astype(float) ** 2)) < np.sqrt(np.mean(spoken**2)) / 10


def _manifest_text() -> str:
    return (rs.data_dir() / "manifest.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace('kind = "paused"', 'kind = "chat"', 1), "'kind' must be one of"),
        (lambda s: s.replace('licence = "CC-BY-4.0"', 'licence = "CC-BY-NC-4.0"', 1), "'licence' must be one of"),
        (lambda s: s.replace('"librispeech:1688" = "eval"', '"librispeech:1688" = "test"', 1), "must be in one of"),
        (lambda s: s.replace('"librispeech:1688" = "eval"\n', "", 1), "is not in [speakers]"),
        (lambda s: s.replace("pauses_s = []", "pauses_s = [[0.0, 0.1]]", 1), "inside the speech"),
        (lambda s: s.replace('file = "ls_1688_142285_0002.wav"', 'file = "gone.wav"', 1), "file not found"),
    ],
)
def test_a_bad_manifest_is_refused_with_a_clear_message(edit, message):
    text = edit(_manifest_text())
    with pytest.raises(rs.RealSetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        rs.parse_manifest(text, rs.data_dir())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_manifest_is_refused_or_read_never_crashes(data):
    text = _manifest_text()
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start, min(len(text), start + 400)))
    junk = data.draw(st.text(max_size=20))
    try:
        parsed = rs.parse_manifest(text[:start] + junk + text[end:], rs.data_dir())
    except rs.RealSetError:
        return
    assert all(t.split in rs.SPLITS for t in parsed.turns)


_WAV_HEAD = (rs.data_dir() / "ls_1688_142285_0002.wav").read_bytes()[:600]


@settings(max_examples=300)
@given(
    st.integers(0, len(_WAV_HEAD)),
    st.lists(st.tuples(st.integers(0, len(_WAV_HEAD) - 1), st.integers(0, 255)), max_size=4),
    st.binary(max_size=40),
)
def test_a_damaged_or_foreign_file_is_refused_never_misread(cut, flips, tail):
    """A recording's first bytes, cut short, with bytes changed and others appended: read as
    16 kHz mono 16-bit samples, all of them, or refused with RealSetError."""
    data = bytearray(_WAV_HEAD[:cut])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    try:
        pcm = rs.read_wav(bytes(data) + tail)
    except rs.RealSetError:
        return
    assert pcm.dtype == np.int16


def test_bench_turn_on_the_real_set_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "turn.json"
    assert bench_turn.main(["--set", "real", "--turns", "5", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    held_out = result["held_out"]
    assert (held_out["set"], held_out["split"], held_out["turns"]) == ("real", "eval", 5)
    for policy in ("model", "silence_200ms", "silence_500ms", "silence_800ms"):
        assert {"false_cutoff_at_300ms", "median_latency_at_5pct_s"} <= set(result[policy])
        kinds = result[policy]["by_kind"]
        assert sum(k["turns"] for k in kinds.values()) == 5
        assert set(kinds) == set(held_out["kinds"])
    table = capsys.readouterr().out
    assert "real set (eval)" in table and "silence 500 ms" in table and "false cut-off / median latency" in table


def test_bench_turn_reads_the_other_splits_and_refuses_an_unknown_one(tmp_path, capsys):
    out = tmp_path / "turn.json"
    assert bench_turn.main(["--set", "real", "--split", "dev", "--turns", "3", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["held_out"]["split"] == "dev"
    with pytest.raises(SystemExit):
        bench_turn.main(["--set", "real", "--split", "train"])
    with pytest.raises(rs.RealSetError):
        rs.real_set().split("test")
