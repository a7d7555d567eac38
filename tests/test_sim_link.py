"""Link model: connection-event batching, loss, jitter, seeded determinism."""

from __future__ import annotations

import random

from sottovoce.firmware_sim.link import MAX_PACKETS_PER_EVENT, LinkDirection, LinkModel
from sottovoce.firmware_sim.scenario import Link


def run_events(direction: LinkDirection, produce: list[tuple[float, int]], interval: float, events: int):
    """Offer packets at their times and release at each connection event; (event index, packet)."""
    out = []
    pending = sorted(produce)
    for n in range(1, events + 1):
        t = n * interval
        while pending and pending[0][0] <= t:
            direction.offer(*pending.pop(0))
        out += [(n, p) for p in direction.release(t)]
    return out


def test_packets_leave_only_at_connection_events_in_order():
    d = LinkDirection(Link(connection_interval_ms=15), random.Random(0))
    # A 20 ms audio frame split into 3 notifications, every 20 ms.
    produced = [(k * 0.02 + 0.001, k * 3 + i) for k in range(6) for i in range(3)]
    released = run_events(d, produced, 0.015, 10)
    assert [p for _, p in released] == list(range(18))
    by_event: dict[int, int] = {}
    for n, _ in released:
        by_event[n] = by_event.get(n, 0) + 1
    # Some events carry a whole frame, some none: the interval beats against 20 ms.
    assert 0 not in by_event.values() and len(by_event) < 10
    assert d.counters.sent == 18 and len(d) == 0


def test_per_event_cap_queues_the_rest():
    d = LinkDirection(Link(), random.Random(0))
    for i in range(MAX_PACKETS_PER_EVENT + 4):
        d.offer(0.0, i)
    assert d.release(0.015) == list(range(MAX_PACKETS_PER_EVENT))
    assert d.release(0.030) == list(range(MAX_PACKETS_PER_EVENT, MAX_PACKETS_PER_EVENT + 4))


def test_loss_is_counted_and_seeded():
    def lose(seed: int) -> tuple[list[int], int]:
        d = LinkDirection(Link(loss=0.2), random.Random(seed), capacity=1000)
        for i in range(1000):
            d.offer(i * 0.001, i)
        kept = []
        while len(d):
            kept += d.release(1e9)
        return kept, d.counters.lost

    kept_a, lost_a = lose(42)
    kept_b, lost_b = lose(42)
    kept_c, _ = lose(43)
    assert kept_a == kept_b and lost_a == lost_b
    assert kept_a != kept_c
    assert lost_a + len(kept_a) == 1000 and 150 < lost_a < 250


def test_jitter_delays_without_reordering():
    d = LinkDirection(Link(connection_interval_ms=15, jitter_ms=40), random.Random(3))
    produced = [(i * 0.005, i) for i in range(100)]
    released = run_events(d, produced, 0.015, 100)
    assert [p for _, p in released] == list(range(100))
    assert d.counters.jittered > 0
    # Some packet left at least one event later than it would have without jitter.
    assert any(n * 0.015 - i * 0.005 > 0.030 for n, i in released)


def test_overflow_and_discard_on_disconnect_are_counted():
    d = LinkDirection(Link(), random.Random(0), capacity=4)
    for i in range(6):
        d.offer(0.0, i)
    assert d.counters.overflow == 2
    d.clear()
    assert d.counters.discarded == 4 and len(d) == 0


def test_model_directions_share_one_seeded_rng():
    a, b = LinkModel(Link(loss=0.5), seed=7), LinkModel(Link(loss=0.5), seed=7)
    for m in (a, b):
        for i in range(50):
            m.uplink.offer(0.0, ("audio", bytes([i])))
            m.downlink.offer(0.0, ("downlink", bytes([i])))
    assert a.snapshot() == b.snapshot()
