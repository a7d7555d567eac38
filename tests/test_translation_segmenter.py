"""The simultaneous segmenter: words are committed once stable, each said exactly once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.host.translation.segmenter import Segmenter, SegmenterConfig, Word, resume_index, unscored

SENTENCE = "Buenos días, señor. El museo está muy cerca de aquí, pero el hotel está lejos, en el centro."


def growing(text: str, step: int = 1) -> list[str]:
    words = text.split()
    return [" ".join(words[:n]) for n in range(1, len(words) + 1, step)]


def said_by(seg: Segmenter, hypotheses: list[str], final: str) -> list[str]:
    out = [s for h in hypotheses for s in seg.update(unscored(h))]
    rest = seg.finish(final)
    return out + ([rest] if rest else [])


def test_a_clause_is_committed_once_two_partials_agree_past_its_boundary():
    seg = Segmenter()
    assert seg.update(unscored("Buenos días,")) == []  # the boundary is the hypothesis' last word
    assert seg.update(unscored("Buenos días, señor")) == ["Buenos días,"]
    # "señor" was agreed on; the full stop after it, not at the end any more, is a boundary
    assert seg.update(unscored("Buenos días, señor. El")) == ["señor."]
    assert seg.update(unscored("Buenos días, señor. El museo")) == []


def test_growing_partials_say_every_word_once_in_order():
    segments = said_by(Segmenter(), growing(SENTENCE), SENTENCE)
    assert " ".join(segments) == SENTENCE
    assert len(segments) > 2  # said while it was spoken, not all at the end


def test_a_long_clause_without_a_boundary_is_cut_after_max_stable_words():
    seg = Segmenter(SegmenterConfig(max_stable_words=3))
    seg.update(unscored("uno dos tres cuatro"))
    assert seg.update(unscored("uno dos tres cuatro cinco")) == ["uno dos tres cuatro"]


def test_a_correction_of_said_words_is_not_repeated():
    seg = Segmenter()
    seg.update(unscored("la estación de el tren, necesito"))
    assert seg.update(unscored("la estación de el tren, necesito ir")) == ["la estación de el tren,"]
    # Whisper now hears "del" for "de el": only what follows is new
    assert seg.update(unscored("la estación del tren, necesito ir al")) == []
    assert seg.finish("La estación del tren, necesito ir al centro.") == "necesito ir al centro."


def test_a_final_that_says_nothing_new_adds_nothing():
    seg = Segmenter()
    for h in growing("Hola, buenos días, ¿qué tal?"):
        seg.update(unscored(h))
    seg.update(unscored("Hola, buenos días, ¿qué tal? "))
    said = " ".join(seg.said)
    assert (
        seg.finish("Hola, buenos días, ¿qué tal?").split()
        == "Hola, buenos días, ¿qué tal?".split()[len(said.split()) :]
    )
    assert seg.update(unscored("Hola, buenos días, ¿qué tal? Adiós")) == []  # finished: no more


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
        out += seg.update(unscored(" ".join(words)))
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
    seg.update(unscored(a))
    seg.update(unscored(b))
    seg.finish(a)
    assert isinstance(seg.said, list)


def test_a_partial_ending_in_a_pause_commits_its_words_at_once():
    seg = Segmenter(SegmenterConfig(pause_s=0.25))
    assert seg.update(unscored("Bien, ¿qué es?"), quiet_s=0.3) == []  # a first reading alone is not trusted
    assert seg.update(unscored("Buenos"), quiet_s=0.0) == []
    assert seg.update(unscored("Buenos días, señor"), quiet_s=0.1) == []  # still speaking: agreement needed
    seg = Segmenter(SegmenterConfig(pause_s=0.25))
    assert seg.update(unscored("Buenos"), quiet_s=0.0) == []
    assert seg.update(unscored("Buenos días, señor"), quiet_s=0.3) == ["Buenos días, señor"]  # a pause ends the clause
    assert seg.update(unscored("Buenos días, señor. El museo"), quiet_s=0.0) == []  # only new words wait
    assert seg.update(unscored("Buenos días, señor. El museo está"), quiet_s=0.4) == ["El museo está"]
    assert seg.update(unscored("Buenos días, señor. El museo está. Cerca"), quiet_s=0.4) == []  # nothing agreed yet


def test_pauses_are_ignored_when_turned_off():
    seg = Segmenter(SegmenterConfig(pause_s=0.0))
    assert seg.update(unscored("Buenos días, señor"), quiet_s=5.0) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(WORDS, st.floats(0.0, 1.0)), max_size=8), WORDS)
def test_partials_with_pauses_say_each_committed_word_once(hypotheses, final):
    seg = Segmenter(SegmenterConfig(max_stable_words=3, pause_s=0.25))
    out = []
    for words, quiet_s in hypotheses:
        before = list(seg.said)
        out += seg.update(unscored(" ".join(words)), quiet_s=quiet_s)
        assert seg.said[: len(before)] == before  # what is said stays said
    rest = seg.finish(" ".join(final))
    assert " ".join([*out, rest]).split() == seg.said


# ---------------------------------------------------------------- Whisper's evidence


def timed(*words: tuple[str, float, float, float]) -> list[Word]:
    """(text, start, end, probability) each, seconds into the decoded audio."""
    return [Word(t, s, e, p) for t, s, e, p in words]


def test_a_word_heard_well_before_the_end_with_high_probability_is_committed_on_one_hypothesis():
    seg = Segmenter(SegmenterConfig(max_stable_words=2))
    hypothesis = timed(("El", 0.0, 0.3, 0.95), ("museo", 0.3, 0.7, 0.9), ("está", 0.7, 1.05, 0.9))
    # "está" ends 0.05 s before the audio does: the decoder may still be hearing it
    assert seg.update(hypothesis, audio_s=1.1) == ["El museo"]
    assert seg.pending == ["está"]


def test_a_word_the_decoder_doubts_waits_for_a_second_hypothesis_to_agree():
    seg = Segmenter(SegmenterConfig(max_stable_words=2))
    first = timed(("Buenos", 0.0, 0.4, 0.5), ("días", 0.4, 0.8, 0.99), ("en", 0.8, 1.0, 0.4))
    assert seg.update(first, audio_s=1.4) == []  # "Buenos" is unsure, so nothing after it is settled
    again = timed(("Buenos", 0.0, 0.4, 0.6), ("días", 0.4, 0.8, 0.99), ("en", 0.8, 1.0, 0.4), ("qué", 1.0, 1.6, 0.9))
    assert seg.update(again, audio_s=1.7) == ["Buenos días en"]  # the two agree on all three


def test_readings_of_noise_agreeing_at_a_low_probability_are_not_committed():
    seg = Segmenter(SegmenterConfig(max_stable_words=2))
    noise = timed(("¿Se", 0.0, 0.1, 0.05), ("ha", 0.1, 0.2, 0.03), ("estado?", 0.2, 0.3, 0.06))
    for _ in range(3):
        assert seg.update(noise, audio_s=2.0) == []
    assert seg.said == []


def test_a_boundary_where_the_audio_stops_counts_only_once_a_pause_followed_it():
    seg = Segmenter()
    cut_off = timed(("Gracias.", 0.0, 0.55, 0.95))
    assert seg.update(cut_off, audio_s=0.6) == []  # the full stop may be only where the audio ended
    paused = timed(("Gracias.", 0.0, 0.55, 0.95))
    assert seg.update(paused, audio_s=1.0) == ["Gracias."]  # 0.45 s of the audio after it: a pause


def test_a_clause_opener_ends_the_segment_before_it():
    seg = Segmenter()
    words = ["El", "museo", "abre", "pero", "el", "lunes"]
    hypothesis = [Word(w, 0.3 * i, 0.3 * i + 0.25, 0.95) for i, w in enumerate(words)]
    assert seg.update(hypothesis, audio_s=1.9) == ["El museo abre"]
    assert seg.pending == ["pero", "el", "lunes"]


def test_a_hypothesis_re_reading_said_words_after_a_cut_adds_only_the_new_ones():
    seg = Segmenter(SegmenterConfig(max_stable_words=2))
    first = timed(("Fue", 0.0, 0.3, 0.9), ("tanta", 0.3, 0.7, 0.9), ("la", 0.7, 0.8, 0.9), ("cantidad", 0.8, 1.3, 0.9))
    assert seg.update(first, audio_s=1.4) == ["Fue tanta la"]
    at = seg.overlap_start(0.6)
    assert at == 0.3  # "tanta" and "la" are kept to be re-read; "Fue" goes
    seg.cut(at)
    assert seg.context == "Fue"
    # the next clip begins on "tanta", read badly (its start was cut into), then the new words
    again = timed(("tanto", 0.0, 0.4, 0.2), ("la", 0.4, 0.5, 0.9), ("cantidad", 0.5, 1.0, 0.95), ("de", 1.0, 1.1, 0.9))
    assert seg.update(again, audio_s=1.5) == ["cantidad de"]
    assert seg.said == ["Fue", "tanta", "la", "cantidad", "de"]
    assert seg.said_from_s == 0.0 and seg.said_until_s == 0.3 + 1.1


# ---------------------------------------------------------------- the final pass


def test_resume_index_finds_said_words_read_another_way_without_skipping_new_ones():
    assert resume_index(["la", "estación", "de", "el"], ["la", "estación", "del", "tren"]) == 3
    # "El" is found at the start, not at the later "el" (which would skip "museo está en")
    assert resume_index(["El"], ["Él", "museo", "está", "en", "el", "centro"]) == 1
    said = "Carpaneo participó en dos carreras individuales del campeonato,".split()
    final = "Carpaneo participó en dos carreras individuales del campeonato, aparte de la competencia".split()
    assert resume_index(said, final) == len(said)


def test_the_final_pass_reading_said_words_another_way_repeats_nothing():
    seg = Segmenter(SegmenterConfig(max_stable_words=3))
    seg.update(timed(("De", 1.0, 1.2, 0.9), ("qué", 1.2, 1.4, 0.9), ("le", 1.4, 1.5, 0.9), ("da", 1.5, 1.8, 0.9)), 2.2)
    assert seg.said == ["De", "qué", "le", "da"]
    # the final pass hears that stretch as other words; by their times they are the ones said
    final = timed(
        ("¿Sabe", 1.0, 1.3, 0.9), ("dónde", 1.3, 1.8, 0.9), ("está", 1.9, 2.2, 0.9), ("la", 2.2, 2.3, 0.9),
        ("estación?", 2.3, 2.9, 0.9),
    )  # fmt: skip
    assert seg.finish(final) == "está la estación?"


def test_the_turns_first_words_no_partial_settled_are_said_not_skipped():
    seg = Segmenter(SegmenterConfig(max_stable_words=2))
    seg.update(timed(("la", 1.6, 1.7, 0.9), ("estación", 1.7, 2.2, 0.9), ("de", 2.2, 2.3, 0.3)), 2.6)
    assert seg.said == ["la", "estación"]
    final = timed(
        ("Perdone,", 0.2, 0.8, 0.9), ("¿sabe", 0.9, 1.2, 0.9), ("dónde", 1.2, 1.5, 0.9), ("la", 1.6, 1.7, 0.9),
        ("estación", 1.7, 2.2, 0.9), ("de", 2.2, 2.3, 0.9), ("tren?", 2.3, 2.7, 0.9),
    )  # fmt: skip
    assert seg.finish(final) == "Perdone, ¿sabe dónde de tren?"
    assert seg.said == ["la", "estación", "Perdone,", "¿sabe", "dónde", "de", "tren?"]


TIMED_WORDS = st.lists(
    st.tuples(WORDS.map(len).flatmap(lambda _: st.sampled_from(["el", "museo,", "está", "cerca.", "de", "aquí"])),
              st.floats(0.05, 0.5), st.floats(0.0, 1.0)),
    max_size=10,
)  # fmt: skip


def as_words(spec: list[tuple[str, float, float]], start: float = 0.0) -> tuple[list[Word], float]:
    words, t = [], start
    for text, length, p in spec:
        words.append(Word(text, t, t + length, p))
        t += length
    return words, t


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TIMED_WORDS, st.floats(0.0, 1.0), st.booleans()), max_size=8), TIMED_WORDS)
def test_timed_hypotheses_and_cuts_say_each_committed_word_once(hypotheses, final):
    seg = Segmenter(SegmenterConfig(max_stable_words=2))
    out = []
    for spec, tail_s, cut in hypotheses:
        before = list(seg.said)
        words, end = as_words(spec)
        out += seg.update(words, audio_s=end + tail_s)
        assert seg.said[: len(before)] == before  # what is said stays said
        at = seg.overlap_start(0.6)
        if cut and at is not None:
            seg.cut(at)
            assert all(w.start >= 0 for w in seg.in_view)
    words, _ = as_words(final)
    rest = seg.finish(words)
    assert " ".join([*out, rest]).split() == seg.said
    assert seg.finish(words) == ""


def test_while_the_ear_is_idle_a_shorter_segment_is_committed():
    words = ["El", "museo", "está", "muy", "cerca"]
    hypothesis = [Word(w, 0.3 * i, 0.3 * i + 0.25, 0.95) for i, w in enumerate(words[:3])]
    busy = Segmenter(SegmenterConfig(max_stable_words=4, idle_words=2))
    assert busy.update(hypothesis, audio_s=0.95) == []  # two settled words wait for more
    idle = Segmenter(SegmenterConfig(max_stable_words=4, idle_words=2))
    assert idle.update(hypothesis, audio_s=0.95, ear_idle=True) == ["El museo"]
    off = Segmenter(SegmenterConfig(max_stable_words=4, idle_words=0))
    assert off.update(hypothesis, audio_s=0.95, ear_idle=True) == []
