"""The shared turn state machine, driven by the fixed-silence rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from sottovoce.edge.end_rules import SilencePolicy
from sottovoce.edge.turn import VAD_LAG_MS, EndCall, EndContext, TurnDetector, TurnKind, VadThresholds


def silence_rule(**settings) -> TurnDetector:
    return TurnDetector(SilencePolicy(**settings))


def run(policy: TurnDetector, probs):
    out = []
    for p in probs:
        out += [(s.kind, s.frame) for s in policy.push(p)]
    return out


def test_speech_then_silence_gives_start_tentative_confirmed():
    policy = silence_rule(confirm_ms=500, tentative_ms=200)
    events = run(policy, [0.0] * 5 + [0.9] * 20 + [0.0] * 30)
    assert events == [
        (TurnKind.SPEECH_START, 5),  # onset frame, reported once 60 ms of speech confirm it
        (TurnKind.TENTATIVE_END, 25 + 9),  # 10th silent frame = 200 ms
        (TurnKind.CONFIRMED_END, 25 + 24),  # 25th silent frame = 500 ms
    ]


def test_pause_shorter_than_confirm_resumes_the_same_turn():
    policy = silence_rule(confirm_ms=500, tentative_ms=200)
    events = run(policy, [0.9] * 10 + [0.0] * 15 + [0.9] * 10 + [0.0] * 5)
    kinds = [k for k, _ in events]
    assert kinds == [TurnKind.SPEECH_START, TurnKind.TENTATIVE_END, TurnKind.RESUMED]


def test_a_click_shorter_than_min_speech_opens_no_turn():
    policy = silence_rule()
    assert run(policy, [0.0, 0.9, 0.9, 0.0, 0.0] * 10) == []


def test_hysteresis_keeps_a_dip_inside_speech():
    policy = silence_rule(confirm_ms=500, tentative_ms=200)
    # 0.4 is below onset but above offset: a speaking wearer stays "in speech"
    events = run(policy, [0.9] * 5 + [0.4] * 20 + [0.0] * 9)
    assert [k for k, _ in events] == [TurnKind.SPEECH_START]
    assert policy.speech_frames == 25


def test_confirmed_end_always_follows_a_tentative_one():
    policy = silence_rule(confirm_ms=200, tentative_ms=400)  # tentative clamps to confirm
    kinds = [k for k, _ in run(policy, [0.9] * 5 + [0.0] * 12)]
    assert kinds == [TurnKind.SPEECH_START, TurnKind.TENTATIVE_END, TurnKind.CONFIRMED_END]


@dataclass(frozen=True)
class _ScriptedPolicy:
    """A policy that may call the end while the VAD still reports speech, as the model policy
    does (Silero lags the last word): it decides on the frames it is told to, and otherwise as
    the silence rule does."""

    decisions: dict[int, TurnKind]
    vad: VadThresholds = field(default_factory=VadThresholds)

    def rules(self) -> list:
        return [_Scripted(self.decisions), *SilencePolicy().rules()]


@dataclass
class _Scripted:
    decisions: dict[int, TurnKind]
    name: str = "scripted"

    def decide(self, ctx: EndContext) -> EndCall | None:
        kind = self.decisions.get(ctx.frame)
        return EndCall(kind, self.name) if kind else None

    def reset(self) -> None:
        pass


def scripted(decisions: dict[int, TurnKind]) -> TurnDetector:
    return TurnDetector(_ScriptedPolicy(decisions))


def test_an_end_called_during_lagging_vad_speech_opens_no_new_turn():
    # the end is called on frame 12 while the VAD still says speech until frame 19
    policy = scripted({12: TurnKind.CONFIRMED_END})
    events = run(policy, [0.9] * 20 + [0.0] * 10 + [0.9] * 5)
    assert events == [
        (TurnKind.SPEECH_START, 0),
        (TurnKind.TENTATIVE_END, 12),
        (TurnKind.CONFIRMED_END, 12),
        (TurnKind.SPEECH_START, 30),  # only speech that starts after the decision is a new turn
    ]


def test_a_tentative_end_is_not_resumed_by_the_speech_it_was_called_in():
    policy = scripted({12: TurnKind.TENTATIVE_END})
    events = run(policy, [0.9] * 20 + [0.0] * 5 + [0.9] * 5)
    assert events == [
        (TurnKind.SPEECH_START, 0),
        (TurnKind.TENTATIVE_END, 12),
        (TurnKind.RESUMED, 27),  # the third frame of the new voiced run
    ]


def test_a_tentative_end_called_in_speech_that_goes_on_is_resumed_once_the_vad_lag_is_past():
    # the end is called on frame 12 and the VAD never stops hearing speech: no fresh voiced run
    # will come, so the lag (VAD_LAG_MS) decides; the host must not answer the words up to 12
    policy = scripted({12: TurnKind.TENTATIVE_END})
    events = run(policy, [0.9] * 40)
    lag = VAD_LAG_MS // 20
    assert events == [(TurnKind.SPEECH_START, 0), (TurnKind.TENTATIVE_END, 12), (TurnKind.RESUMED, 12 + lag)]
    # while a VAD that stops within its lag leaves the tentative end standing
    policy = scripted({12: TurnKind.TENTATIVE_END})
    events = run(policy, [0.9] * (12 + lag - 1) + [0.0] * 10)
    assert events == [(TurnKind.SPEECH_START, 0), (TurnKind.TENTATIVE_END, 12)]


def test_the_silence_rule_never_decides_while_the_vad_hears_speech():
    policy = silence_rule(confirm_ms=20, tentative_ms=0)
    assert [k for k, _ in run(policy, [0.9] * 30)] == [TurnKind.SPEECH_START]
