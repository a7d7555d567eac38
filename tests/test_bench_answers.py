"""`sottovoce bench answers`: the question set the project keeps, and the bench on a slice of it
(what it reports, not its figures: those are for the bench run itself)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from sottovoce.host.clock import ManualClock
from sottovoce.host.history import Exchange, History
from sottovoce.host.responder import REFUSAL, Context, SkillResponder
from sottovoce.host.timers import Timers
from sottovoce.tools.bench_answers import BATTERY, NOW, holds, load_questions, main, refuses

SKILL_KINDS = ("conversion", "time", "arithmetic", "volume")


def test_the_question_set_has_what_the_bench_needs():
    questions = load_questions()
    kinds = Counter(q.kind for q in questions)
    assert len(questions) >= 60 and len({q.id for q in questions}) == len(questions)
    for kind in ("fact", "howto", "conversion", "time", "follow-up", "decline"):
        assert kinds[kind] >= 3, kind
    assert any(q.context and q.ask.lower().startswith("and in") for q in questions)
    for q in questions:
        assert q.expect in ("answer", "decline") and (q.key == () or q.expect == "answer")


async def test_the_skills_get_every_skill_question_right():
    # what must be exact is exact: every conversion, time, sum and volume question, and their follow-ups
    skills = SkillResponder()
    for q in load_questions():
        if q.kind not in SKILL_KINDS and not (
            q.kind == "follow-up" and q.key and q.ask.lower().startswith(("and", "what about"))
        ):
            continue
        clock = ManualClock(NOW)
        ctx = Context(History(), clock, Timers(clock), battery_percent=BATTERY)
        for i, turn in enumerate(q.context, 1):
            reply = await skills.respond(turn, ctx)
            ctx.history.add(Exchange(turn, reply.text, i, request=reply.request))
        reply = await skills.respond(q.ask, ctx)
        if q.id == "follow-capital":
            assert reply.text == REFUSAL  # a fact: the model's
            continue
        assert reply.text != REFUSAL and all(holds(reply.text, k) for k in q.key), (q.id, reply.text)


@pytest.mark.parametrize(
    ("text", "key", "held"),
    [("Ten miles is about sixteen point one kilometres.", "16.09", True),
     ("Ten miles is about sixteen kilometres.", "16.09", True),
     ("Ten miles is about fifteen kilometres.", "16.09", False),
     ("The capital of France is Paris.", "paris", True), ("Parisian food is good.", "Lyon|Marseille", False),
     ("It's three oh seven in the afternoon.", "3 oh 7", True), ("Water is H2O.", "co2|H2O", True)],
)  # fmt: skip
def test_key_facts_match_normalised_and_numbers_within_tolerance(text, key, held):
    assert holds(text, key) is held


def test_declines_are_refusals_or_pointers_elsewhere():
    assert refuses(REFUSAL) and refuses("Please ask your doctor or pharmacist.")
    assert not refuses("The capital of France is Paris.")


def test_a_malformed_question_set_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "q.toml"
    bad.write_text('[[question]]\nid = "x"\nkind = "fact"\n')
    assert main(["--questions", str(bad)]) == 2
    assert "question 1 lacks 'ask'" in capsys.readouterr().err


def test_the_bench_on_a_slice(tmp_path, capsys):
    out = tmp_path / "answers.json"
    ids = ["miles-km", "follow-amount", "capital-france", "bank-password"]
    assert main(["--only", ",".join(ids), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [s["variant"] for s in report["summaries"]] == ["chain", "skills"]
    answers = {(a["variant"], a["id"]): a for a in report["answers"]}
    assert set(answers) == {(v, i) for v in ("chain", "skills") for i in ids}
    for a in answers.values():
        assert set(a) >= {"text", "by", "behaved", "key_ok", "sentences", "audio_s", "first_chunk_s", "tokens"}
        assert a["text"] and a["audio_s"] > 0 and a["first_chunk_s"] >= 0
    for variant in ("chain", "skills"):  # the skills' answers are the same in both, and right
        for i in ("miles-km", "follow-amount"):
            assert (answers[(variant, i)]["by"], answers[(variant, i)]["key_ok"]) == ("skill", True)
    assert answers[("chain", "capital-france")]["by"] == "model" and answers[("chain", "capital-france")]["tokens"] > 0
    assert answers[("skills", "capital-france")]["by"] == "refusal"
    assert answers[("skills", "bank-password")]["behaved"]  # the refusal is the decline expected
    summary = report["summaries"][1]
    assert (
        summary["questions"] == 4 and summary["declined"] == 1.0 and summary["answered"] == pytest.approx(2 / 3, 0.01)
    )
    printed = capsys.readouterr().out
    assert "key fact correct" in printed and "first chunk p50 s" in printed
