import numpy as np
import pytest

from sottovoce.edge.features import N_FEATURES, N_MELS, FeatureExtractor, batch_features
from sottovoce.host.tts import EspeakTts
from sottovoce.proto.codec import FRAME_SAMPLES, frames_of


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    audio = EspeakTts().synthesize("Could you read me the last message?", "en-us")
    rng = np.random.default_rng(3)
    noisy = audio.astype(np.float64) + rng.normal(0, 200, audio.size)
    # an odd length, so the last frame is partial and gets padded on both paths
    return np.clip(noisy, -32768, 32767).astype(np.int16)[: audio.size - 77]


def test_streamed_features_equal_batch_features(speech):
    batch = batch_features(speech)
    extractor = FeatureExtractor()
    streamed = np.stack([extractor.push(f) for f in frames_of(speech)])
    assert batch.shape == streamed.shape == (-(-speech.size // FRAME_SAMPLES), N_FEATURES)
    # same arithmetic; only the FFT's batching may change the last float32 bit
    np.testing.assert_allclose(streamed, batch, rtol=0, atol=1e-4)


def test_reset_starts_a_fresh_stream(speech):
    extractor = FeatureExtractor()
    for f in frames_of(speech)[:20]:
        extractor.push(f)
    extractor.reset()
    streamed = np.stack([extractor.push(f) for f in frames_of(speech)])
    np.testing.assert_allclose(streamed, batch_features(speech), rtol=0, atol=1e-4)


def test_features_see_speech_and_pitch(speech):
    feats = batch_features(speech)
    energy, voicing, pitch = feats[:, N_MELS], feats[:, N_MELS + 1], feats[:, N_MELS + 2]
    silence = batch_features(np.zeros(FRAME_SAMPLES * 10, dtype=np.int16))
    assert energy.max() > silence[:, N_MELS].max() + 10
    voiced = voicing > 0.6
    assert voiced.sum() > 10
    # a male eSpeak voice speaks roughly 80-250 Hz: log2(f / 150) within about [-1, 0.8]
    assert np.all(np.abs(pitch[voiced]) < 1.2)


def test_bad_input_is_rejected():
    with pytest.raises(TypeError):
        batch_features(np.zeros(640, dtype=np.float32))
    with pytest.raises(ValueError):
        FeatureExtractor().push(np.zeros(100, dtype=np.int16))
