"""The simulator's other person (an utterance said at a distance, in a room) and its outward speaker
(recorded as outward.wav, leaking into the mic), as scenarios declare them."""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.firmware_sim.recorder import write_wav
from sottovoce.firmware_sim.room import CLOSE_TALK_DBFS, Room, at_distance, distance_gain_db, spoken_at
from sottovoce.firmware_sim.scenario import ScenarioError, load_scenario, parse_scenario, synthesize
from sottovoce.firmware_sim.simulator import Simulator
from sottovoce.host.whisper import active_rms_dbfs
from sottovoce.proto.codec import DOWNLINK_CONFIG, FRAME_SAMPLES, SAMPLE_RATE, OpusEncoder, frames_of
from sottovoce.proto.events import read_sim_events
from sottovoce.proto.gatt import speaker
from sottovoce.proto.gatt.speaker import DownlinkPacketizer

OTHER = """
mode = "translation"
language = "es"
lead_in = 0
[[utterance]]
speaker = "other"
language = "es"
distance_m = 2.0
say = "Hola."
at = 1
[[utterance]]
say = "Hello."
after = "previous_end"
[outward]
gain_db = -6
delay_ms = 5
"""


def test_the_other_person_speaks_their_language_in_espeak_at_their_distance():
    s = parse_scenario(OTHER, "t.toml")
    other, wearer = s.utterances
    assert (other.speaker, other.language, other.tts, other.voice, other.distance_m) == ("other", "es", "espeak",
                                                                                         "es", 2.0)  # fmt: skip
    assert (wearer.speaker, wearer.tts, wearer.distance_m) == ("wearer", "piper", 1.5)
    assert (s.mode, s.language, s.outward.gain_db, s.outward.delay_ms) == ("translation", "es", -6.0, 5.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('speaker = "other"', 'speaker = "them"'), "'speaker' must be one of wearer, other"),
        (('language = "es"\ndistance', 'language = "Spanish"\ndistance'), "'language' must be a language code"),
        (("distance_m = 2.0", "distance_m = 0.01"), "'distance_m' must be in [0.2, 20]"),
        (('say = "Hello."', 'say = "Hello."\ndistance_m = 1.0'), "'distance_m' is for speaker = \"other\""),
        (('mode = "translation"\n', ""), "'language' (the other person's) goes with mode = \"translation\""),
        (('mode = "translation"', 'mode = "interpreting"'), "'mode' must be one of assistant, translation"),
        (("gain_db = -6", 'gain_db = "loud"'), "'gain_db' must be a number"),
    ],
)
def test_bad_other_person_keys_name_the_key(change, message):
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        parse_scenario(OTHER.replace(*change, 1), "t.toml")


def _decay_rt60(response: np.ndarray) -> float:
    """RT60 from the Schroeder backward integral's -5 to -25 dB slope."""
    energy = np.cumsum(response[::-1] ** 2)[::-1]
    db = 10 * np.log10(energy / energy[0])
    t5, t25 = np.argmax(db <= -5), np.argmax(db <= -25)
    return 3 * (t25 - t5) / SAMPLE_RATE


@pytest.mark.parametrize("rt60", [0.3, 0.45, 0.6])
def test_the_room_decays_at_its_rt60_and_is_seeded(rt60):
    room = Room(rt60_s=rt60, seed=4)
    response = room.response(1.5)
    assert abs(_decay_rt60(response) - rt60) < 0.25 * rt60
    assert np.array_equal(response, Room(rt60_s=rt60, seed=4).response(1.5))
    assert not np.array_equal(response, Room(rt60_s=rt60, seed=5).response(1.5))
    with pytest.raises(ValueError, match="distance"):
        room.response(0.0)


def test_farther_away_is_quieter_and_more_reverberant():
    assert distance_gain_db(1.5) == pytest.approx(-23.5, abs=0.1)
    rng = np.random.default_rng(0)
    speech = np.round(rng.standard_normal(SAMPLE_RATE) * 3000).astype(np.int16)
    near, far = at_distance(speech, 1.0, Room(seed=1)), at_distance(speech, 4.0, Room(seed=1))
    drr = []
    for d in (1.0, 4.0):
        r = Room(seed=1).response(d)
        drr.append(10 * np.log10(r[0] ** 2 / np.sum(r[1:] ** 2)))
    assert drr[0] == pytest.approx(0.0, abs=0.5) and drr[1] == pytest.approx(-12.0, abs=0.5)
    # quieter, though much less than the direct sound's 12 dB: the reverberant field does not fall with distance
    assert 2.0 < active_rms_dbfs(near) - active_rms_dbfs(far) < 6.0
    assert len(near) > len(speech)  # the room's tail goes on after the words


@pytest.mark.parametrize("name", ["translation", "translation_real"])
def test_the_translation_scenarios_put_the_other_person_17_to_20_db_below_a_normal_voice(name):
    # 1.5 m: 23.5 dB down by distance, the room's reverberation adding back about 5 dB
    s = load_scenario(name)
    levels = {u.index: active_rms_dbfs(u.audio) for u in s.utterances}
    wearer = [levels[u.index] for u in s.utterances if u.speaker == "wearer"]
    other = [levels[u.index] for u in s.utterances if u.speaker == "other"]
    assert s.mode == "translation" and s.language == "es" and len(other) == 2 and wearer
    assert all(abs(w - CLOSE_TALK_DBFS) < 3.0 for w in wearer)
    assert all(17.0 < CLOSE_TALK_DBFS - o < 20.0 for o in other)


def test_the_outward_speaker_is_recorded_on_its_own_track_and_leaks_into_the_mic(tmp_path):
    scenario = parse_scenario(OTHER, "t.toml")
    for u in scenario.utterances:
        u.audio = np.zeros(1600, dtype=np.int16)
    sim = Simulator(scenario, say=lambda _line: None)
    tone = (8000 * np.sin(2 * np.pi * 500 * np.arange(16000) / 16000)).astype(np.int16)
    encoder, packetizer = OpusEncoder(DOWNLINK_CONFIG), DownlinkPacketizer(247)
    outward_id = speaker.OUTWARD | 1
    for pcm in frames_of(tone[: 10 * FRAME_SAMPLES]):
        for chunk in packetizer.packetize(outward_id, encoder.encode(pcm)):
            sim.receive(speaker.DOWNLINK_UUID, chunk)
    for k in range(15):
        sim.tick(k)
    mic, ear, aloud = (x.astype(np.float64) for x in (sim.recorder.mic(), sim.recorder.ear(), sim.recorder.outward()))
    assert len(mic) == len(ear) == len(aloud) == 15 * FRAME_SAMPLES
    assert not ear.any() and np.abs(aloud).max() > 4000
    lag = 80  # 5 ms
    ratio = np.sqrt(np.mean(mic[lag + 800 : 3200] ** 2) / np.mean(aloud[800 : 3200 - lag] ** 2))
    assert 0.4 < ratio < 0.6  # -6 dB
    events = sim.recorder.events(sim.director.spoken, sim.speaker.playback, sim.director.fired, sim.snapshot(),
                                 sim.outward.playback)  # fmt: skip
    sim.recorder.write(tmp_path, events)
    back = read_sim_events(tmp_path / "sim_events.json")
    assert back.playback == [] and [(p.stream, p.start_s) for p in back.outward] == [(outward_id, 0.0)]
    assert (tmp_path / "outward.wav").stat().st_size == (tmp_path / "mic.wav").stat().st_size
    assert back.counters["outward"]["frames_played"] == 10


def test_an_utterance_can_wait_for_the_outward_speaker_to_finish():
    from sottovoce.firmware_sim.director import Director
    from sottovoce.proto.gatt.speaker import PlaybackRecord

    s = parse_scenario(OTHER.replace('after = "previous_end"', 'after = "aloud_end"\ndelay = 0.5'), "t.toml")
    for u in s.utterances:
        u.audio = np.full(16000, 1000, dtype=np.int16)
    aloud: list[PlaybackRecord] = []
    # a whisper in the ear after the first utterance, ending later than the outward stream: not the anchor
    ear: list[PlaybackRecord] = [PlaybackRecord(stream=1, start_sample=110 * 320, end_sample=300 * 320,
                                                ended="finished")]  # fmt: skip
    d = Director(s, aloud)
    for k in range(400):
        d.step(k, ear)
        if k == 120:  # the outward speaker plays 2.4..3.4 s, after the first utterance (1..2 s)
            aloud.append(PlaybackRecord(stream=0x81, start_sample=k * 320, end_sample=(k + 50) * 320,
                                        ended="finished"))  # fmt: skip
    _, second = d.spoken
    assert (second.start_sample, second.trigger) == ((120 + 50) * 320 + 8000, "aloud_end")
    assert d.misses == 0


@pytest.mark.parametrize("recorded_dbfs", [-45.0, -30.0, -10.0])
@pytest.mark.parametrize("effort_db", [-3.0, 0.0, 6.0])
def test_a_recording_is_spoken_at_its_effort_whatever_its_recorded_level(recorded_dbfs, effort_db):
    rng = np.random.default_rng(3)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    voice = np.sin(2 * np.pi * 150 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size)
    voice = np.concatenate([np.zeros(SAMPLE_RATE // 2), voice, np.zeros(SAMPLE_RATE // 2)])
    recorded = voice * 32768 * 10 ** (recorded_dbfs / 20) / np.sqrt(np.mean(voice[voice != 0] ** 2))
    placed = spoken_at(np.round(recorded).astype(np.int16), effort_db)
    assert active_rms_dbfs(placed) == pytest.approx(CLOSE_TALK_DBFS + effort_db, abs=0.5)


def test_the_other_persons_recording_is_heard_at_a_speaking_level_not_its_recorded_one(tmp_path):
    loud = (np.sin(np.arange(SAMPLE_RATE) * 2 * np.pi * 200 / SAMPLE_RATE) * 20000).astype(np.int16)
    levels = []
    for gain, name in ((1.0, "loud.wav"), (0.02, "quiet.wav")):
        write_wav(tmp_path / name, np.round(loud * gain).astype(np.int16))
        doc = OTHER.replace('say = "Hola."', f'wav = "{name}"', 1)
        s = parse_scenario(doc, "t.toml", base_dir=tmp_path)
        synthesize(s)
        levels.append(active_rms_dbfs(s.utterances[0].audio))
    assert levels[0] == pytest.approx(levels[1], abs=0.5)  # 34 dB apart as recorded
    assert levels[0] < CLOSE_TALK_DBFS + distance_gain_db(2.0) + 6  # and then 2 m away
