"""The offline skills: phrasings, arithmetic, timers firing through a hand-moved clock, repeat."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from sottovoce.host.clock import ManualClock
from sottovoce.host.history import Exchange, History
from sottovoce.host.numbers import int_to_words, number_to_words, ordinal_words, words_to_digits
from sottovoce.host.responder import REFUSAL, Context, SkillResponder, split_sentences, split_speech_units
from sottovoce.host.timers import Timers

NOW = datetime(2025, 11, 25, 15, 7).astimezone()


@pytest.fixture
def ctx() -> Context:
    clock = ManualClock(NOW)
    return Context(History(), clock, Timers(clock), battery_percent=57)


async def ask(ctx: Context, text: str) -> str:
    reply = await SkillResponder().respond(text, ctx)
    assert reply is not None
    return reply.text


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What is 12 times 7?", "Twelve times seven is eighty-four."),
        ("What is twelve times seven?", "Twelve times seven is eighty-four."),
        ("Stop. What is 12th time 7?", "Twelve times seven is eighty-four."),  # as Whisper once heard it
        ("15 plus 27", "Fifteen plus twenty-seven is forty-two."),
        ("15 + 27?", "Fifteen plus twenty-seven is forty-two."),
        ("What's a hundred divided by eight?", "One hundred divided by eight is twelve point five."),
        ("what is 9 minus twelve", "Nine minus twelve is minus three."),
        ("Five squared.", "Five squared is twenty-five."),
        ("What is 3 plus 4 times 2?", "Three plus four times two is eleven."),
        ("What's 10 divided by 0?", "You can't divide by zero."),
    ],
)
async def test_arithmetic(ctx, question, answer):
    assert await ask(ctx, question) == answer


@pytest.mark.parametrize(
    "question", ["What time is it?", "What's the time?", "Do you know the time", "What time is it at 5?"]
)
async def test_time(ctx, question):
    assert await ask(ctx, question) == "It's three oh seven in the afternoon."


@pytest.mark.parametrize("question", ["What's the date today?", "What day is it?"])
async def test_date(ctx, question):
    assert await ask(ctx, question) == "Today is Tuesday, November twenty-fifth."


@pytest.mark.parametrize("question", ["How much battery do I have left?", "Battery level?", "Are you charged?"])
async def test_battery(ctx, question):
    assert await ask(ctx, question) == "Your glasses are at fifty-seven percent."
    ctx.battery_percent = None
    assert "don't know" in await ask(ctx, question)


async def test_the_refusal_is_one_short_sentence(ctx):
    # without a language model, words no skill is for get one short sentence, not a list of skills
    text = await ask(ctx, "Tell me a joke about penguins.")
    assert text == REFUSAL and len(split_sentences(text)) == 1 and len(text.split()) <= 7


async def test_what_it_can_do(ctx):
    text = await ask(ctx, "What can you do?")
    assert len(split_sentences(text)) == 2 and "timers" in text


@pytest.mark.parametrize(
    ("text", "units"),
    [("Okay, a five minute timer, starting now.", ["Okay,", "a five minute timer, starting now."]),
     ("Sorry, I can't help with that yet. I can tell you the time, the date, and sums.",
      ["Sorry,", "I can't help with that yet.", "I can tell you the time, the date, and sums."]),
     ("Yes, of course.", ["Yes, of course."]),  # too little after the comma to be worth a render
     ("It's 1,250 metres.", ["It's 1,250 metres."]), ("", [])],
)  # fmt: skip
def test_the_first_clause_is_rendered_on_its_own(text, units):
    # the wearer waits only for the first piece; later ones render while it plays
    assert split_speech_units(text) == units
    assert " ".join(units) == " ".join(split_sentences(text))


async def test_silence_gets_no_reply(ctx):
    assert await SkillResponder().respond("  ... ", ctx) is None


async def test_timer_fires_after_its_duration(ctx):
    reply = await SkillResponder().respond("Set a timer for five minutes.", ctx)
    assert reply.text == "Okay, a five minute timer, starting now."
    assert ctx.timers.pending() == []  # the reply only requests it; the session arms it on release
    timer = ctx.timers.arm(reply.arm_timers[0])
    fired = asyncio.ensure_future(ctx.timers.next_fired())
    await ctx.clock.advance(299)
    assert not fired.done()
    await ctx.clock.advance(1)
    assert fired.done() and fired.result() is timer
    assert timer.request.announcement == "Your five minute timer is done."


@pytest.mark.parametrize(
    ("request_text", "seconds", "announcement"),
    [
        ("Remind me in 10 seconds to call mom.", 10, "Reminder: call mom."),
        ("remind me to call my sister in two minutes", 120, "Reminder: call your sister."),
        ("Remind me in half an hour to stretch", 1800, "Reminder: stretch."),
    ],
)
async def test_reminders(ctx, request_text, seconds, announcement):
    reply = await SkillResponder().respond(request_text, ctx)
    (req,) = reply.arm_timers
    assert req.seconds == seconds and req.announcement == announcement
    ctx.timers.arm(req)
    fired = asyncio.ensure_future(ctx.timers.next_fired())
    await ctx.clock.advance(seconds - 0.5)
    assert not fired.done()
    await ctx.clock.advance(0.5)
    assert fired.result().request.announcement == announcement


async def test_cancel_timers(ctx):
    responder = SkillResponder()
    ctx.timers.arm((await responder.respond("set a timer for 1 minute", ctx)).arm_timers[0])
    reply = await responder.respond("Cancel my timers", ctx)
    assert reply.cancel_timers and "cancelled" in reply.text


async def test_repeat_says_what_was_heard_after_truncation(ctx):
    assert await ask(ctx, "Say that again") == "I haven't said anything yet."
    ctx.history.add(Exchange("tell me a joke", "Sorry, I can't help with that yet. I can tell you the time.", 1))
    ctx.history.truncate(1, "Sorry, I can't help")
    assert await ask(ctx, "Can you repeat that?") == "Sorry, I can't help"


def test_number_words():
    assert int_to_words(1234) == "one thousand two hundred and thirty-four"
    assert number_to_words(3.5) == "three point five" and number_to_words(-2) == "minus two"
    assert ordinal_words(21) == "twenty-first" and ordinal_words(12) == "twelfth"
    assert words_to_digits("twenty seven plus a hundred and five") == "27 plus 105"
    assert words_to_digits("five and six") == "5 and 6"


async def test_one_timer_is_taken_back_and_never_fires(ctx):
    requests = (await SkillResponder().respond("Set a timer for five minutes.", ctx)).arm_timers * 2
    kept, taken_back = (ctx.timers.arm(r) for r in requests)
    assert ctx.timers.cancel(taken_back.id) and not ctx.timers.cancel(taken_back.id)
    assert ctx.timers.pending() == [kept]
    fired = asyncio.ensure_future(ctx.timers.next_fired())
    await ctx.clock.advance(300)
    assert fired.result() is kept
    again = asyncio.ensure_future(ctx.timers.next_fired())
    await ctx.clock.advance(300)
    assert ctx.timers.pending() == [] and not again.done()
    again.cancel()


async def test_what_timers_are_running_with_the_time_left(ctx):
    responder = SkillResponder()
    assert await ask(ctx, "What timers do I have?") == "There are no timers running."
    for request in ("Set a timer for ten minutes.", "Remind me to call Anne in an hour.", "A timer for 90 seconds."):
        ctx.timers.arm((await responder.respond(request, ctx)).arm_timers[0])
    await ctx.clock.advance(30)
    assert await ask(ctx, "What timers do I have?") == (
        "You have a one minute and thirty second timer, one minute left; a ten minute timer, ten minutes left; "
        "and a reminder to call anne, one hour left."
    )
    await ctx.clock.advance(9 * 60)
    assert await ask(ctx, "Which timers are running?") == (
        "You have a ten minute timer, thirty seconds left; and a reminder to call anne, fifty minutes left."
    )
