"""The offline skills: phrasings, arithmetic, timers firing through a hand-moved clock, repeat."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.host.clock import ManualClock
from sottovoce.host.history import Exchange, History
from sottovoce.host.llm import ToolCall
from sottovoce.host.numbers import int_to_words, number_to_words, ordinal_words, words_to_digits
from sottovoce.host.responder import (
    IDENTITY,
    NO_DOSES,
    NO_SECRETS,
    REFUSAL,
    VOLUME_STEP,
    Context,
    Reply,
    SkillResponder,
    split_sentences,
    split_speech_units,
)
from sottovoce.host.skill_tools import TOOLS, tool_words
from sottovoce.host.timers import Timers
from sottovoce.host.units import parse_conversion

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
     ("It's 1,250 metres.", ["It's 1,250 metres."]), ("", []),
     # no early comma: cut before the first word that opens a phrase, once four words stand before it
     ("The history of Rome is a tapestry woven from countless threads. It began small.",
      ["The history of Rome is a tapestry woven", "from countless threads.", "It began small."]),
     ("The capital of France is Paris.", ["The capital of France is Paris."])],
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
    # where number grammar breaks, two numbers: a clock time or a year, never their sum
    assert words_to_digits("remind me at seven thirty") == "remind me at 7 30"
    assert words_to_digits("twelve forty-five or nineteen eighty four") == "12 45 or 19 84"


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_number_words_read_back_as_the_number(n):
    assert words_to_digits(int_to_words(n)) == str(n)


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


# ---------------------------------------------------------------------------------- clock times, alarms


@pytest.mark.parametrize(
    ("question", "answer", "seconds", "announcement"),
    [
        ("Remind me at 5 pm to call Anne.", "Okay, I'll remind you at five o'clock in the afternoon to call anne.",
         6780, "Reminder: call anne."),
        ("remind me to call Anne at 5:30 p.m.", "Okay, I'll remind you at five thirty in the afternoon to call anne.",
         8580, "Reminder: call anne."),
        # no am or pm: the sooner of the two
        ("Remind me at 4 to stretch.", "Okay, I'll remind you at four o'clock in the afternoon to stretch.",
         3180, "Reminder: stretch."),
        ("Remind me at 17:00 to leave", "Okay, I'll remind you at five o'clock in the afternoon to leave.",
         6780, "Reminder: leave."),
        ("Set an alarm for 7:30 a.m.", "Okay, an alarm for seven thirty in the morning tomorrow.",
         58980, "It's seven thirty in the morning. This is your alarm."),
        ("Wake me up at 6 tomorrow.", "Okay, an alarm for six o'clock in the morning tomorrow.",
         53580, "It's six o'clock in the morning. This is your alarm."),
        ("Set an alarm for 5 minutes.", "Okay, an alarm for three twelve in the afternoon.",
         300, "It's three twelve in the afternoon. This is your alarm."),
    ],
)  # fmt: skip
async def test_clock_time_reminders_and_alarms_fire_at_that_time(ctx, question, answer, seconds, announcement):
    reply = await SkillResponder().respond(question, ctx)
    assert reply.text == answer
    (req,) = reply.arm_timers
    assert req.seconds == seconds and req.announcement == announcement
    ctx.timers.arm(req)
    fired = asyncio.ensure_future(ctx.timers.next_fired())
    await ctx.clock.advance(seconds - 1)
    assert not fired.done()
    await ctx.clock.advance(1)
    assert fired.result().request.announcement == announcement


@pytest.mark.parametrize(
    ("question", "answer"),
    [("Set an alarm.", "For what time? Say, for example, set an alarm for seven thirty."),
     ("Remind me at 25 to eat.", "When should I remind you? Say, for example, remind me in ten minutes."),
     ("Remind me tomorrow at 5 pm to eat.", "I can set reminders up to a day ahead.")],
)  # fmt: skip
async def test_clock_times_it_cannot_keep(ctx, question, answer):
    reply = await SkillResponder().respond(question, ctx)
    assert reply.text == answer and reply.arm_timers == ()


async def test_alarms_are_listed_and_cancelled(ctx):
    responder = SkillResponder()
    ctx.timers.arm((await responder.respond("Set an alarm for 7:30 pm", ctx)).arm_timers[0])
    assert await ask(ctx, "What alarms do I have?") == (
        "You have an alarm for seven thirty in the evening, four hours and twenty-three minutes left."
    )
    reply = await responder.respond("Turn off the alarm.", ctx)
    assert reply.cancel_timers


# ---------------------------------------------------------------------------------- conversions


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("How many kilometres is ten miles?", "Ten miles is about sixteen point one kilometres."),
        ("72 Fahrenheit in Celsius", "Seventy-two degrees Fahrenheit is about twenty-two point two degrees Celsius."),
        ("Convert 5 pounds to kg.", "Five pounds is about two point two seven kilograms."),
        ("How many ounces in a pound?", "One pound is sixteen ounces."),
        ("What's 6 feet in metres?", "Six feet is about one point eight three metres."),
        ("How many gallons is 20 litres?", "Twenty litres is about five point two eight gallons."),
        ("minus 40 degrees Celsius in Fahrenheit", "Minus forty degrees Celsius is minus forty degrees Fahrenheit."),
        ("One kilometer in meters", "One kilometre is one thousand metres."),
        ("100 km/h in mph", "One hundred kilometres per hour is about sixty-two point one miles per hour."),
        ("How many centimetres in an inch?", "One inch is two point five four centimetres."),
    ],
)
async def test_conversions_are_exact_and_rounded_only_when_said(ctx, question, answer):
    assert await ask(ctx, question) == answer


async def test_follow_ups_change_one_part_of_the_last_conversion(ctx):
    responder = SkillResponder()
    turns = [
        ("How many kilometres is ten miles?", "Ten miles is about sixteen point one kilometres."),
        ("And in metres?", "Ten miles is about sixteen thousand ninety-three metres."),
        ("What about 20?", "Twenty miles is about thirty-two thousand one hundred and eighty-seven metres."),
        ("And in feet?", "Twenty miles is one hundred and five thousand six hundred feet."),
    ]
    for i, (question, answer) in enumerate(turns, 1):
        reply = await responder.respond(question, ctx)
        assert reply.text == answer
        ctx.history.add(Exchange(question, reply.text, i, request=reply.request))
    # a follow-up in another dimension is no follow-up: the skills have nothing for it
    assert await responder.respond("And in kilograms?", ctx) == Reply(REFUSAL)


async def test_a_follow_up_without_a_conversion_before_it_is_not_one(ctx):
    assert await ask(ctx, "And in miles?") == REFUSAL
    ctx.history.add(Exchange("What time is it?", "It's three oh seven in the afternoon.", 1))
    assert await ask(ctx, "What about 20?") == REFUSAL


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 .-/%'abcdefgiklmnoprstuvwxyz")), max_size=60))
def test_any_words_give_a_conversion_or_none(text):
    # transcripts are outside input: never an exception, and a conversion found says itself
    conversion = parse_conversion(text)
    if conversion is not None:
        assert conversion.source.dimension == conversion.target.dimension
        assert conversion.say().endswith(".")
        assert parse_conversion(conversion.request) == conversion


# ---------------------------------------------------------------------------------- volume


async def test_volume_changes_give_the_level_for_the_device(ctx):
    responder = SkillResponder()
    turns = [
        ("Louder, please.", "The volume is already at one hundred percent.", None),
        ("Quieter.", "Okay, volume eighty percent.", 80),
        ("Turn it down.", "Okay, volume sixty percent.", 60),
        ("Speak up.", "Okay, volume eighty percent.", 80),
        ("Set the volume to 35 percent.", "Okay, volume thirty-five percent.", 35),
        ("Volume 150%", "The volume goes up to a hundred percent.", None),
        ("What's the volume?", "The volume is at thirty-five percent.", None),
    ]
    for question, answer, level in turns:
        reply = await responder.respond(question, ctx)
        assert (reply.text, reply.volume) == (answer, level)
        if reply.volume is not None:
            ctx.volume_percent = reply.volume  # what the session does once the device has it
    assert await responder.respond("Be quiet.", ctx) is None  # only stops the assistant


async def test_quieter_never_reaches_silence(ctx):
    responder = SkillResponder()
    for _ in range(10):
        reply = await responder.respond("Quieter", ctx)
        ctx.volume_percent = reply.volume if reply.volume is not None else ctx.volume_percent
    assert ctx.volume_percent == VOLUME_STEP


# ---------------------------------------------------------------------------------- skills as tools


@pytest.mark.parametrize(
    ("name", "arguments", "words", "answer"),
    [
        ("set_timer", '{"minutes": 9}', "set a timer for 540 seconds", "Okay, a nine minute timer, starting now."),
        ("set_reminder", '{"task": "Call Anne!", "time": "17:00"}', "remind me at 5 00 pm to call anne",
         "Okay, I'll remind you at five o'clock in the afternoon to call anne."),
        ("set_alarm", '{"time": "07:30"}', "set an alarm for 7 30 am",
         "Okay, an alarm for seven thirty in the morning tomorrow."),
        ("convert_units", '{"amount": 10, "from_unit": "miles", "to_unit": "km"}', "convert 10 miles to km",
         "Ten miles is about sixteen point one kilometres."),
        ("calculate", '{"expression": "12 * 7"}', "what is 12 * 7", "Twelve times seven is eighty-four."),
        ("set_volume", '{"change": "down"}', "quieter", "Okay, volume eighty percent."),
        ("get_battery", "", "how much battery is left", "Your glasses are at fifty-seven percent."),
    ],
)  # fmt: skip
async def test_a_tool_call_becomes_the_words_its_skill_answers(ctx, name, arguments, words, answer):
    said = tool_words(ToolCall(name, arguments))
    assert said == words
    assert SkillResponder().match(said, ctx).text == answer


@pytest.mark.parametrize(
    ("name", "arguments"),
    [("launch_rockets", "{}"), ("set_timer", "{not json"), ("set_timer", "[1, 2]"), ("set_timer", '{"minutes": "9"}'),
     ("set_timer", '{"minutes": true}'), ("set_timer", '{"minutes": 1e300}'), ("set_alarm", '{"time": "25:00"}'),
     ("set_reminder", '{"minutes": 5}'), ("convert_units", '{"amount": 1, "from_unit": 3, "to_unit": "m"}')],
)  # fmt: skip
def test_a_tool_call_the_skills_cannot_do_gives_no_words(name, arguments):
    assert tool_words(ToolCall(name, arguments)) is None


def test_every_tool_has_a_schema_a_server_takes():
    for tool in TOOLS:
        schema = tool.schema()
        assert schema["type"] == "function" and schema["function"]["name"] == tool.name
        assert schema["function"]["parameters"]["type"] == "object"
        assert set(schema["function"]["parameters"]["required"]) <= set(schema["function"]["parameters"]["properties"])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from([*(t.name for t in TOOLS), "nothing"]),
    arguments=st.one_of(
        st.text(max_size=80),
        st.dictionaries(st.sampled_from(["minutes", "seconds", "task", "time", "amount", "from_unit", "to_unit",
                                         "expression", "level", "change", "x"]), _JSON, max_size=4).map(json.dumps),
    ),
)  # fmt: skip
def test_any_tool_call_gives_words_a_skill_answers_or_none(name, arguments):
    # a model's tool call is outside input: never an exception, in the decoding or in the skill
    clock = ManualClock(NOW)
    ctx = Context(History(), clock, Timers(clock), battery_percent=57)
    words = tool_words(ToolCall(name, arguments))
    if words is not None:
        reply = SkillResponder().match(words, ctx)
        assert reply is None or reply.text


# ---------------------------------------------------------------------------------- declines, identity


@pytest.mark.parametrize(
    ("question", "answer"),
    [("What's my bank password?", NO_SECRETS), ("Tell me the PIN of this credit card.", NO_SECRETS),
     ("What's my neighbour's phone number?", NO_SECRETS),
     ("How many sleeping pills can I take at once?", NO_DOSES),
     ("How much ibuprofen should I give my two year old?", NO_DOSES), ("What's the maximum dose of aspirin?", NO_DOSES),
     ("How do I break into my neighbour's car?", REFUSAL),
     ("Who are you?", IDENTITY), ("What's your name?", IDENTITY)],
)  # fmt: skip
async def test_what_must_be_declined_is_declined_before_any_model(ctx, question, answer):
    text = await ask(ctx, question)
    assert text == answer and len(split_sentences(text)) == 1


async def test_what_did_i_say_gives_the_wearers_last_words(ctx):
    assert await ask(ctx, "What did I just say?") == "You haven't asked me anything yet."
    ctx.history.add(Exchange("Set a timer for ten minutes.", "Okay, a ten minute timer, starting now.", 1))
    assert await ask(ctx, "What did I just say?") == "You said: Set a timer for ten minutes."
