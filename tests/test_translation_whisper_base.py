"""Whisper base joined from its two wheels into a cache, and its language identification."""

from __future__ import annotations

import os

import pytest

from sottovoce.host.translation.models import multilingual_asr
from sottovoce.host.translation.whisper_base import CACHE_ENV, default_cache_dir, join_parts, model_dir, package_files
from sottovoce.host.tts import EspeakTts


def test_the_parts_are_joined_once_and_a_damaged_join_is_redone(tmp_path):
    parts, side = package_files()
    folder = model_dir(tmp_path / "wb")
    model = folder / "model.bin"
    assert model.stat().st_size == sum(p.stat().st_size for p in parts)
    with model.open("rb") as f, parts[1].open("rb") as second:
        f.seek(parts[0].stat().st_size)
        assert f.read(4096) == second.read(4096)  # part 2 follows part 1
    assert sorted(p.name for p in folder.iterdir()) == sorted(["model.bin", *side])
    first = model.stat().st_mtime_ns
    assert model_dir(tmp_path / "wb") == folder and model.stat().st_mtime_ns == first  # not joined again
    with model.open("r+b") as f:  # a join cut short
        f.truncate(1000)
    model_dir(tmp_path / "wb")
    assert model.stat().st_size == sum(p.stat().st_size for p in parts)


def test_a_failed_join_leaves_nothing_behind(tmp_path):
    parts, _ = package_files()
    target = tmp_path / "model.bin"
    with pytest.raises(FileNotFoundError):
        join_parts([parts[0], tmp_path / "missing.part2"], target)
    assert list(tmp_path.iterdir()) == []


def test_the_cache_folder_can_be_moved_by_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir() == default_cache_dir().home() / ".cache" / "sottovoce" / "whisper-base"
    assert os.sep in str(default_cache_dir())


def test_whisper_base_identifies_the_language_and_decodes_a_fixed_one():
    asr = multilingual_asr()
    tts = EspeakTts()
    try:
        es = asr.transcribe(tts.synthesize("¿Dónde está el museo de la ciudad?", voice="es"))
        assert es.language == "es" and "museo" in es.text.lower()
        en = asr.transcribe(tts.synthesize("Where is the city museum?", voice="en-us"))
        assert en.language == "en" and "museum" in en.text.lower()
        fixed = asr.transcribe(tts.synthesize("¿Dónde está el museo de la ciudad?", voice="es"), language="es")
        assert fixed.language == "es" and "museo" in fixed.text.lower()
        onsets = asr.word_onsets(tts.synthesize("¿Dónde está el museo de la ciudad?", voice="es"), "es")
        assert len(onsets) >= 4 and [t for _, t in onsets] == sorted(t for _, t in onsets)
        assert any("museo" in w.lower() for w, _ in onsets)
    finally:
        asr.close()
