"""What the collector receives: every event once, the late ones after the rest, and the malformed
messages counted."""

import json

from sparkcourse.clickapp import as_payload
from sparkcourse.data.clickstream import generate_clickstream
from sparkcourse.data.deliveries import LATE_BY, MALFORMED, deliver


def test_every_event_arrives_once_late_ones_later_malformed_ones_counted():
    events = generate_clickstream(60, seed=3).events
    delivery = deliver(events, seed=3, late_share=0.05, malformed_share=0.01)
    malformed = [m for m in delivery.payload if m in MALFORMED]
    wellformed = [m for m in delivery.payload if m not in MALFORMED]
    assert len(malformed) == delivery.malformed == round(0.01 * len(events))
    assert delivery.events == len(wellformed) == len(events)
    assert sorted(map(json.dumps, wellformed)) == sorted(map(json.dumps, as_payload(events)))
    assert 0.03 * len(events) < len(delivery.late) < 0.07 * len(events)
    late = set(map(json.dumps, as_payload(delivery.late)))
    arrival = [(e["ts"], json.dumps(e) in late) for e in wellformed]
    on_time = [ts for ts, is_late in arrival if not is_late]
    assert on_time == sorted(on_time)
    first_late = next(i for i, (_, is_late) in enumerate(arrival) if is_late)
    overtaken = [ts for ts, _ in arrival[first_late + 1:]]
    assert max(overtaken) > arrival[first_late][0]  # events that happened later arrived before it
    assert LATE_BY.total_seconds() > 3600


def test_delivery_is_seeded():
    events = generate_clickstream(30, seed=1).events
    assert deliver(events, seed=7).payload == deliver(events, seed=7).payload
    assert deliver(events, seed=7).payload != deliver(events, seed=8).payload
