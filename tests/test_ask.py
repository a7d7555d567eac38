"""``sottovoce ask``: the responder chain as text, offline and against a real OpenAI-compatible
server - llama-cpp-python's own ``python -m llama_cpp.server`` serving the offline model on a
free local port - including a reply closed mid-stream, which must stop the server generating."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from sottovoce.host.clock import ManualClock
from sottovoce.host.history import History
from sottovoce.host.llm import LlmConfig, Message, OpenAIChatModel, offline_model_path
from sottovoce.host.responder import REFUSAL, ChainResponder, Context, SkillResponder, split_sentences
from sottovoce.host.skill_tools import SKILL_TOOLS
from sottovoce.host.timers import Timers

SERVER_START_S = 120  # loading is quick; a busy shared CPU is not
SERVER_NOTICES_S = 30  # the server checks for its client after every token it sends
TOOL_CALL_S = 300  # llama.cpp's function-calling format ignores max_tokens: a reply may take minutes
DISCONNECTED = "Disconnected from client"  # what llama_cpp.server prints when it stops for a client gone


def _sottovoce(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sottovoce.tools.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def _ask_json(*args: str) -> dict:
    done = _sottovoce("ask", "--json", *args)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == {"text", "by", "tokens", "first_chunk_s"}
    assert isinstance(answer["tokens"], int) and answer["first_chunk_s"] > 0
    return answer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    log: Path  # what the server prints


@contextmanager
def _serve(tmp: Path, *extra: str) -> Iterator[Server]:
    """llama_cpp.server serving the offline model on a free port, until the block ends."""
    port = _free_port()
    log = tmp / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(offline_model_path()), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--model_alias", LlmConfig().llm_model,
             *extra],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.5)
        yield Server(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with _serve(tmp_path_factory.mktemp("llm-server")) as running:
        yield running


@pytest.fixture(scope="module")
def tool_server(tmp_path_factory) -> Iterator[Server]:
    """The same server with llama.cpp's function-calling chat format: the model may answer with a tool call."""
    with _serve(tmp_path_factory.mktemp("llm-tool-server"), "--chat_format", "chatml-function-calling") as running:
        yield running


def test_ask_json_offline_model():
    answer = _ask_json("What's the capital of France?")
    assert answer["by"] == "model" and answer["tokens"] > 0
    assert answer["text"] and answer["text"] != REFUSAL and 1 <= len(split_sentences(answer["text"])) <= 2


def test_ask_json_skill_is_exact():
    answer = _ask_json("What is twelve times seven?")
    assert (answer["text"], answer["by"], answer["tokens"]) == ("Twelve times seven is eighty-four.", "skill", 0)


def test_ask_prints_the_text():
    done = _sottovoce("ask", "What is twelve times seven?")
    assert done.returncode == 0 and done.stdout.strip() == "Twelve times seven is eighty-four."


def test_ask_against_a_real_openai_compatible_server(server):
    answer = _ask_json("--llm", server.url, "What's the capital of France?")
    assert answer["by"] == "model" and answer["tokens"] > 0
    assert answer["text"] and answer["text"] != REFUSAL and 1 <= len(split_sentences(answer["text"])) <= 2


def test_an_unreachable_server_gets_the_refusal():
    answer = _ask_json("--llm", f"http://127.0.0.1:{_free_port()}/v1", "What's the capital of France?")
    assert (answer["text"], answer["by"], answer["tokens"]) == (REFUSAL, "model", 0)


async def test_closing_a_stream_mid_answer_stops_the_server(server):
    model = OpenAIChatModel(server.url, LlmConfig().llm_model, "", timeout_s=30)
    try:
        stream = model.stream([Message("user", "Tell me a very long story about a dragon.")], 1000, 0.2)
        got = [await anext(stream) for _ in range(3)]
        assert all(got) and stream.tokens == 3 and DISCONNECTED not in server.log.read_text()
        await stream.aclose()
        assert [piece async for piece in stream] == [] and stream.tokens == 3
        deadline = time.monotonic() + SERVER_NOTICES_S
        while DISCONNECTED not in server.log.read_text():
            assert time.monotonic() < deadline, "the server went on generating for a client that had gone"
            await asyncio.sleep(0.1)
    finally:
        await model.aclose()


def _ctx() -> Context:
    clock = ManualClock(datetime(2025, 11, 25, 15, 7).astimezone())
    return Context(History(), clock, Timers(clock), battery_percent=57)


async def _chain_reply(url: str, tools: str, question: str) -> tuple[ChainResponder, object, str]:
    config = LlmConfig(llm=url, llm_tools=tools)
    model = OpenAIChatModel(url, config.llm_model, "", TOOL_CALL_S, tools)
    # The timer alone: llama.cpp samples a tool choice through a grammar of every tool offered, which
    # takes the 135M model minutes on a busy shared CPU when it is offered all of them.
    chain = ChainResponder(SkillResponder(), model, config, tools=(SKILL_TOOLS["set_timer"][0],))
    try:
        reply = await chain.respond(question, _ctx())
        async with aclosing(reply.units()) as units:
            said = " ".join([u async for u in units])
    finally:
        await model.aclose()
    return chain, reply, said


async def test_a_tool_call_is_carried_out_by_the_skill_it_names(tool_server):
    # The 135M model calls a tool for nearly anything when it may (see the README): here, a timer
    # it has to work out the length of. Whatever it chose, the wearer hears the skill's own answer
    # to the words the call stands for, with the skill's effects.
    chain, reply, said = await _chain_reply(
        tool_server.url, "whole", "Set a timer for the time it takes to boil an egg."
    )
    assert reply.by == "tool" and chain.counters.by_tool == 1 and chain.counters.by_model == 0
    assert reply.request
    expected = SkillResponder().match(reply.request, _ctx())
    assert expected is not None and (said, reply.arm_timers) == (expected.text, expected.arm_timers)


async def test_a_server_that_cannot_stream_a_tool_choice_gets_the_refusal(tool_server):
    # llama-cpp-python refuses to stream a reply in which the model may choose a tool: a failure
    # the wearer hears as the one short refusal, never as silence.
    chain, reply, said = await _chain_reply(tool_server.url, "stream", "Set a timer for as long as tea should steep.")
    assert (reply.by, said, chain.counters.by_tool) == ("model", REFUSAL, 0)
    deadline = time.monotonic() + SERVER_NOTICES_S  # the server logs its error after the stream has ended
    while "Automatic streaming tool choice is not supported" not in tool_server.log.read_text():
        assert time.monotonic() < deadline, "the refusal came from something other than the server's own limit"
        await asyncio.sleep(0.1)


async def test_a_model_offered_tools_may_still_answer_in_words(server):
    # the server's own chat format ignores the tools: the reply comes whole, as text, within the caps
    chain, reply, said = await _chain_reply(server.url, "whole", "What's the capital of France?")
    assert reply.by == "model" and chain.counters.by_model == 1 and reply.tokens > 0
    assert said == reply.text and said != REFUSAL and 1 <= len(split_sentences(said)) <= 2
