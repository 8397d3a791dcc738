"""A seeded clickstream: users of a shopping app, their events, and who subscribed afterwards.

Each user has two hidden traits: `engagement` (how often and how long they use the app) and
`thrift` (how price-sensitive they are). Events follow from the traits, and so does the label
`subscribed` (took the paid plan in the month after the window). Features built from the
events can therefore recover the label, and `truth` tells how well they could at best.

Sessions are separated by more than SESSION_GAP of inactivity and events inside a session by
less, so sessionising with that gap recovers `truth.n_sessions` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from . import dataset_path

WINDOW_START = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday
WINDOW_DAYS = 28
SESSION_GAP = pd.Timedelta(minutes=30)
SLOT = pd.Timedelta(hours=2)  # at most one session starts in each two-hour slot
MAX_EVENTS_PER_SESSION = 12
MAX_EVENT_GAP_S = 300  # events in a session are at most 5 minutes apart
COUNTRIES = ["DE", "ES", "FR", "GB", "IT", "NL", "PL", "SE"]
COUNTRY_WEIGHTS = [0.2, 0.12, 0.16, 0.2, 0.1, 0.08, 0.08, 0.06]


@dataclass
class Clickstream:
    users: pd.DataFrame  # user_id, country, signup_date, newsletter
    events: pd.DataFrame  # user_id, ts, device, page, event_type, amount
    labels: pd.DataFrame  # user_id, subscribed
    truth: pd.DataFrame  # user_id, engagement, thrift, n_sessions, p_subscribe

    def write(self, folder: str | Path, files: int = 4) -> dict[str, str]:
        """Write Parquet for pandas and Spark alike, at a local folder or under a data root URI:
        events in `files` parts, one file per other table. Returns the paths by table."""
        folder = str(folder)
        paths = {"events": storage.fresh(storage.join(folder, "events"))}
        for i, rows in enumerate(np.array_split(np.arange(len(self.events)), files)):
            part = storage.join(paths["events"], f"part-{i:03d}.parquet")
            storage.write_parquet(self.events.iloc[rows], part)
        for name in ("users", "labels"):
            paths[name] = storage.write_parquet(getattr(self, name), storage.join(folder, f"{name}.parquet"))
        return paths


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2... inside each run of equal values of a sorted array."""
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    sizes = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, sizes)


def generate_clickstream(n_users: int, seed: int = 42) -> Clickstream:
    """About 65 events per user over a four-week window."""
    rng = np.random.default_rng(seed)
    user_id = np.arange(1, n_users + 1)
    engagement = rng.lognormal(0.0, 0.6, n_users)
    thrift = rng.beta(2, 2, n_users)
    mobile_pref = rng.beta(3, 2, n_users)
    slots = WINDOW_DAYS * pd.Timedelta(days=1) // SLOT
    n_sessions = np.minimum(1 + rng.poisson(6 * engagement), slots)

    # Sessions: distinct two-hour slots per user, a random start within the first 20 minutes.
    s_user = np.repeat(np.arange(n_users), n_sessions)
    rank = _rank_within(s_user)
    free = slots - n_sessions[s_user]  # slots left over for this user
    s_slot = _sorted_within(s_user, np.floor(rng.random(len(s_user)) * (free + 1))) + rank
    s_start = s_slot * SLOT.total_seconds() + rng.uniform(0, 1200, len(s_user))
    s_mobile = rng.random(len(s_user)) < mobile_pref[s_user]
    s_device = np.where(s_mobile, "mobile", np.where(rng.random(len(s_user)) < 0.8, "desktop", "tablet"))
    s_events = np.minimum(1 + rng.poisson(2 + 3 * engagement[s_user]), MAX_EVENTS_PER_SESSION)
    p_buy = _sigmoid(-2.0 + 0.8 * np.log(engagement[s_user]) - 3.0 * (thrift[s_user] - 0.5))
    s_buys = (s_events >= 3) & (rng.random(len(s_user)) < p_buy)

    # Events: gaps under five minutes inside a session, page views and clicks, a purchase last.
    e_session = np.repeat(np.arange(len(s_user)), s_events)
    e_rank = _rank_within(e_session)
    gaps = np.where(e_rank == 0, 0.0, np.minimum(rng.exponential(60, len(e_session)), MAX_EVENT_GAP_S))
    e_offset = np.cumsum(gaps)
    e_offset -= np.repeat(e_offset[np.r_[0, np.flatnonzero(np.diff(e_session)) + 1]], s_events)
    e_seconds = s_start[e_session] + e_offset
    pages = pd.read_csv(dataset_path("app_pages.csv"))
    browse = pages[~pages.category.isin(["checkout"])].page.to_numpy()
    page = rng.choice(browse, len(e_session))
    event_type = np.where(rng.random(len(e_session)) < 0.7, "page_view", "click")
    from_end = s_events[e_session] - 1 - e_rank
    buying = s_buys[e_session]
    event_type = np.where(buying & (from_end == 1), "add_to_cart", event_type)
    event_type = np.where(buying & (from_end == 0), "purchase", event_type)
    page = np.where(buying & (from_end == 1), "cart", page)
    page = np.where(buying & (from_end == 0), "checkout", page)
    amount = np.where(
        event_type == "purchase",
        np.round(rng.lognormal(3.6 - 0.8 * thrift[s_user[e_session]], 0.5), 2),
        np.nan,
    )
    ts = WINDOW_START + pd.to_timedelta(np.round(e_seconds * 1e3), unit="ms")
    events = pd.DataFrame({
        "user_id": user_id[s_user[e_session]],
        "ts": ts.as_unit("us"),
        "device": s_device[e_session],
        "page": page,
        "event_type": event_type,
        "amount": amount,
    })

    users = pd.DataFrame({
        "user_id": user_id,
        "country": rng.choice(COUNTRIES, n_users, p=COUNTRY_WEIGHTS),
        "signup_date": (WINDOW_START - pd.to_timedelta(rng.integers(1, 730, n_users), unit="D")).date,
        "newsletter": rng.random(n_users) < 0.4,
    })
    p_subscribe = _sigmoid(-1.0 + 2.0 * np.log(engagement) - 3.0 * (thrift - 0.5))
    labels = pd.DataFrame({"user_id": user_id, "subscribed": (rng.random(n_users) < p_subscribe).astype(int)})
    truth = pd.DataFrame({
        "user_id": user_id, "engagement": engagement, "thrift": thrift,
        "n_sessions": n_sessions, "p_subscribe": p_subscribe,
    })
    return Clickstream(users, events, labels, truth)


def _sorted_within(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values` sorted inside each group of the (sorted) `groups` array."""
    return values[np.lexsort((values, groups))].astype(int)
