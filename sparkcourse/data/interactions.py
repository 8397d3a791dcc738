"""A seeded catalogue for recommenders: users, items and their interactions, from known tastes.

Every user and every item has a hidden taste vector of RANK factors. Items belong to a genre,
whose centre their factors scatter around, and carry public attributes (the genre, and noisy
descriptors of their factors), so that content says something about taste. Popularity is
long-tailed: a few items get most interactions.

A user picks items with probability proportional to exp(affinity + log popularity), without
replacement, at times spread over a 90-day window. Tastes drift: the first half of a user's picks
(in time) follow their early tastes, the second half their current ones, a third of the way towards another
genre, so the future is not a random sample of the past. Each interaction is *implicit* (how many times
the user played the item); a third of the users also *rate* what they played, 1 to 5 stars, from
the same affinity plus noise. `truth` keeps the factors, so a model can be compared with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RANK = 6  # true taste factors
GENRES = ("action", "comedy", "documentary", "drama", "family", "horror", "romance", "sci-fi")
DESCRIPTORS = 6  # public numeric attributes per item, noisy views of its factors
WINDOW_START = pd.Timestamp("2026-01-05", tz="UTC")
WINDOW_DAYS = 90
RATER_SHARE = 1 / 3  # users who also give explicit ratings
RATING_NOISE = 0.5  # standard deviation of a rating's noise, in stars, before rounding
TASTE = 3.5  # weight of affinity against popularity in a user's choices
DRIFT = 0.3  # how far a user's tastes move, from early to current, towards another genre
POPULARITY = 0.7  # the k-th most popular item is picked about k**-POPULARITY as often (Zipf)


@dataclass
class Truth:
    user_factors: np.ndarray  # (users, RANK), row i is user i + 1: current tastes (the later picks)
    item_factors: np.ndarray  # (items, RANK), row j is item j + 1
    log_popularity: np.ndarray  # (items,)
    early_factors: np.ndarray  # (users, RANK): the tastes of each user's first half of picks

    def choice_scores(self, users: np.ndarray, early: bool = False) -> np.ndarray:
        """Every item's score for `users` (ids), with current (or early) tastes: the generator's
        own ranking, the best a model could learn."""
        tastes = (self.early_factors if early else self.user_factors)[users - 1]
        return TASTE * tastes @ self.item_factors.T + self.log_popularity


@dataclass
class Interactions:
    users: pd.DataFrame  # user_id, rates (gives explicit ratings), signup
    items: pd.DataFrame  # item_id, genre, released, descriptor_0..; the public catalogue
    events: pd.DataFrame  # user_id, item_id, ts, plays (>= 1), rating (1-5 for raters, else NaN)
    truth: Truth

    def __repr__(self) -> str:
        raters = self.users.rates.sum()
        top = self.events.item_id.value_counts()
        share = top.iloc[: max(1, len(self.items) // 10)].sum() / len(self.events)
        return (f"{len(self.users):,} users ({raters:,} also rate), {len(self.items):,} items, "
                f"{len(self.events):,} interactions ({self.events.rating.notna().sum():,} rated); "
                f"the top 10% of items get {share:.0%} of them")


def _pick(scores: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each row, `counts[row]` distinct columns drawn with probability ~ exp(score), without
    replacement (the Gumbel top-k trick), in a matrix padded with -1."""
    keys = scores + rng.gumbel(size=scores.shape)
    top = np.argpartition(-keys, counts.max() - 1, axis=1)[:, :counts.max()]
    order = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1), axis=1)
    return np.where(np.arange(counts.max()) < counts[:, None], order, -1)


def _pick_early_then_late(truth: Truth, ids: np.ndarray, counts: np.ndarray,
                          rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each user's early picks (half, early tastes), then late ones among the items left."""
    early = _pick(truth.choice_scores(ids, early=True), counts // 2, rng)
    late_scores = truth.choice_scores(ids)
    rows = np.repeat(np.arange(len(ids)), early.shape[1])
    taken = early.ravel()
    late_scores[rows[taken >= 0], taken[taken >= 0]] = -np.inf
    late = _pick(late_scores, counts - counts // 2, rng)
    return [(first[first >= 0], then[then >= 0]) for first, then in zip(early, late, strict=True)]


def _times(offsets: np.ndarray, unit: str) -> pd.Series:
    """Times in the window, in microseconds (Spark reads Parquet's micro-, not nanoseconds)."""
    times = WINDOW_START + pd.to_timedelta(np.round(offsets), unit=unit)
    return pd.Series(times).astype("datetime64[us, UTC]")


def generate_interactions(n_users: int, n_items: int, seed: int = 42, per_user: float = 25.0,
                          block: int = 2_000) -> Interactions:
    """About `per_user` interactions for each of `n_users` users, over `n_items` items."""
    if n_users < 1 or n_items < 20:
        raise ValueError(f"need at least 1 user and 20 items; got {n_users} and {n_items}")
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (len(GENRES), RANK))
    genre = rng.integers(0, len(GENRES), n_items)
    item_factors = (centres[genre] + rng.normal(0, 0.6, (n_items, RANK))) / np.sqrt(RANK)
    favourite, later = rng.integers(0, len(GENRES), (2, n_users))
    early_factors = (centres[favourite] + rng.normal(0, 0.8, (n_users, RANK))) / np.sqrt(RANK)
    towards = (centres[later] + rng.normal(0, 0.8, (n_users, RANK))) / np.sqrt(RANK)
    user_factors = (1 - DRIFT) * early_factors + DRIFT * towards
    popularity_rank = rng.permutation(n_items) + 1
    log_popularity = -POPULARITY * np.log(popularity_rank)
    truth = Truth(user_factors, item_factors, log_popularity, early_factors)

    counts = np.minimum(4 + rng.poisson(per_user - 4, n_users), n_items // 2)
    user_ids = np.arange(1, n_users + 1)
    picked = []
    for start in range(0, n_users, block):
        ids = user_ids[start:start + block]
        picked += _pick_early_then_late(truth, ids, counts[ids - 1], rng)
    event_user = np.repeat(user_ids, counts)
    event_item = np.concatenate([np.r_[early, late] for early, late in picked]) + 1
    is_late = np.concatenate([np.r_[np.zeros(len(early), bool), np.ones(len(late), bool)]
                              for early, late in picked])
    tastes = np.where(is_late[:, None], user_factors[event_user - 1], early_factors[event_user - 1])
    affinity = np.einsum("ij,ij->i", tastes, item_factors[event_item - 1])

    # Times: early picks in the first half of the user's weeks, late ones in the second (an item
    # released later than that half is played after its release, whatever the half).
    signup = rng.integers(0, WINDOW_DAYS // 2, n_users)  # day of the window each user joined
    released = np.where(rng.random(n_items) < 0.85, 0, rng.integers(0, WINDOW_DAYS - 10, n_items))
    middle = (signup[event_user - 1] + WINDOW_DAYS) / 2
    start = np.maximum(np.where(is_late, middle, signup[event_user - 1]), released[event_item - 1])
    end = np.where(is_late | (start >= middle), WINDOW_DAYS, middle)
    seconds = (start + rng.random(len(event_user)) * (end - start)) * 86_400
    rates = rng.random(n_users) < RATER_SHARE
    stars = 3 + 1.5 * affinity / affinity.std() + rng.normal(0, RATING_NOISE, len(affinity))
    rating = np.where(rates[event_user - 1], np.clip(np.round(stars), 1, 5), np.nan)
    plays = 1 + rng.poisson(np.exp(np.clip(affinity, -3, 3)))

    events = pd.DataFrame({"user_id": event_user, "item_id": event_item,
                           "ts": _times(seconds, "s"),
                           "plays": plays, "rating": rating})
    events = events.sort_values(["ts", "user_id"], ignore_index=True)
    users = pd.DataFrame({"user_id": user_ids, "rates": rates,
                          "signup": _times(signup, "D")})
    noise = rng.normal(0, 0.3, (n_items, DESCRIPTORS))
    descriptors = item_factors @ rng.normal(0, 1, (RANK, DESCRIPTORS)) + noise
    items = pd.DataFrame({"item_id": np.arange(1, n_items + 1), "genre": np.array(GENRES)[genre],
                          "released": _times(released, "D"),
                          **{f"descriptor_{k}": descriptors[:, k].round(3) for k in range(DESCRIPTORS)}})
    return Interactions(users, items, events, truth)
