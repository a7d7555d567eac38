"""The host's turn ledger: edge turn events in, the host's decisions out, on the audio's clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sottovoce.host.turn_ledger import (
    Abandoned,
    AnswerProgress,
    ConfirmedEnd,
    Discard,
    Drop,
    Interrupt,
    LedgerConfig,
    Open,
    Prepare,
    Reject,
    Release,
    Resumed,
    SpeechStart,
    TakeBack,
    TentativeEnd,
    TurnLedger,
)
from sottovoce.proto.timeline import AUDIO_SEQ

PREROLL = LedgerConfig().preroll_ms // 20  # frames


def confirmed_turn(ledger: TurnLedger, turn_id: int = 1, start: int = 100, end: int = 200) -> None:
    ledger.feed(SpeechStart(turn_id, start))
    ledger.feed(TentativeEnd(turn_id, end))
    ledger.feed(ConfirmedEnd(turn_id, end))


def test_a_turn_is_prepared_at_its_tentative_end_and_released_at_its_confirmed_end():
    ledger = TurnLedger()
    assert ledger.feed(SpeechStart(1, 100)) == [Open(1, 100 - PREROLL)]
    assert ledger.open_turn == 1
    assert ledger.feed(TentativeEnd(1, 150)) == [Prepare(1, 150)]
    assert ledger.feed(Resumed(1, 151)) == [Discard(1)]
    assert ledger.feed(TentativeEnd(1, 200)) == [Prepare(1, 200)]
    assert ledger.feed(TentativeEnd(1, 210)) == [Discard(1), Prepare(1, 210)]
    assert ledger.feed(ConfirmedEnd(1, 210)) == [Release(1, 210)]
    assert (ledger.open_turn, ledger.last_confirmed) == (None, 1)


def test_an_end_confirmed_without_prepared_work_prepares_it_then():
    ledger = TurnLedger()
    ledger.feed(SpeechStart(1, 100))
    ledger.feed(TentativeEnd(1, 150))
    ledger.feed(Resumed(1, 151))
    assert ledger.feed(ConfirmedEnd(1, 220)) == [Prepare(1, 220), Release(1, 220)]


def test_events_for_a_turn_that_is_not_open_are_rejected():
    ledger = TurnLedger()
    assert ledger.feed(TentativeEnd(3, 10)) == [Reject("TENTATIVE_END for unknown turn 3")]
    ledger.feed(SpeechStart(1, 100))
    assert ledger.feed(ConfirmedEnd(2, 110)) == [Reject("CONFIRMED_END for unknown turn 2")]
    assert ledger.counters.rejected == 2


def test_new_speech_drops_an_open_turn_and_a_barge_in_interrupts():
    ledger = TurnLedger()
    ledger.feed(SpeechStart(1, 100))
    ledger.feed(TentativeEnd(1, 150))
    assert ledger.feed(SpeechStart(2, 400, barge_in=True)) == [Interrupt(), Drop(1), Open(2, 400 - PREROLL)]


def test_a_turn_whose_audio_was_lost_is_dropped_unanswered():
    ledger = TurnLedger()
    ledger.feed(SpeechStart(1, 100))
    ledger.feed(TentativeEnd(1, 150))
    assert ledger.feed(Abandoned(1, 160)) == [Discard(1), Drop(1)]
    assert (ledger.open_turn, ledger.last_confirmed, ledger.counters.abandoned) == (None, None, 1)
    # Nothing was answered, so the next speech is a turn of its own, not a continuation.
    assert ledger.feed(SpeechStart(2, 170)) == [Open(2, 170 - PREROLL)]


def test_speech_right_after_a_confirmed_end_continues_that_turn():
    ledger = TurnLedger()
    confirmed_turn(ledger, 1, start=100, end=200)
    # 20 frames (400 ms) later, the answer not started yet: the turn goes on, heard from its start
    assert ledger.feed(SpeechStart(2, 220, barge_in=True)) == [TakeBack(1, 2, 400), Interrupt(), Open(2, 100 - PREROLL)]
    assert ledger.last_confirmed is None and ledger.counters.continued_turns == 1


def test_speech_long_after_the_end_or_after_hearing_the_answer_is_a_turn_of_its_own():
    gap = LedgerConfig().continuation_gap_ms // 20
    react = LedgerConfig().continuation_react_ms // 20
    playing = AnswerProgress(started_seq=201, heard_samples=0, heard_whole=False)
    cases = {
        "after the gap": (200 + gap + 1, None),
        "answer heard whole": (210, AnswerProgress(started_seq=201, heard_samples=8000, heard_whole=True)),
        "answer playing for a while": (202 + react + 1, playing),
        "answer heard before it was cut": (
            210,
            AnswerProgress(started_seq=205, heard_samples=16000, heard_whole=False),
        ),
    }
    for name, (seq, answer) in cases.items():
        ledger = TurnLedger()
        confirmed_turn(ledger, 1, start=100, end=200)
        assert ledger.feed(SpeechStart(2, seq, answer=answer)) == [Open(2, seq - PREROLL)], name
    ledger = TurnLedger()
    confirmed_turn(ledger, 1, start=100, end=200)
    assert ledger.feed(SpeechStart(2, 201 + react, answer=playing))[0] == TakeBack(1, 2, (1 + react) * 20)


def test_a_barge_in_that_goes_on_with_the_turn_is_judged_by_what_was_heard_before_it():
    # The wearer finishes their sentence 200 ms into an early answer; the edge stops the answer
    # only once the host has read the overlap, 1.2 s of it played by then. The new words continue
    # the turn: it is heard again from its first words, not from where the wearer went on.
    ledger = TurnLedger()
    confirmed_turn(ledger, 1, start=100, end=200)
    stopped = AnswerProgress(started_seq=205, heard_samples=19200, heard_whole=False)
    decisions = ledger.feed(SpeechStart(2, 215, barge_in=True, answer=stopped))
    assert decisions == [TakeBack(1, 2, 300), Interrupt(), Open(2, 100 - PREROLL)]
    # Answer audio that had played long before the wearer spoke is still a reply to it.
    ledger = TurnLedger()
    confirmed_turn(ledger, 1, start=100, end=200)
    react = LedgerConfig().continuation_react_ms // 20
    late = SpeechStart(2, 206 + react, barge_in=True, answer=stopped)
    assert ledger.feed(late) == [Interrupt(), Open(2, 206 + react - PREROLL)]


def test_the_audio_clock_wraps():
    ledger = TurnLedger()
    top = AUDIO_SEQ.modulus - 1
    assert ledger.feed(SpeechStart(1, 3)) == [Open(1, AUDIO_SEQ.add(3, -PREROLL))]
    ledger.feed(ConfirmedEnd(1, top - 5))  # (a turn that long is nonsense; the arithmetic is the point)
    assert ledger.feed(SpeechStart(2, 4))[0] == TakeBack(1, 2, 10 * 20)


turn_ids = st.integers(1, 4)
seqs = st.integers(0, AUDIO_SEQ.modulus - 1)
progress = st.none() | st.builds(AnswerProgress, st.none() | seqs, st.integers(0, 10**6), st.booleans())
inputs = st.one_of(
    st.builds(SpeechStart, turn_ids, seqs, st.booleans(), progress),
    st.builds(TentativeEnd, turn_ids, seqs),
    st.builds(Resumed, turn_ids, seqs),
    st.builds(ConfirmedEnd, turn_ids, seqs),
    st.builds(Abandoned, turn_ids, seqs),
)


@given(st.lists(inputs, max_size=40))
def test_any_sequence_of_events_gives_consistent_decisions(events):
    """Whatever the edge sends: work is prepared before it is released or discarded, only the
    open turn is acted on, and only a released turn is taken back."""
    ledger = TurnLedger()
    open_turn = preparing = released = None
    for event in events:
        for d in ledger.feed(event):
            if isinstance(d, Open):
                assert open_turn is None and d.turn_id == event.turn_id
                open_turn, preparing = d.turn_id, False
            elif isinstance(d, Drop):
                assert d.turn_id == open_turn
                open_turn = None
            elif isinstance(d, Prepare):
                assert d.turn_id == open_turn and not preparing
                preparing = True
            elif isinstance(d, Discard):
                assert d.turn_id == open_turn and preparing
                preparing = False
            elif isinstance(d, Release):
                assert d.turn_id == open_turn and preparing
                open_turn, released = None, d.turn_id
            elif isinstance(d, TakeBack):
                assert d.turn_id == released and open_turn is None
                released = None
            elif isinstance(d, Interrupt):
                assert isinstance(event, SpeechStart) and event.barge_in
            else:
                assert isinstance(d, Reject)
        assert ledger.open_turn == open_turn
