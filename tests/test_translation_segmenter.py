"""The simultaneous segmenter: words are committed once stable, each said exactly once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.host.translation.segmenter import Segmenter, SegmenterConfig, resume_index

SENTENCE = "Buenos días, señor. El museo está muy cerca de aquí, pero el hotel está lejos, en el centro."


def growing(text: str, step: int = 1) -> list[str]:
    words = text.split()
    return [" ".join(words[:n]) for n in range(1, len(words) + 1, step)]


def said_by(seg: Segmenter, hypotheses: list[str], final: str) -> list[str]:
    out = [s for h in hypotheses for s in seg.update(h)]
    rest = seg.finish(final)
    return out + ([rest] if rest else [])


def test_a_clause_is_committed_once_two_partials_agree_past_its_boundary():
    seg = Segmenter()
    assert seg.update("Buenos días,") == []  # the boundary is the hypothesis' last word
    assert seg.update("Buenos días, señor") == ["Buenos días,"]
    # "señor" was agreed on; the full stop after it, not at the end any more, is a boundary
    assert seg.update("Buenos días, señor. El") == ["señor."]
    assert seg.update("Buenos días, señor. El museo") == []


def test_growing_partials_say_every_word_once_in_order():
    segments = said_by(Segmenter(), growing(SENTENCE), SENTENCE)
    assert " ".join(segments) == SENTENCE
    assert len(segments) > 2  # said while it was spoken, not all at the end


def test_a_long_clause_without_a_boundary_is_cut_after_max_stable_words():
    seg = Segmenter(SegmenterConfig(max_stable_words=3))
    seg.update("uno dos tres cuatro")
    assert seg.update("uno dos tres cuatro cinco") == ["uno dos tres cuatro"]


def test_a_correction_of_said_words_is_not_repeated():
    seg = Segmenter()
    seg.update("la estación de el tren, necesito")
    assert seg.update("la estación de el tren, necesito ir") == ["la estación de el tren,"]
    # Whisper now hears "del" for "de el": only what follows is new
    assert seg.update("la estación del tren, necesito ir al") == []
    assert seg.finish("La estación del tren, necesito ir al centro.") == "necesito ir al centro."


def test_a_final_that_says_nothing_new_adds_nothing():
    seg = Segmenter()
    for h in growing("Hola, buenos días, ¿qué tal?"):
        seg.update(h)
    seg.update("Hola, buenos días, ¿qué tal? ")
    said = " ".join(seg.said)
    assert (
        seg.finish("Hola, buenos días, ¿qué tal?").split()
        == "Hola, buenos días, ¿qué tal?".split()[len(said.split()) :]
    )
    assert seg.update("Hola, buenos días, ¿qué tal? Adiós") == []  # finished: no more


def test_resume_index_skips_said_words_however_they_are_spelled():
    assert resume_index([], ["a", "b"]) == 0
    assert resume_index(["Hola,", "señor."], ["hola", "señor", "adiós"]) == 2
    assert resume_index(["a", "b", "c"], ["x", "y"]) == 2  # nothing aligns: by count
    assert resume_index(["a", "b", "c"], ["a", "b"]) == 2


WORDS = st.lists(
    st.sampled_from(["el", "la", "museo,", "está", "cerca.", "¿dónde", "hotel?", "de", "aquí"]), max_size=12
)


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, max_size=8), WORDS)
def test_any_partials_say_each_committed_word_once(hypotheses, final):
    seg = Segmenter(SegmenterConfig(max_stable_words=3))
    out = []
    before = 0
    for words in hypotheses:
        out += seg.update(" ".join(words))
        assert len(seg.said) >= before  # what is said stays said
        before = len(seg.said)
    rest = seg.finish(" ".join(final))
    spoken = " ".join([*out, rest]).split()
    assert spoken == seg.said
    assert seg.finish(" ".join(final)) == ""  # a second finish says nothing


@settings(max_examples=100, deadline=None)
@given(WORDS, st.integers(1, 4))
def test_consistent_partials_end_with_exactly_the_final_words(words, step):
    text = " ".join(words)
    assert " ".join(said_by(Segmenter(), growing(text, step), text)).split() == words


@given(st.text(max_size=200), st.text(max_size=200))
def test_arbitrary_text_never_breaks_it(a, b):
    seg = Segmenter()
    seg.update(a)
    seg.update(b)
    seg.finish(a)
    assert isinstance(seg.said, list)


def test_a_partial_ending_in_a_pause_commits_its_words_at_once():
    seg = Segmenter(SegmenterConfig(pause_s=0.25))
    assert seg.update("Bien, ¿qué es?", quiet_s=0.3) == []  # a first reading alone is not trusted
    assert seg.update("Buenos", quiet_s=0.0) == []
    assert seg.update("Buenos días, señor", quiet_s=0.1) == []  # still speaking: agreement needed
    seg = Segmenter(SegmenterConfig(pause_s=0.25))
    assert seg.update("Buenos", quiet_s=0.0) == []
    assert seg.update("Buenos días, señor", quiet_s=0.3) == ["Buenos días, señor"]  # a pause ends the clause
    assert seg.update("Buenos días, señor. El museo", quiet_s=0.0) == []  # only new words wait
    assert seg.update("Buenos días, señor. El museo está", quiet_s=0.4) == ["El museo está"]
    assert seg.update("Buenos días, señor. El museo está. Cerca", quiet_s=0.4) == []  # nothing agreed yet


def test_pauses_are_ignored_when_turned_off():
    seg = Segmenter(SegmenterConfig(pause_s=0.0))
    assert seg.update("Buenos días, señor", quiet_s=5.0) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(WORDS, st.floats(0.0, 1.0)), max_size=8), WORDS)
def test_partials_with_pauses_say_each_committed_word_once(hypotheses, final):
    seg = Segmenter(SegmenterConfig(max_stable_words=3, pause_s=0.25))
    out = []
    for words, quiet_s in hypotheses:
        before = list(seg.said)
        out += seg.update(" ".join(words), quiet_s)
        assert seg.said[: len(before)] == before  # what is said stays said
    rest = seg.finish(" ".join(final))
    assert " ".join([*out, rest]).split() == seg.said
