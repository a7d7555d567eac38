import json

from sottovoce.tools import bench_turn


def test_bench_turn_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "turn.json"
    assert bench_turn.main(["--turns", "6", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    model = result["model"]
    for key in ("false_cutoff_at_300ms", "median_latency_at_5pct_s", "us_per_frame", "size_bytes"):
        assert key in model
    assert model["size_bytes"] > 1000 and model["us_per_frame"] > 0
    for rule in ("silence_200ms", "silence_500ms", "silence_800ms"):
        assert {"false_cutoff_at_300ms", "median_latency_at_5pct_s"} <= set(result[rule])
        assert 0.0 <= result[rule]["false_cutoff_at_300ms"] <= 1.0
    # a 200 ms rule answers sooner than an 800 ms rule on the very same turns
    assert result["silence_200ms"]["median_latency_s"] < result["silence_800ms"]["median_latency_s"]
    assert result["held_out"]["turns"] == 6
    for policy in ("model", "silence_500ms"):
        shapes = result[policy]["by_shape"]
        assert set(shapes) <= {"one sentence", "after a pause"}
        assert sum(s["turns"] for s in shapes.values()) == 6
    table = capsys.readouterr().out
    assert "silence 500 ms" in table and "model" in table
    assert any(f"answer median / mean, {shape}" in table for shape in result["model"]["by_shape"])


def test_bench_turn_rejects_bad_arguments(capsys):
    import pytest

    with pytest.raises(SystemExit):
        bench_turn.main(["--turns", "0"])


def test_replayed_sweep_decides_exactly_like_the_live_policy():
    """The sweep reads cached model outputs; on every turn and threshold it must confirm on the
    very frames the live policy (running the model itself) does, false cut-offs included."""
    from sottovoce.edge.end_rules import ModelPolicy
    from sottovoce.edge.turn_model import TurnModel
    from sottovoce.tools.turn import evaluate as ev
    from sottovoce.tools.turn.corpus import corpus

    model = TurnModel()
    episodes = ev.prepare(corpus("test", 6, bench_turn.HELD_OUT_SEED))
    cleared_mid_episode = False
    for threshold in (0.02, 0.9):
        policy = ModelPolicy.from_meta(model.meta, confirm=threshold)
        live = [ev.confirmed_ends(policy, e, model=model, live=True) for e in episodes]
        assert [ev.confirmed_ends(policy, e, model=model) for e in episodes] == live
        cleared_mid_episode |= any(len(ends) > 1 for ends in live)
    assert cleared_mid_episode  # the low threshold ends (and clears the state) more than once per turn


def test_the_answer_waits_for_the_later_of_the_end_and_the_hosts_work():
    import numpy as np
    import pytest

    from sottovoce.tools.turn import evaluate as ev
    from sottovoce.tools.turn.corpus import Turn

    turn = Turn(script=None, pcm=np.zeros(48000, np.int16), speech=[(8000, 24000)])
    episode = ev.Episode(turn, [], np.zeros(0), np.zeros((0, 1)))
    last_word = 24000 // 320 - 1  # the frame the last word ends in
    assert ev.ANSWER_PREP_MS == 400
    # decided at once, 100 ms after the last word: the host's 400 ms of work decide the answer
    quick = ev.score([episode], [[ev.End(last_word + 5, last_word + 5)]])
    assert quick.latencies[0] == pytest.approx(0.1) and quick.answer_latencies[0] == pytest.approx(0.5)
    # announced at 100 ms, confirmed at 600 ms: the host was ready first, the confirmation decides
    slow = ev.score([episode], [[ev.End(last_word + 5, last_word + 30)]])
    assert slow.latencies[0] == pytest.approx(0.6) and slow.answer_latencies[0] == pytest.approx(0.6)


def test_a_cut_off_the_wearer_talks_through_counts_as_repaired():
    import numpy as np

    from sottovoce.host.turn_ledger import LedgerConfig
    from sottovoce.tools.turn import evaluate as ev
    from sottovoce.tools.turn.corpus import Turn

    cfg = LedgerConfig()
    assert (cfg.continuation_gap_ms, cfg.continuation_react_ms, ev.ANSWER_PREP_MS) == (1500, 600, 400)

    def cut_in_pause(pause_s: float) -> ev.Outcome:
        """A 1 s phrase, a pause, a 1 s phrase; the end called 150 ms into the pause."""
        resume = 16000 + round(pause_s * 16000)
        turn = Turn(script=None, pcm=np.zeros(resume + 48000, np.int16), speech=[(0, 16000), (resume, resume + 16000)])
        episode = ev.Episode(turn, [], np.zeros(0), np.zeros((0, 1)))
        cut = 16000 // 320 + 6
        return ev.score([episode], [[ev.End(cut, cut)]])

    # the answer starts 0.57 s into the pause: resuming 1.0 s in, 0.43 s of it was heard
    short = cut_in_pause(1.0)
    assert (short.cutoffs, short.repaired, short.unrepaired_cutoff_rate) == (1, 1, 0.0)
    # resuming 1.4 s in, 0.83 s of it was heard: the wearer was answering it, nothing to repair
    long = cut_in_pause(1.4)
    assert (long.cutoffs, long.repaired, long.false_cutoff_rate, long.unrepaired_cutoff_rate) == (1, 0, 1.0, 1.0)


def test_the_groups_of_a_replay_add_up_to_the_whole():
    from sottovoce.edge.end_rules import SilencePolicy
    from sottovoce.tools.turn import evaluate as ev
    from sottovoce.tools.turn.corpus import corpus

    episodes = ev.prepare(corpus("test", 12, bench_turn.HELD_OUT_SEED))
    whole, groups = ev.evaluate_by(SilencePolicy(confirm_ms=300), episodes, ev.turn_shape)
    assert set(groups) == {"one sentence", "after a pause"}  # the first 12 held-out turns hold both
    assert sum(len(o.latencies) for o in groups.values()) == len(episodes)
    assert sum(o.pauses for o in groups.values()) == whole.pauses
    assert sum(o.cutoffs for o in groups.values()) == whole.cutoffs
    assert groups["one sentence"].pauses == 0  # one sentence: nothing to cut off


def test_a_real_turn_cut_in_its_pauses_is_answered_whole():
    """A real speaker's turn with two pauses, ended early in both by a 300 ms silence rule: the
    host's ledger, fed the edge's turn signals, repairs each cut, and the real ASR pass over the
    span it finally answers holds all the words of the turn."""
    from sottovoce.edge.end_rules import SilencePolicy
    from sottovoce.host.asr import WhisperAsr
    from sottovoce.tools.turn import evaluate as ev
    from sottovoce.tools.turn import real_set

    turn = next(t for t in real_set.real_set().split("dev") if t.id == "ls_2033_164914_0003")
    episode = ev.prepare(real_set.rendered([turn]))[0]
    policy = SilencePolicy(confirm_ms=300)
    spans = ev.answered_spans(episode, list(ev.replay_signals(policy, episode)))
    last_word = episode.turn.speech_end // 320
    assert len(spans) == 3 and spans[0][1] < last_word and spans[1][1] < last_word  # cut twice
    assert {first for first, _, _ in spans} == {spans[0][0]} and spans[-1][1] >= last_word
    assert [repaired for _, _, repaired in spans] == [False, True, True]
    asr = WhisperAsr()
    try:
        recovery = ev.recovered_words(policy, [episode], asr.transcribe)
    finally:
        asr.close()
    assert recovery.turns == 1 and recovery.split_turns == 0
    assert recovery.min_recall >= 0.95


def test_the_real_speech_reading_is_chosen_within_the_caps_on_tuning_speakers_only():
    from sottovoce.edge.turn_model import TurnModel
    from sottovoce.host.asr import WhisperAsr
    from sottovoce.tools.turn import evaluate as ev
    from sottovoce.tools.turn import real_policy, real_set

    assert set(real_policy.TUNING_SPLITS) == {"train", "dev"}  # the eval speakers stay held out
    wanted = ("ls_2033_164914_0003", "ls_367_130732_0000", "fsdd_nicolas_0")
    turns = [t for t in real_set.real_set().split("dev") if t.id in wanted]
    episodes = ev.prepare(real_set.rendered(turns))
    asr = WhisperAsr()
    try:
        host = ev.HostReading(asr.transcribe, delay_ms=250)
        chosen = real_policy.choose_reading(TurnModel(), episodes, episodes, host)  # the guard: the same turns
    finally:
        asr.close()
    rows = chosen["real_sweep"]  # the current policy, then each choice
    assert len(rows) == 1 + len(real_policy.READ_SILENCE_CHOICES_MS) * len(real_policy.WORDS_LATE_CHOICES)
    row = next(r for r in rows if all(r[k] == chosen[k] for k in real_policy.SETTINGS))
    slack = real_policy.SYNTHETIC_SLACK
    within = [r for r in rows if r["false_cutoff_rate"] <= real_policy.MAX_FALSE_CUTOFF
              and all(r[f"synthetic_{k}"] <= rows[0][f"synthetic_{k}"] + slack[k] + 1e-4 for k in slack)]  # fmt: skip
    if within:
        assert row in within and row["median_latency_s"] == min(r["median_latency_s"] for r in within)
    else:
        assert row == rows[0]
