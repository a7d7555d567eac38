"""Translations said in order, one at a time, each translated as soon as it is queued."""

from __future__ import annotations

import asyncio

from sottovoce.host.translation.in_order import InOrder


async def test_said_in_order_one_at_a_time_while_later_ones_translate():
    events: list[str] = []
    delays = {"a": 0.05, "b": 0.0, "c": 0.02}

    async def translate(item: str) -> str | None:
        events.append(f"translate {item}")
        await asyncio.sleep(delays[item])
        return None if item == "c" else item.upper()

    async def say(item: str, text: str) -> None:
        events.append(f"say {text}")
        await asyncio.sleep(0.03)
        events.append(f"said {text}")

    sayings = InOrder(translate, say, max_queued=2)
    runner = asyncio.get_running_loop().create_task(sayings.run())
    assert sayings.put("a") and sayings.put("b")
    assert not sayings.put("c")  # full: not taken
    await asyncio.sleep(0.06)
    assert sayings.put("c")
    sayings.end()
    await asyncio.wait_for(runner, 2)
    # both translations started before anything was said; "b", translated first, waited for "a"
    assert events[:2] == ["translate a", "translate b"]
    said = [e for e in events if e.startswith(("say", "said"))]
    assert said == ["say A", "said A", "say B", "said B"]  # "c" translated to nothing: nothing said


async def test_close_cancels_queued_translations():
    started = asyncio.Event()

    async def translate(item: str) -> str:
        started.set()
        await asyncio.sleep(10)
        return item

    async def say(item: str, text: str) -> None:
        raise AssertionError("nothing may be said")

    sayings = InOrder(translate, say, max_queued=4)
    sayings.put("x")
    await started.wait()
    sayings.close()
    runner = asyncio.get_running_loop().create_task(sayings.run())
    sayings.end()
    await asyncio.wait_for(runner, 2)


async def test_idle_only_while_nothing_is_queued_or_being_said():
    release = asyncio.Event()
    idle_while_saying: list[bool] = []

    async def translate(item: str) -> str:
        return item

    async def say(item: str, text: str) -> None:
        idle_while_saying.append(sayings.idle)
        await release.wait()

    sayings = InOrder(translate, say, max_queued=4)
    assert sayings.idle
    runner = asyncio.get_running_loop().create_task(sayings.run())
    sayings.put("a")
    assert not sayings.idle  # queued
    await asyncio.sleep(0.01)
    assert idle_while_saying == [False] and not sayings.idle  # being said
    release.set()
    await asyncio.sleep(0.01)
    assert sayings.idle
    sayings.end()
    await asyncio.wait_for(runner, 2)
