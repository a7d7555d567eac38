"""The host's buffer of the wearer's audio: one 20 ms slot per uplink frame number, gaps filled."""

import numpy as np

from sottovoce.host.uplink_audio import UplinkAudio
from sottovoce.proto.codec import FRAME_SAMPLES, MAX_GAP_FRAMES, MAX_PLC_FRAMES, OpusDecoder, OpusEncoder, fill_gap
from sottovoce.proto.timeline import AUDIO_SEQ


def tone_packets(n: int) -> list[bytes]:
    enc = OpusEncoder()
    t = np.arange(n * FRAME_SAMPLES) / 16000
    pcm = (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    return [enc.encode(pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]) for i in range(n)]


def test_a_gap_is_concealed_then_silent_so_frames_keep_their_numbers():
    packets = tone_packets(4)
    audio = UplinkAudio()
    start = AUDIO_SEQ.modulus - 2  # across the counter's wrap
    audio.push(start, packets[0])
    gap = MAX_PLC_FRAMES + 3
    audio.push(AUDIO_SEQ.add(start, 1 + gap), packets[1])
    assert audio.counters.concealed == MAX_PLC_FRAMES and audio.counters.silent_filled == 3
    assert audio.last_seq == AUDIO_SEQ.add(start, 1 + gap)
    assert len(audio.slice(start)) == (2 + gap) * FRAME_SAMPLES
    silent = audio.slice(AUDIO_SEQ.add(start, 1 + MAX_PLC_FRAMES), AUDIO_SEQ.add(start, gap))
    assert len(silent) == 3 * FRAME_SAMPLES and not silent.any()


def test_late_frames_are_counted_and_a_long_jump_starts_afresh():
    packets = tone_packets(3)
    audio = UplinkAudio()
    audio.push(100, packets[0])
    audio.push(99, packets[1])
    assert audio.counters.late_or_duplicate == 1
    audio.push(101 + MAX_GAP_FRAMES + 1, packets[2])
    assert audio.counters.restarts == 1
    assert len(audio.slice(0)) == FRAME_SAMPLES  # only the new frame: nothing invented for 10 s


def test_fill_gap_stands_in_frame_for_frame():
    frames = fill_gap(OpusDecoder(), MAX_PLC_FRAMES + 2, tone_packets(1)[0])
    assert [len(f) for f in frames] == [FRAME_SAMPLES] * (MAX_PLC_FRAMES + 2)
    assert not frames[-1].any() and not frames[-2].any()
