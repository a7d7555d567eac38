"""The outward voice: the wearer's words in the other person's language, spoken aloud in a normal
(voiced) eSpeak NG voice, for the person in front of them. Piper ships only an English voice; the
wearer's ear keeps the host's whispered voice (``host.whisper.WhisperVoice``)."""

from __future__ import annotations

import numpy as np

from sottovoce.host.tts import EspeakTts, trim_silence
from sottovoce.host.whisper import set_level
from sottovoce.proto.codec import to_float


class OutwardVoice:
    """Text -> normal speech in ``language``, int16 16 kHz, at a conversational level. Same
    ``speak`` as ``WhisperVoice``, so the answer pipeline renders either."""

    def __init__(self, tts: EspeakTts, language: str, level_dbfs: float = -20.0) -> None:
        self.tts = tts
        self.language = language
        self.voice = tts.voice_for(language)
        self.level_dbfs = level_dbfs  # played aloud for someone a metre away: well above a whisper

    def speak(self, text: str, ambient_dbfs: float | None = None) -> np.ndarray:
        raw = trim_silence(self.tts.synthesize(text, voice=self.voice))
        return set_level(to_float(raw).astype(np.float64), self.level_dbfs)
