"""The onset cue on its own: levels in, cues out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sottovoce.edge.onset import (
    ABOVE_FLOOR_DB,
    CANCELLED_LEARN_FRAMES,
    ECHO_SPAN_FRAMES,
    LEARN_DELAY_FRAMES,
    LEARN_FRAMES,
    MIN_CUE_DBFS,
    OnsetCue,
)

QUIET = -60.0  # the cancelled frame's level in a quiet room
SILENT_REF = -120.0


def _feed(cue: OnsetCue, frames: list[tuple[float, float, bool]]) -> list[bool]:
    """(level, reference level, VAD heard the wearer) per frame -> cues, the microphone's and the
    cancelled frame's levels the same (as with an echo under the background)."""
    out = []
    for level, ref, speech in frames:
        out.append(cue.frame(level, level, ref))
        cue.near_end(speech)
    return out


def test_a_jump_above_the_background_is_a_cue_at_once_without_an_answer():
    cue = OnsetCue()
    got = _feed(cue, [(QUIET, SILENT_REF, False)] * 20 + [(QUIET + ABOVE_FLOOR_DB + 1, SILENT_REF, False)])
    assert got == [False] * 20 + [True]
    assert not _feed(cue, [(QUIET + ABOVE_FLOOR_DB - 1, SILENT_REF, False)])[0]


def test_in_a_near_silent_room_a_faint_sound_is_no_cue():
    cue = OnsetCue()
    got = _feed(cue, [(-110.0, SILENT_REF, False)] * 20 + [(MIN_CUE_DBFS - 5, SILENT_REF, False)])
    assert not any(got)  # 55 dB above the floor, but no voice at the mic is that faint
    assert _feed(cue, [(MIN_CUE_DBFS + 5, SILENT_REF, False)])[0]


def test_with_an_answer_playing_no_cue_until_its_residual_is_learned_and_then_only_above_it():
    cue = OnsetCue()
    _feed(cue, [(QUIET, SILENT_REF, False)] * 20)
    # a frame 20 dB above the room, the answer playing: no cue before the residual is known
    assert not any(_feed(cue, [(-40.0, -30.0, False)] * 3))
    # ... it was echo (the VAD heard nothing): learned, as the canceller leaving the answer 10 dB down
    _feed(cue, [(-52.0, -30.0, False)] * (LEARN_FRAMES + LEARN_DELAY_FRAMES))
    assert cue.counters.residual_db == -10
    assert not _feed(cue, [(-32.0, -30.0, False)])[0]  # within 10 dB of the most seen: could be echo
    assert _feed(cue, [(-25.0, -30.0, False)])[0]  # the wearer


def test_the_frames_before_the_vad_hears_the_wearer_are_not_learned_as_echo():
    cue = OnsetCue()
    _feed(cue, [(QUIET, SILENT_REF, False)] * 20 + [(-52.0, -30.0, False)] * (LEARN_FRAMES + LEARN_DELAY_FRAMES))
    learned = cue.counters.residual_db
    onset = [(-35.0, -30.0, False)] * 4 + [(-33.0, -30.0, True)] * 5  # the VAD hears it 80 ms in
    assert _feed(cue, onset)[:4] == [True] * 4
    _feed(cue, [(-52.0, -30.0, False)] * (2 * LEARN_DELAY_FRAMES))
    assert cue.counters.residual_db <= learned  # the onset's frames never became "echo"
    assert _feed(cue, [(-35.0, -30.0, False)])[0]


@given(st.lists(st.tuples(st.floats(-120, 0), st.floats(-120, 0), st.booleans()), max_size=200))
def test_the_echo_is_learned_and_stops_being_a_cue(frames):
    """Whatever came before: the same echo frame, heard for long enough with the VAD silent, is no
    cue any more."""
    cue = OnsetCue()
    _feed(cue, frames)
    got = _feed(cue, [(-40.0, -30.0, False)] * (LEARN_FRAMES + LEARN_DELAY_FRAMES + 5))
    assert not got[-1]


def test_an_onset_the_canceller_holds_down_is_a_cue_on_the_microphone_s_level():
    cue = OnsetCue()
    _feed(cue, [(QUIET, SILENT_REF, False)] * 20)
    # the echo path puts the answer 20 dB under its reference into the mic; the canceller takes it out
    for _ in range(LEARN_FRAMES + LEARN_DELAY_FRAMES):
        cue.frame(-50.0, QUIET, -30.0)
        cue.near_end(False)
    assert cue.counters.echo_path_db == -20
    assert not cue.frame(-45.0, QUIET, -30.0)  # louder echo, nothing left after cancellation: no cue
    cue.near_end(False)
    assert cue.frame(-30.0, QUIET + 3, -30.0)  # the wearer, suppressed by the canceller, loud at the mic
    assert cue.counters.cues_raw_only == 1


def test_what_a_converging_canceller_lets_through_is_no_cue_until_it_has_been_heard_for_long():
    cue = OnsetCue()
    _feed(cue, [(QUIET, SILENT_REF, False)] * 20)
    learning = LEARN_FRAMES + LEARN_DELAY_FRAMES
    for _ in range(learning):  # the echo path: 20 dB under the reference; cancelled to the room's level
        cue.frame(-50.0, QUIET, -30.0)
        cue.near_end(False)
    # the answer's next word after a pause: the canceller lets 20 dB more through, the mic hears no more
    assert not cue.frame(-50.0, -40.0, -30.0)
    cue.near_end(True)  # (not learned from, so the same frame can be asked about again)
    for _ in range(CANCELLED_LEARN_FRAMES + LEARN_DELAY_FRAMES):
        cue.frame(-50.0, QUIET, -30.0)
        cue.near_end(False)
    assert cue.frame(-50.0, -40.0, -30.0)  # by now the wearer: the canceller has been heard for long


def test_a_quiet_frame_of_the_answer_right_after_a_loud_one_is_no_cue_while_its_echo_is_on_the_way():
    cue = OnsetCue()
    _feed(cue, [(QUIET, SILENT_REF, False)] * 20)
    for _ in range(LEARN_FRAMES + LEARN_DELAY_FRAMES):  # a steady answer, its echo 20 dB under it
        cue.frame(-50.0, -50.0, -30.0, delay_ms=60)
        cue.near_end(False)
    # the answer falls silent: the mic still hears the loud frames' echo, 60 ms behind them
    assert not any(cue.frame(-50.0, -50.0, -65.0, delay_ms=60) for _ in range(4))
    assert not cue.frame(-50.0, -50.0, -65.0, delay_ms=None)  # nor before the delay is estimated
    assert cue.frame(-30.0, -30.0, -65.0, delay_ms=60)  # the wearer, louder than any echo of it


def _inaudible_after(cue: OnsetCue, frames: list[tuple[float, float, bool]]) -> list[bool]:
    out = []
    for level, ref, speech in frames:
        cue.frame(level, level, ref)
        out.append(cue.answer_inaudible())
        cue.near_end(speech)
    return out


def test_an_answer_under_the_background_is_inaudible_and_one_above_it_is_not():
    noise = [QUIET + (k % 3) * 0.5 for k in range(200)]  # a background with its small ups and downs
    hidden, heard = OnsetCue(), OnsetCue()
    for cue in (hidden, heard):  # the background before the answer
        _inaudible_after(cue, [(level, SILENT_REF, False) for level in noise[:40]])
    under = _inaudible_after(hidden, [(level + 0.3, -30.0, False) for level in noise])  # echo ~11 dB under it
    over = _inaudible_after(heard, [(level + 8.0, -30.0, False) for level in noise])  # echo above it
    assert not any(under[: LEARN_FRAMES + LEARN_DELAY_FRAMES])  # nothing is known before it is learned
    assert all(under[LEARN_FRAMES + LEARN_DELAY_FRAMES + 1 :])
    assert not any(over)  # an echo plainly above the background never is
    # no answer playing: nothing to be inaudible
    assert not any(_inaudible_after(hidden, [(QUIET, SILENT_REF, False)] * 60)[55:])


def test_the_wearer_unheard_by_the_vad_does_not_make_an_inaudible_answer_audible():
    cue = OnsetCue()
    _inaudible_after(cue, [(QUIET, SILENT_REF, False)] * 40 + [(QUIET, -30.0, False)] * 100)
    # a word the VAD missed, learned from as if it were the answer's echo
    got = _inaudible_after(cue, [(QUIET + 35.0, -30.0, False)] * 20 + [(QUIET, -30.0, False)] * 20)
    assert all(got)


def test_the_first_echo_of_the_answer_resuming_after_a_pause_is_no_cue_on_the_cancelled_level():
    """AEC3 lets the first echo of a word after silence through: the cancelled frame then stands
    above all it was learned to leave, while the microphone hears no more than the echo."""
    cue = OnsetCue()
    _feed(cue, [(QUIET, SILENT_REF, False)] * 20)
    for _ in range(CANCELLED_LEARN_FRAMES + LEARN_DELAY_FRAMES):  # the echo 20 dB under the answer, cancelled
        cue.frame(-50.0, QUIET, -30.0, delay_ms=40)
        cue.near_end(False)
    for _ in range(3):  # a pause in the answer
        cue.frame(-58.0, QUIET, SILENT_REF, delay_ms=40)
        cue.near_end(False)
    # the next word, quiet at first: the canceller lets its echo through, in every frame whose
    # echo may still come from the pause (the delay's 2 frames and the span's)
    resumed = [cue.frame(-58.0, -44.0, -50.0, delay_ms=40) for _ in range(ECHO_SPAN_FRAMES + 2 - 1)]
    assert not any(resumed)
    # once the pause has left the frames whose echo may be in this one, the same level is a cue
    assert cue.frame(-58.0, -44.0, -50.0, delay_ms=40)
    # and in a pause the wearer is heard on the microphone's level, as ever
    cue.frame(-58.0, QUIET, SILENT_REF, delay_ms=40)
    cue.near_end(False)
    assert cue.frame(-30.0, -30.0, SILENT_REF, delay_ms=40)
