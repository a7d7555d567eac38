"""Truncating the assistant's history to what the wearer heard."""

from sottovoce.host.history import Exchange, History, SpokenText


def spoken() -> SpokenText:
    s = SpokenText()
    s.add("One two three four.", 0, 16000)  # 1 s of speech, then a pause
    s.add("Five six.", 18400, 26400)
    return s


def test_text_until_maps_samples_to_words():
    s = spoken()
    assert s.text_until(0) == ""
    assert s.text_until(8000) == "One two"  # half of the first sentence
    assert s.text_until(16000) == "One two three four."
    assert s.text_until(17000) == "One two three four."  # in the pause
    assert s.text_until(22400) == "One two three four. Five"
    assert s.text_until(10**6) == s.full_text() == "One two three four. Five six."


def test_history_truncates_the_right_exchange_and_repeat_skips_empty_answers():
    h = History(max_exchanges=3)
    h.add(Exchange("a", "First answer.", 1))
    h.add(Exchange("b", "Second answer is long.", 2))
    assert h.truncate(2, spoken().text_until(0))
    assert h.find(2).assistant == "" and h.find(2).interrupted
    assert h.last_answer() == "First answer."
    assert not h.truncate(99, "x")
    for i in range(3, 6):
        h.add(Exchange("q", f"A{i}.", i))
    assert len(h) == 3 and h.find(1) is None


def test_an_exchange_is_taken_back_by_its_response():
    h = History()
    h.add(Exchange("set a timer for", "For how long?", 1))
    h.add(Exchange("what time is it", "Noon.", 2))
    assert h.remove(1).user == "set a timer for" and h.remove(1) is None
    assert [ex.response_id for ex in h] == [2]
