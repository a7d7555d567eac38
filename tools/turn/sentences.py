"""What the synthetic wearers say: sentence templates for the end-of-turn corpus.

Every template has a stable key; ``is_held_out`` puts a fixed fifth of them in the test set,
independent of any seed, so held-out sentences can never leak into training.
"""

from __future__ import annotations

import zlib

# Complete utterances. Slots: {place} {time} {person} {thing} {number}.
STATEMENTS = [
    "I think we should leave around {time}.",
    "The meeting with {person} got moved to {time}.",
    "I left my {thing} at the {place}.",
    "We are almost at the {place} now.",
    "That was the best coffee I have had all week.",
    "I already sent the report to {person}.",
    "The train is running about {number} minutes late.",
    "My battery is nearly empty.",
    "It looks like it is going to rain this afternoon.",
    "I need to pick up {person} from the {place} at {time}.",
    "The parking spot is on the third floor.",
    "I have no idea where I put my {thing}.",
    "We ran out of milk again.",
    "This street is much quieter than the last one.",
    "I finished the first draft last night.",
    "The {place} closes at {time} on Sundays.",
    "{person} said the package should arrive tomorrow.",
    "I would rather walk than take the bus today.",
    "The tickets cost {number} dollars each.",
    "I really like the new design.",
    "I cannot hear you very well in here.",
    "The elevator on the left is broken.",
    "My flight lands at {time}.",
    "We should try the new place near the {place}.",
]
QUESTIONS = [
    "What time does the {place} open?",
    "Can you remind me to call {person} at {time}?",
    "How far is the nearest {place}?",
    "Did {person} answer my message?",
    "What is the weather going to be like tomorrow?",
    "Where did I park the car?",
    "Is there a {place} on the way home?",
    "How long will it take to get to the {place}?",
    "Do I have anything scheduled after {time}?",
    "What was the name of that song?",
    "Could you read me the last message?",
    "Who is this person walking towards me?",
    "Is it going to be busy at the {place}?",
    "How much battery do I have left?",
    "What did {person} say about the {thing}?",
    "Can you translate that sign for me?",
    "Are we still on for {time}?",
    "Which way is north from here?",
]
COMMANDS = [
    "Set a timer for {number} minutes.",
    "Call {person}.",
    "Turn the volume down a little.",
    "Take a picture of this.",
    "Send {person} a message saying I am running late.",
    "Add {thing} to my shopping list.",
    "Navigate to the nearest {place}.",
    "Remind me to buy {thing} when I get to the {place}.",
    "Read that again, please.",
    "Stop the music.",
    "Save this location as my parking spot.",
    "Start a workout.",
    "Tell me a short joke.",
    "Mute notifications until {time}.",
]
SHORT_ANSWERS = [
    "Yes.", "No.", "No thanks.", "Sure.", "Okay.", "Yes please.", "Not right now.", "Thank you.",
    "That's right.", "Exactly.", "Maybe later.", "Of course.", "Nope.", "Sounds good.", "Go ahead.",
    "I don't think so.", "Perfect, thanks.", "Never mind.", "Absolutely.", "Got it.",
]  # fmt: skip
# Carriers for dictation: the wearer pauses between the groups.
DICTATION_CARRIERS = [
    "My number is", "The code is", "Write this down,", "The confirmation number is",
    "Call me back on", "The room number is", "My zip code is", "The door code is",
    "Her number is", "The pin is",
]  # fmt: skip
LIST_CARRIERS = [
    "I need to buy", "For dinner we have", "Pack my", "The guests are", "Put on the list",
    "I still have to finish", "Bring the", "We visited",
]  # fmt: skip
LIST_ITEMS = [
    "eggs", "milk", "bread", "a charger", "tomatoes", "the blue folder", "rice", "apples", "coffee",
    "my passport", "two towels", "some onions", "batteries", "the tent", "Anna", "Peter", "my sister",
    "the laundry", "the slides", "the budget", "Rome", "Paris", "the museum",
]  # fmt: skip
CONJUNCTIONS = ["and", "but", "so", "because", "or", "then"]
FILLERS = ["um", "uh", "umm", "er", "hmm"]
# Openers that leave a clause hanging before the rest of the sentence.
OPENERS = [
    "I was wondering if", "So basically", "The thing is", "What I meant was", "Actually,",
    "If you have a moment,", "Before I forget,", "When we get there,", "I guess",
    "Honestly,", "Let me think,", "Okay so",
]  # fmt: skip

SLOTS = {
    "place": ["pharmacy", "station", "office", "gym", "library", "bakery", "airport", "park", "bank",
              "supermarket", "hotel", "museum", "restaurant", "hospital"],
    "time": ["noon", "three thirty", "half past six", "nine", "ten fifteen", "eight in the morning",
             "five", "midnight", "a quarter to four"],
    "person": ["Anna", "my brother", "David", "Doctor Lee", "the landlord", "Maria", "James", "Sofia",
               "my manager", "Tom"],
    "thing": ["keys", "umbrella", "wallet", "glasses case", "laptop", "headphones", "jacket", "charger"],
    "number": ["five", "ten", "fifteen", "twenty", "forty", "two", "thirty", "twelve"],
}  # fmt: skip
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

COMPLETE = {"statement": STATEMENTS, "question": QUESTIONS, "command": COMMANDS, "short": SHORT_ANSWERS}


def is_held_out(template: str) -> bool:
    """A fixed ~20 % of templates (by a hash of their text) belong to the test set only."""
    return zlib.crc32(template.encode()) % 5 == 0


def split(templates: list[str], held_out: bool) -> list[str]:
    chosen = [t for t in templates if is_held_out(t) == held_out]
    if not chosen:  # tiny lists: keep both sides non-empty deterministically
        chosen = templates[-1:] if held_out else templates[:-1]
    return chosen
