"""How a clickstream reaches the collector (workshop 12): in the order events happened, except a
few that arrive days late (a phone offline for a while) and a few malformed ones (a buggy client).

The lesson knows exactly which events were late and how many messages were malformed, so it can
check its quarantine and measure what a watermark dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..clickapp import as_payload

LATE_BY = pd.Timedelta(days=7)
# What buggy clients send: a user id that is not a number, a time that is not a time, no user,
# a number for a page. Each parses to a missing user id or time, so each lands in quarantine.
MALFORMED = [
    {"user_id": "user-17", "ts": "2026-03-03T10:00:00.000Z", "page": "home", "event_type": "page_view"},
    {"user_id": 17, "ts": "yesterday", "page": "home", "event_type": "page_view"},
    {"ts": "2026-03-03T10:00:00.000Z", "page": "home", "event_type": "click"},
    {"user_id": 17, "page": 404, "event_type": "page_view"},
]


@dataclass
class Delivery:
    payload: list[dict]  # what the load generator sends, in arrival order
    late: pd.DataFrame  # the events that arrived LATE_BY after they happened
    malformed: int  # malformed messages among the payload
    events: int  # well-formed events among the payload

    def __str__(self) -> str:
        return (f"{len(self.payload):,} messages: {self.events:,} events ({len(self.late):,} of them "
                f"arriving {LATE_BY.days} days late) and {self.malformed} malformed")


def deliver(events: pd.DataFrame, seed: int, late_share: float = 0.02, malformed_share: float = 0.005,
            late_by: pd.Timedelta = LATE_BY) -> Delivery:
    """The messages a collector receives for `events` (a clickstream's events table)."""
    rng = np.random.default_rng(seed)
    is_late = rng.random(len(events)) < late_share
    arrival = events.ts + pd.to_timedelta(np.where(is_late, late_by.value, 0), unit="ns")
    ordered = events.assign(_arrival=arrival, _late=is_late)
    ordered = ordered.sort_values(["_arrival", "user_id"], kind="stable")
    payload = as_payload(ordered.drop(columns=["_arrival", "_late"]))
    n_malformed = max(1, round(malformed_share * len(events)))
    for position, kind in zip(np.sort(rng.integers(0, len(payload), n_malformed))[::-1],
                              rng.integers(0, len(MALFORMED), n_malformed), strict=True):
        payload.insert(int(position), dict(MALFORMED[kind]))
    late = ordered[ordered._late].drop(columns=["_arrival", "_late"]).reset_index(drop=True)
    return Delivery(payload, late, n_malformed, len(events))
