"""Translation through the OpenAI-compatible backend (``--llm URL``): a real llama_cpp.server
serving the offline model on a free local port. The model is tiny, so its translations are only
checked to be one line of words, said by the backend, not for quality (the bench reports that)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_ask import _serve

from sottovoce.host.llm import OpenAIChatModel
from sottovoce.host.translation.openai_mt import ModelTranslator
from sottovoce.host.translation.translator import TranslationError
from sottovoce.tools import bench_translate

CLIP = bench_translate.DATA / "clips" / "fleurs_es_006.wav"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with _serve(tmp_path_factory.mktemp("mt-server")) as running:
        yield running


async def test_the_backend_translates_a_segment(server):
    translator = ModelTranslator(OpenAIChatModel(server.url, "SmolLM2-135M-Instruct", "", 60.0))
    try:
        text = await translator.translate("Buenos días, ¿dónde está el museo?", "es", "en")
        assert text.strip() and "\n" not in text
        assert await translator.translate("  ", "es", "en") == ""
    finally:
        await translator.aclose()


async def test_an_unreachable_backend_is_a_clear_error():
    translator = ModelTranslator(OpenAIChatModel("http://127.0.0.1:9/v1", "m", "", 5.0), timeout_s=5.0)
    with pytest.raises(TranslationError):
        await translator.translate("Hola", "es", "en")
    await translator.aclose()


def test_translate_and_bench_take_the_backend(server, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sottovoce.tools.cli", "translate", "--from", "es", "--to", "en", "--llm", server.url,
         str(CLIP)], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].strip() and "translated by llm" in done.stderr
    report = tmp_path / "bench.json"
    assert bench_translate.main(["--limit", "1", "--pair", "es-en", "--llm", server.url, "--json", str(report)]) == 0
    paths = {r["path"]: r for r in json.loads(report.read_text())}
    assert set(paths) == {"offline", "llm"} and paths["llm"]["translator"].startswith("llm")
    assert paths["llm"]["ear_voice_span_p50_s"] is not None
