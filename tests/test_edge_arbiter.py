"""The turn arbiter on its own: numbers in, decisions out, no clock, no model, no links."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.edge import arbiter as arb
from sottovoce.edge.end_rules import ModelPolicy, SilencePolicy
from sottovoce.edge.turn_model import TurnModelMeta, default_model_path
from sottovoce.proto.codec import FRAME_MS
from sottovoce.proto.timeline import AUDIO_SEQ

SILENCE = SilencePolicy(confirm_ms=500, tentative_ms=200)


def _frames(arbiter: arb.TurnArbiter, first_seq: int, speech: list[float]) -> list[arb.Decision]:
    out: list[arb.Decision] = []
    for i, p in enumerate(speech):
        out += arbiter.feed(arb.Frame(AUDIO_SEQ.add(first_seq, i), p))
    return out


def test_a_turn_is_opened_ended_and_numbered_for_the_host():
    arbiter = arb.TurnArbiter(SILENCE)
    decisions = _frames(arbiter, 100, [0.0] * 5 + [0.9] * 20 + [0.0] * 30)
    assert decisions == [
        arb.SpeechStart(1, 105),  # the onset frame, decided once 60 ms of speech confirm it
        arb.TentativeEnd(1, 134, 1.0),
        arb.ConfirmedEnd(1, 149, 1.0, "silence"),
    ]
    assert _frames(arbiter, 155, [0.9] * 5)[0] == arb.SpeechStart(2, 155)


def test_speech_during_an_answer_becomes_a_barge_in_once_it_lasts():
    arbiter = arb.TurnArbiter(SILENCE, barge_in_ms=200)
    arbiter.feed(arb.PlaybackState(True))
    decisions = _frames(arbiter, 0, [0.9] * 10)
    assert decisions == [
        arb.Duck(0),  # at the first voiced frame, before anything is decided
        arb.SpeechDuringPlayback(0),
        arb.BargeIn(0),
        arb.SpeechStart(1, 0, barge_in=True),
    ]
    assert decisions.index(arb.BargeIn(0)) == 2 and arbiter.counters.barge_ins == 1
    assert arbiter.counters.restores == 0  # an interruption stops the answer: it is not brought back
    # the barge-in's turn is the host's like any other
    assert _frames(arbiter, 10, [0.0] * 25)[-1] == arb.ConfirmedEnd(1, 34, 1.0, "silence")


def test_a_short_sound_during_an_answer_is_a_backchannel_and_never_reaches_the_host():
    arbiter = arb.TurnArbiter(SILENCE, barge_in_ms=200)
    arbiter.feed(arb.PlaybackState(True))
    decisions = _frames(arbiter, 0, [0.9] * 6 + [0.0] * 30)  # an "mm-hm": 120 ms
    assert decisions == [
        arb.Duck(0),
        arb.SpeechDuringPlayback(0),
        arb.Restore(6),  # silent from frame 6, back once that has lasted RESTORE_AFTER_MS
        arb.BackchannelIgnored(30),
    ]
    assert arbiter.counters.backchannels_ignored == 1 and arbiter.turn_id == 0
    assert (arbiter.counters.ducks, arbiter.counters.restores) == (1, 1)
    # after the answer, speech opens a turn again
    arbiter.feed(arb.PlaybackState(False))
    assert _frames(arbiter, 36, [0.9] * 3) == [arb.SpeechStart(1, 36)]


def _restore_frames() -> int:
    return arb.RESTORE_AFTER_MS // FRAME_MS


def test_a_blip_too_short_to_be_speech_ducks_the_answer_and_brings_it_back_after_a_silence():
    arbiter = arb.TurnArbiter(SILENCE)
    arbiter.feed(arb.PlaybackState(True))
    quiet = [0.0] * _restore_frames()
    decisions = [(i, d) for i, p in enumerate([0.0, 0.9, 0.9, *quiet]) for d in arbiter.feed(arb.Frame(50 + i, p))]
    assert decisions == [(1, arb.Duck(51)), (2 + _restore_frames(), arb.Restore(53))]
    assert arbiter.turn_id == 0 and arbiter.counters.backchannels_ignored == 0


def test_the_wearer_going_on_after_a_restore_ducks_the_answer_again_and_interrupts():
    arbiter = arb.TurnArbiter(SILENCE, barge_in_ms=200)
    arbiter.feed(arb.PlaybackState(True))
    first = _frames(arbiter, 0, [0.9] * 4 + [0.0] * _restore_frames())  # "uh ..."
    assert first == [arb.Duck(0), arb.SpeechDuringPlayback(0), arb.Restore(4)]
    again = _frames(arbiter, 4 + _restore_frames(), [0.9] * 8)  # "... wait, what about"
    assert again[0] == arb.Duck(4 + _restore_frames())
    assert again[1:] == [arb.BargeIn(0), arb.SpeechStart(1, 0, barge_in=True)]  # 200 ms of speech since the onset


def test_no_duck_without_an_answer_or_inside_the_wearers_own_turn():
    arbiter = arb.TurnArbiter(SILENCE)
    assert arb.Duck(0) not in _frames(arbiter, 0, [0.9] * 5)  # nothing playing
    arbiter.feed(arb.PlaybackState(True))  # a sound starts while the wearer holds the floor
    assert not [d for d in _frames(arbiter, 5, [0.9] * 5) if isinstance(d, (arb.Duck, arb.Restore))]


def test_an_answer_that_ends_while_ducked_is_not_restored_and_the_next_one_is_ducked_afresh():
    arbiter = arb.TurnArbiter(SILENCE)
    arbiter.feed(arb.PlaybackState(True))
    assert _frames(arbiter, 0, [0.9] * 4)[0] == arb.Duck(0)
    arbiter.feed(arb.PlaybackState(False))  # it finished under the wearer's "mm-hm"
    arbiter.feed(arb.PlaybackState(True))  # the next one starts at its full level
    assert _frames(arbiter, 4, [0.9])[0] == arb.Duck(0)  # the same sound, from its onset


def test_an_answer_to_an_old_question_is_stale():
    arbiter = arb.TurnArbiter(SILENCE)
    _frames(arbiter, 0, [0.9] * 5 + [0.0] * 30)  # turn 1, ended
    assert arbiter.feed(arb.AnswerStarted(10, 1)) == []
    assert arbiter.feed(arb.AnswerStarted(11, 0)) == []  # proactive (a timer): no turn to be stale for
    _frames(arbiter, 35, [0.9] * 5)  # turn 2 open
    assert arbiter.feed(arb.AnswerStarted(12, 1)) == [arb.AnswerStale(12, 1)]
    assert arbiter.feed(arb.AnswerStarted(13, 2)) == [arb.AnswerStale(13, 2)]  # the wearer is still talking
    assert arbiter.counters.stale_responses == 2


def test_losing_the_device_abandons_the_hosts_turn_and_starts_afresh():
    arbiter = arb.TurnArbiter(SILENCE)
    _frames(arbiter, 0, [0.9] * 10)
    assert arbiter.feed(arb.DeviceLost()) == [arb.SpeechLost(9), arb.Abandoned(1, 9)]
    assert arbiter.feed(arb.DeviceLost()) == []  # nothing open any more
    assert (arbiter.counters.speech_lost, arbiter.counters.turns_abandoned) == (1, 1)
    # the timeline goes on after the reconnect; speech is a new turn
    assert _frames(arbiter, 200, [0.9] * 3) == [arb.SpeechStart(2, 200)]


def test_speech_held_back_during_an_answer_is_lost_with_the_device_but_opens_no_turn():
    arbiter = arb.TurnArbiter(SILENCE)
    arbiter.feed(arb.PlaybackState(True))
    assert _frames(arbiter, 0, [0.9] * 4)[-1] == arb.SpeechDuringPlayback(0)
    assert arbiter.feed(arb.DeviceLost()) == [arb.SpeechLost(3)]


def _model_policy(**settings) -> ModelPolicy:
    return ModelPolicy.from_meta(TurnModelMeta.load(default_model_path().with_suffix(".json")), **settings)


def test_readings_of_the_words_are_filed_across_the_sequence_wrap():
    # The uplink's sequence numbers wrap at 2^32 in the middle of this turn.
    arbiter = arb.TurnArbiter(_model_policy(hint=0.5, tentative=0.5))
    arbiter.feed(arb.HostState(True))
    first = AUDIO_SEQ.add(0, -12)
    decisions = []
    for i in range(20):
        decisions += arbiter.feed(arb.Frame(AUDIO_SEQ.add(first, i), 0.9, 0.6 if i >= 15 else 0.0))
    assert decisions[0] == arb.SpeechStart(1, first)
    tentative = next(d for d in decisions if isinstance(d, arb.TentativeEnd))
    assert tentative.seq == AUDIO_SEQ.add(first, 15) == 3
    hint = arb.Hint(1, tentative.seq, complete=True, sure=True)
    assert arbiter.feed(hint) == [arb.HintFiled(1, 3, "complete")]
    assert arbiter.feed(arb.Hint(1, AUDIO_SEQ.add(first, -1), True, True)) == [
        arb.HintFiled(1, AUDIO_SEQ.add(first, -1), "stale")  # before the turn's first frame
    ]
    assert arbiter.feed(arb.Hint(1, 8, True, True)) == [arb.HintFiled(1, 8, "stale")]  # not yet heard
    assert arbiter.feed(arb.Hint(0, 3, True, True)) == [arb.HintFiled(0, 3, "stale")]  # another turn
    assert arbiter.feed(arb.Hint(1, 3, False, False)) == [arb.HintFiled(1, 3, "unsure")]
    # the complete reading confirms the end once the VAD hears the silence the rules ask for
    ends = []
    for i in range(20, 30):
        ends += [
            d for d in arbiter.feed(arb.Frame(AUDIO_SEQ.add(first, i), 0.0, 0.6)) if isinstance(d, arb.ConfirmedEnd)
        ]
    assert [e.reason for e in ends] == ["words"]


FRAME_RUNS = st.builds(
    lambda speech, end, n: [arb.Frame(0, speech, end)] * n,
    st.sampled_from([0.0, 0.4, 0.9]),
    st.none() | st.sampled_from([0.0, 0.6, 0.97]),
    st.integers(1, 40),
)
OTHERS = st.one_of(
    st.builds(arb.PlaybackState, st.booleans()),
    st.builds(arb.Hint, st.integers(0, 4), st.integers(0, 400), st.booleans(), st.booleans(), st.booleans()),
    st.builds(arb.HostState, st.booleans()),
    st.just(arb.DeviceLost()),
    st.builds(arb.AnswerStarted, st.integers(1, 9), st.integers(0, 4)),
    st.builds(arb.OverlapRead, st.integers(1, 4), st.sampled_from(arb.OVERLAP_VERDICTS)),
)
INPUTS = st.lists(FRAME_RUNS | OTHERS.map(lambda e: [e]), max_size=40).map(lambda runs: [e for r in runs for e in r])


@settings(max_examples=500, deadline=None)
@given(inputs=INPUTS, model=st.booleans(), words=st.booleans())
def test_the_host_sees_whole_turns_whatever_happens(inputs, model, words):
    """Any inputs: turns open and close in order with consecutive ids, ends and resumes belong to
    the open turn, and the same inputs always give the same decisions."""
    policy = _model_policy() if model else SILENCE
    runs = []
    for _ in range(2):
        arbiter, seq, decisions = arb.TurnArbiter(policy, overlaps=arb.OverlapRules() if words else None), 0, []
        for event in inputs:
            if isinstance(event, arb.Frame):  # frames in order
                event, seq = arb.Frame(seq, event.speech, event.end), seq + 1
            decisions.append(arbiter.feed(event))
        runs.append(decisions)
    assert runs[0] == runs[1]
    open_turn, last_id, pending, playing, ducked = None, 0, False, False, False
    for event, d in ((e, d) for e, step in zip(inputs, runs[0], strict=True) for d in [None, *step]):
        if d is None:  # before the input's decisions
            pending = pending and not isinstance(event, arb.DeviceLost)  # held-back speech is forgotten
            if isinstance(event, arb.PlaybackState):
                playing = event.playing
            # the answer a duck was for is gone: the next starts at full level
            ducked = ducked and playing and not isinstance(event, arb.DeviceLost)
        elif isinstance(d, arb.Duck):  # only a playing answer, once, and never in the wearer's own turn
            assert playing and not ducked and (pending or open_turn is None)
            ducked = True
        elif isinstance(d, arb.Restore):  # only what was ducked, outside the wearer's own turn
            assert ducked and (pending or open_turn is None)
            ducked = False
        elif isinstance(d, arb.SpeechStart):
            assert open_turn is None and d.turn_id == last_id + 1
            open_turn = last_id = d.turn_id
            pending = False
        elif isinstance(d, (arb.TentativeEnd, arb.Resumed, arb.ConfirmedEnd, arb.Abandoned)):
            assert d.turn_id == open_turn
            if isinstance(d, (arb.ConfirmedEnd, arb.Abandoned)):
                open_turn = None
        elif isinstance(d, arb.SpeechLost):
            assert isinstance(event, arb.DeviceLost)
        elif isinstance(d, arb.SpeechDuringPlayback):
            assert open_turn is None and not pending
            pending = True
        elif isinstance(d, (arb.BargeIn, arb.BackchannelIgnored)):
            assert pending
            pending = isinstance(d, arb.BargeIn)  # a SpeechStart follows a barge-in at once
            ducked = ducked and isinstance(d, arb.BackchannelIgnored)  # a barge-in's answer is stopped


# --- speech over an answer read by the host ---------------------------------------------------------

WORDS = arb.OverlapRules(max_overlap_ms=700, verdict_wait_ms=400)


def _asked(decisions: list[arb.Decision]) -> arb.AskOverlap:
    """The question asked once the speech fell silent (after any asked while it went on)."""
    return [d for d in decisions if isinstance(d, arb.AskOverlap)][-1]


def test_a_half_second_yes_read_as_a_backchannel_lets_the_answer_play_on_unanswered():
    arbiter = _reading_arbiter()
    decisions = _frames(arbiter, 0, [0.9] * 25 + [0.0] * _restore_frames())  # 500 ms: past barge_in_ms
    assert decisions == [
        arb.Duck(0),
        arb.SpeechDuringPlayback(0),
        arb.AskOverlap(1, 0, 9),  # read while it goes on, in case it is a "stop"
        arb.AskOverlap(2, 0, 24),  # and read whole when it is over
    ]
    assert arbiter.feed(arb.OverlapRead(1, "backchannel")) == [arb.OverlapFiled(1, "partial")]
    # the answer stays down while the words are read
    assert _frames(arbiter, 35, [0.0] * 3) == []
    assert arbiter.feed(arb.OverlapRead(2, "backchannel")) == [arb.OverlapFiled(2, "backchannel"), arb.Restore(25)]
    # its end is a backchannel's: no turn for the host, no barge-in
    rest = _frames(arbiter, 38, [0.0] * 20)
    assert rest == [arb.BackchannelIgnored(49)] and arbiter.turn_id == 0
    c = arbiter.counters
    assert (c.barge_ins, c.overlaps_asked, c.overlaps_backchannel, c.backchannels_ignored) == (0, 2, 1, 1)


def test_a_short_stop_read_as_an_interruption_stops_the_answer_and_opens_a_turn_from_its_onset():
    arbiter = _reading_arbiter()
    decisions = _frames(arbiter, 0, [0.9] * 8 + [0.0] * 6)  # 160 ms: under barge_in_ms; read after 100 ms
    assert _asked(decisions) == arb.AskOverlap(1, 0, 7)
    out = arbiter.feed(arb.OverlapRead(1, "interruption"))
    assert out == [arb.OverlapFiled(1, "interruption"), arb.BargeIn(0), arb.SpeechStart(1, 0, barge_in=True)]
    # the detector's ends of that speech are the host's turn's
    rest = _frames(arbiter, 14, [0.0] * 30)
    assert rest == [arb.TentativeEnd(1, 17, 1.0), arb.ConfirmedEnd(1, 32, 1.0, "silence")]
    assert arbiter.counters.overlaps_interruption == 1 and arbiter.counters.restores == 0


def _reading_arbiter(rules: arb.OverlapRules = WORDS) -> arb.TurnArbiter:
    arbiter = arb.TurnArbiter(SILENCE, barge_in_ms=200, overlaps=rules)
    arbiter.feed(arb.HostState(True))
    arbiter.feed(arb.PlaybackState(True))
    return arbiter


def test_an_interruption_read_after_the_speech_ended_gives_the_host_a_whole_turn():
    arbiter = _reading_arbiter(arb.OverlapRules(verdict_wait_ms=800))  # a host slower than the silence rule
    decisions = _frames(arbiter, 0, [0.9] * 8 + [0.0] * 25)  # the silence rule ends it meanwhile
    assert _asked(decisions) == arb.AskOverlap(1, 0, 7)
    assert not any(isinstance(d, (arb.BackchannelIgnored, arb.Restore)) for d in decisions)  # undecided
    out = arbiter.feed(arb.OverlapRead(1, "interruption"))
    assert out == [arb.OverlapFiled(1, "interruption"), arb.BargeIn(0), arb.SpeechStart(1, 0, barge_in=True),
                   arb.ConfirmedEnd(1, 32, 1.0, "overlap_read")]  # fmt: skip
    arbiter.feed(arb.PlaybackState(False))  # the flushed answer is gone: next speech is a turn of its own
    assert _frames(arbiter, 33, [0.9] * 3) == [arb.SpeechStart(2, 33)]


def test_without_a_reading_in_time_length_decides():
    for speech_frames, barge in [(8, False), (12, True)]:  # 160 ms and 240 ms against barge_in_ms
        arbiter = _reading_arbiter()
        decisions = _frames(arbiter, 0, [0.9] * speech_frames + [0.0] * (_restore_frames() + 20))
        ask = _asked(decisions)
        assert arb.OverlapFiled(ask.query_id, "late") in decisions
        assert (arb.BargeIn(0) in decisions) is barge and (arb.Restore(speech_frames) in decisions) is not barge
        assert arbiter.feed(arb.OverlapRead(ask.query_id, "backchannel")) == [arb.OverlapFiled(ask.query_id, "stale")]


def test_an_unsure_reading_or_the_host_going_away_leaves_it_to_length():
    arbiter = _reading_arbiter()
    _frames(arbiter, 0, [0.9] * 12 + [0.0] * _restore_frames())  # 240 ms: longer than barge_in_ms
    assert arbiter.feed(arb.OverlapRead(2, "unsure"))[:2] == [arb.OverlapFiled(2, "unsure"), arb.BargeIn(0)]
    assert arbiter.counters.overlaps_unsure == 1 and arbiter.counters.overlaps_by_length == 1
    arbiter = _reading_arbiter()
    _frames(arbiter, 0, [0.9] * 8 + [0.0] * _restore_frames())
    assert arbiter.feed(arb.HostState(False)) == [arb.OverlapFiled(1, "host_down"), arb.Restore(8)]


def test_long_speech_over_an_answer_interrupts_whatever_it_says():
    arbiter = _reading_arbiter()
    decisions = _frames(arbiter, 0, [0.9] * 40)
    assert decisions == [arb.Duck(0), arb.SpeechDuringPlayback(0), arb.AskOverlap(1, 0, 9), arb.BargeIn(0),
                         arb.SpeechStart(1, 0, barge_in=True)]  # fmt: skip
    assert decisions.index(arb.BargeIn(0)) == 3 and arbiter.counters.barge_ins == 1
    # no reading of it, asked while it went on, can bring the answer back
    assert arbiter.feed(arb.OverlapRead(1, "backchannel")) == [arb.OverlapFiled(1, "stale")]


def test_a_command_to_stop_read_while_the_speech_goes_on_stops_the_answer_there():
    arbiter = _reading_arbiter()
    assert _asked(_frames(arbiter, 0, [0.9] * 12)) == arb.AskOverlap(1, 0, 9)
    out = arbiter.feed(arb.OverlapRead(1, "interruption", command=True))
    assert out == [arb.OverlapFiled(1, "command"), arb.BargeIn(0), arb.SpeechStart(1, 0, barge_in=True)]
    # other content cut off half-way says nothing: the end is awaited
    arbiter = _reading_arbiter()
    _frames(arbiter, 0, [0.9] * 12)
    assert arbiter.feed(arb.OverlapRead(1, "interruption")) == [arb.OverlapFiled(1, "partial")]
    assert arbiter.counters.barge_ins == 0


def test_speech_that_goes_on_is_read_again_one_reading_at_a_time():
    arbiter = _reading_arbiter()
    asks = [d for d in _frames(arbiter, 0, [0.9] * 20) if isinstance(d, arb.AskOverlap)]
    assert asks == [arb.AskOverlap(1, 0, 9)]  # the first reading is not back yet: no second question
    assert arbiter.feed(arb.OverlapRead(1, "backchannel")) == [arb.OverlapFiled(1, "partial")]  # the "s" of "stop"
    assert _frames(arbiter, 20, [0.9]) == [arb.AskOverlap(2, 0, 20)]  # at least REREAD_MS more since the first
    out = arbiter.feed(arb.OverlapRead(2, "interruption", command=True))
    assert out[:2] == [arb.OverlapFiled(2, "command"), arb.BargeIn(0)]


def test_the_wearer_going_on_after_the_question_makes_its_reading_stale():
    arbiter = _reading_arbiter()
    _frames(arbiter, 0, [0.9] * 8 + [0.0] * _restore_frames())
    assert _frames(arbiter, 18, [0.9]) == [arb.OverlapFiled(1, "went_on")]
    assert arbiter.feed(arb.OverlapRead(1, "backchannel")) == [arb.OverlapFiled(1, "stale")]
    # still down; asked again about the whole of it once it falls silent
    decisions = _frames(arbiter, 19, [0.9] * 4 + [0.0] * _restore_frames())
    assert _asked(decisions) == arb.AskOverlap(3, 0, 22) and not any(isinstance(d, arb.Restore) for d in decisions)


def test_without_a_host_speech_over_an_answer_is_decided_by_length_as_without_rules():
    arbiter = arb.TurnArbiter(SILENCE, barge_in_ms=200, overlaps=WORDS)
    arbiter.feed(arb.PlaybackState(True))
    decisions = _frames(arbiter, 0, [0.9] * 10)
    assert decisions[-2:] == [arb.BargeIn(0), arb.SpeechStart(1, 0, barge_in=True)]


def test_overlap_readings_and_rules_are_checked():
    import pytest

    with pytest.raises(ValueError, match="verdict"):
        arb.OverlapRead(1, "maybe")
    with pytest.raises(ValueError, match="one frame"):
        arb.OverlapRules(max_overlap_ms=0)


def test_an_interruption_read_after_a_tentative_end_tells_the_host_of_it():
    """The host prepares the answer, and reads the words back, from the tentative end on: a turn
    opened after it must not miss it (the end would then wait for the fallback rule)."""
    arbiter = _reading_arbiter()
    decisions = _frames(arbiter, 0, [0.9] * 8 + [0.0] * 12)  # tentative at 200 ms of silence: frame 17
    assert not any(isinstance(d, arb.TentativeEnd) for d in decisions)
    out = arbiter.feed(arb.OverlapRead(_asked(decisions).query_id, "interruption"))
    assert out[1:] == [arb.BargeIn(0), arb.SpeechStart(1, 0, barge_in=True), arb.TentativeEnd(1, 17, 1.0)]
    assert _frames(arbiter, 20, [0.0] * 20)[-1] == arb.ConfirmedEnd(1, 32, 1.0, "silence")


@settings(max_examples=500, deadline=None)
@given(inputs=INPUTS, model=st.booleans(), words=st.booleans())
def test_an_answer_held_for_speech_over_it_is_always_let_go(inputs, model, words):
    """The daemon holds the answer at SpeechDuringPlayback. Whatever happens, once the wearer has
    been silent a while it has been let go: by a Restore (it goes on from where it was), a BargeIn
    (it is flushed) or its end (playback over, or the device gone); a Duck does not let it go."""
    policy = _model_policy() if model else SILENCE
    arbiter, seq = arb.TurnArbiter(policy, overlaps=arb.OverlapRules() if words else None), 0
    held = playing = False
    for event in [*inputs, *[arb.Frame(0, 0.0)] * 100]:  # then two seconds of silence
        if isinstance(event, arb.Frame):
            event, seq = arb.Frame(seq, event.speech, event.end), seq + 1
        if isinstance(event, arb.PlaybackState):
            playing = event.playing
        if isinstance(event, arb.DeviceLost) or not playing:
            held = False
        for d in arbiter.feed(event):
            if isinstance(d, arb.SpeechDuringPlayback):
                assert playing
                held = True
            elif isinstance(d, (arb.Restore, arb.BargeIn)):
                held = False
    assert not held


def test_the_onset_cue_ducks_the_answer_before_the_vad_and_only_ducks():
    arbiter = arb.TurnArbiter(SILENCE, barge_in_ms=200)
    arbiter.feed(arb.PlaybackState(True))
    # two frames loud enough to be the wearer, the VAD still unsure: down at the first of them
    assert arbiter.feed(arb.Frame(10, 0.1, None, True)) == [arb.Duck(10)]
    assert arbiter.feed(arb.Frame(11, 0.2, None, True)) == []
    # nothing more came of it (a knock, a breath): back once it has been quiet RESTORE_AFTER_MS
    quiet = _frames(arbiter, 12, [0.0] * _restore_frames())
    assert quiet == [arb.Restore(12)] and arbiter.turn_id == 0
    assert (arbiter.counters.ducks, arbiter.counters.ducks_on_cue, arbiter.counters.restores) == (1, 1, 1)
    # cues never hold or stop the answer, however many: only the VAD's speech does
    decisions = [d for i in range(30) for d in arbiter.feed(arb.Frame(30 + i, 0.0, None, True))]
    assert decisions == [arb.Duck(30)] and arbiter.counters.barge_ins == 0


def test_a_cue_then_the_vad_is_one_duck_and_the_speech_is_held_as_ever():
    arbiter = arb.TurnArbiter(SILENCE, barge_in_ms=200)
    arbiter.feed(arb.PlaybackState(True))
    out = arbiter.feed(arb.Frame(0, 0.3, None, True))
    out += _frames(arbiter, 1, [0.9] * 10)
    assert out == [arb.Duck(0), arb.SpeechDuringPlayback(1), arb.BargeIn(1), arb.SpeechStart(1, 1, barge_in=True)]


# --- speech over an answer that goes on past max_overlap_ms --------------------------------------

LIMIT_FRAMES = arb.MAX_OVERLAP_MS // FRAME_MS
BACKCHANNEL_LIMIT_FRAMES = arb.MAX_BACKCHANNEL_MS // FRAME_MS


def _talk_over(
    arbiter: arb.TurnArbiter, speech: list[float], readings: list[str]
) -> tuple[list[arb.Decision], list[tuple[int, str]], int | None]:
    """``speech`` over the answer from frame 0, each question asked while it goes on answered at
    once with the next of ``readings`` (none once they run out: the host is still reading). The
    decisions, the readings given (frame, verdict), and the frame of the barge-in (None: none)."""
    out: list[arb.Decision] = []
    given: list[tuple[int, str]] = []
    replies = iter(readings)
    stopped = None
    for i, p in enumerate(speech):
        for d in arbiter.feed(arb.Frame(i, p)):
            out.append(d)
            if isinstance(d, arb.AskOverlap) and (verdict := next(replies, None)) is not None:
                given.append((i, verdict))
                out += arbiter.feed(arb.OverlapRead(d.query_id, verdict))
        if stopped is None and any(isinstance(d, arb.BargeIn) for d in out):
            stopped = i
    return out, given, stopped


def test_a_drawn_out_mm_hm_read_as_listening_so_far_goes_on_past_max_overlap_ms_and_is_no_turn():
    """A hum's readings, as Whisper spells it longer each time: "And", "and the mason." (doubted),
    "and the nature." (a content word, once), "and the MHM." ... None of them is two content
    readings in a row, so the answer is not stopped at max_overlap_ms and the hum gets no reply."""
    arbiter = _reading_arbiter(arb.OverlapRules())
    hum = ["backchannel", "unsure", "interruption", "unsure", "backchannel", "unsure", "backchannel"]
    frames = LIMIT_FRAMES + 15  # a second of it
    decisions, given, stopped = _talk_over(arbiter, [0.9] * frames + [0.0] * _restore_frames(), hum)
    assert stopped is None and len(given) == len(hum) and arbiter.turn_id == 0
    last = _asked(decisions)
    assert last.last_seq == frames - 1  # read whole once it fell silent
    assert arbiter.feed(arb.OverlapRead(last.query_id, "backchannel")) == [
        arb.OverlapFiled(last.query_id, "backchannel"), arb.Restore(frames)]  # fmt: skip
    rest = _frames(arbiter, frames + _restore_frames(), [0.0] * 30)
    assert rest == [arb.BackchannelIgnored(frames + SILENCE.confirm_ms // FRAME_MS - 1)] and arbiter.turn_id == 0
    assert arbiter.counters.overlaps_held_longer == 1 and arbiter.counters.barge_ins == 0


def test_speech_read_as_listening_still_interrupts_at_max_backchannel_ms():
    arbiter = _reading_arbiter(arb.OverlapRules())
    decisions, _, stopped = _talk_over(arbiter, [0.9] * (BACKCHANNEL_LIMIT_FRAMES + 10), ["backchannel"] * 100)
    assert stopped == BACKCHANNEL_LIMIT_FRAMES - 1  # its voiced length counts its first frame
    assert decisions[-2:] == [arb.BargeIn(0), arb.SpeechStart(1, 0, barge_in=True)]
    assert arbiter.counters.overlaps_held_longer == 1


def test_content_read_twice_in_a_row_ends_the_longer_limit_at_once():
    """ "Okay, but what about Anne?": "Okay." while it lasts, then "Okay, but what?", "Okay, but
    what about" (doubted), "Okay, but what about" and "Okay, but what about it?": the second
    content reading in a row, past max_overlap_ms, stops the answer at the next frame."""
    arbiter = _reading_arbiter(arb.OverlapRules())
    readings = ["backchannel"] * 6 + ["interruption", "unsure", "interruption", "interruption"]
    _, given, stopped = _talk_over(arbiter, [0.9] * BACKCHANNEL_LIMIT_FRAMES, readings)
    assert given[-1][0] > LIMIT_FRAMES and stopped == given[-1][0] + 1


def test_without_a_reading_of_listening_speech_over_an_answer_stops_at_max_overlap_ms():
    """A real interruption with no command in it ("What about tomorrow?", a read sentence): its
    readings find content or doubt it, never listening, and the longer limit is not for it."""
    for readings in (["unsure", "unsure", "interruption"], ["interruption"] * 10, ["unsure"] * 10, []):
        arbiter = _reading_arbiter(arb.OverlapRules())
        _, _, stopped = _talk_over(arbiter, [0.9] * (LIMIT_FRAMES + 5), readings)
        assert stopped == LIMIT_FRAMES - 1 and arbiter.counters.overlaps_held_longer == 0, readings


def test_a_command_still_stops_speech_read_as_listening_at_once():
    """ "Okay, okay, stop.": listening until the command is read, whatever the limit."""
    arbiter = _reading_arbiter(arb.OverlapRules())
    _talk_over(arbiter, [0.9] * (LIMIT_FRAMES + 5), ["backchannel"] * 100)
    assert arbiter.counters.barge_ins == 0 and arbiter.counters.overlaps_held_longer == 1
    ask = _asked(_frames(arbiter, LIMIT_FRAMES + 5, [0.9] * 10))
    out = arbiter.feed(arb.OverlapRead(ask.query_id, "interruption", command=True))
    assert out == [arb.OverlapFiled(ask.query_id, "command"), arb.BargeIn(0), arb.SpeechStart(1, 0, barge_in=True)]


def test_the_longer_limit_is_checked():
    import pytest

    with pytest.raises(ValueError, match="max_backchannel_ms"):
        arb.OverlapRules(max_overlap_ms=700, max_backchannel_ms=600)


def test_a_backchannel_read_from_no_words_is_no_sign_of_listening():
    """The wearer talking over a loud echo: Whisper writes nothing for their first words. That is
    no reason to let them go on past max_overlap_ms."""
    arbiter = _reading_arbiter(arb.OverlapRules())
    out: list[arb.Decision] = []
    stopped = None
    for i in range(LIMIT_FRAMES + 10):
        for d in arbiter.feed(arb.Frame(i, 0.9)):
            out.append(d)
            if isinstance(d, arb.AskOverlap):
                out += arbiter.feed(arb.OverlapRead(d.query_id, "backchannel", words=False))
        if stopped is None and any(isinstance(d, arb.BargeIn) for d in out):
            stopped = i
    assert stopped == LIMIT_FRAMES - 1 and arbiter.counters.overlaps_held_longer == 0
