"""The wrapping counters shared by the edge, the host and the BLE profile."""

from hypothesis import given
from hypothesis import strategies as st

from sottovoce.proto.timeline import AUDIO_SEQ, BLE_ID, frames_in, ms_between

u32 = st.integers(0, AUDIO_SEQ.modulus - 1)


@given(u32, st.integers(0, AUDIO_SEQ.modulus // 2 - 1))
def test_forward_and_delta_undo_add(start, step):
    later = AUDIO_SEQ.add(start, step)
    assert AUDIO_SEQ.forward(start, later) == step
    assert AUDIO_SEQ.delta(start, later) == step
    assert AUDIO_SEQ.delta(later, start) == -step


def test_wraps_at_the_counter_width():
    assert AUDIO_SEQ.add(0xFFFF_FFFF) == 0
    assert BLE_ID.add(0xFFFF, 2) == 1
    assert BLE_ID.forward(0xFFFE, 1) == 3
    assert BLE_ID.delta(1, 0xFFFE) == -3


def test_ms_between_counts_frames_across_the_wrap():
    assert ms_between(0xFFFF_FFFE, 3) == 5 * 20
    assert ms_between(7, 7) == 0
    assert frames_in(300) == 15
    assert frames_in(39.9) == 1
