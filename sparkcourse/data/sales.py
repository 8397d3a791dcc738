"""Seeded weekly sales of many stores, each with its own true response to price and promotions.

    sales = intercept + price_effect * price + promo_effect * promo + noise

Every store has its own coefficients (the `truth` table), so one model per store is the right
design, and the fitted coefficients can be checked against the truth. Stores opened at
different times, so they have different numbers of weeks; `flagships` stores have ten times
as many rows (a longer history), the skewed groups that a per-group job must plan for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ["price", "promo"]
TARGET = "sales"


@dataclass
class StoreSales:
    sales: pd.DataFrame  # store_id, week, price, promo, sales
    truth: pd.DataFrame  # store_id, intercept, price_effect, promo_effect, noise_sd, rows


def store_sales(n_groups: int, seed: int, max_weeks: int = 104, flagships: int = 0) -> StoreSales:
    """Sales of `n_groups` stores with 20 to `max_weeks` weeks each (flagships ten times more)."""
    rng = np.random.default_rng(seed)
    truth = pd.DataFrame({
        "store_id": np.arange(n_groups, dtype=np.int64),
        "intercept": rng.normal(500, 80, n_groups).round(2),
        "price_effect": rng.normal(-40, 10, n_groups).round(3),
        "promo_effect": rng.gamma(4, 15, n_groups).round(3),
        "noise_sd": rng.uniform(5, 25, n_groups).round(2),
    })
    rows = rng.integers(20, max_weeks + 1, n_groups)
    rows[:flagships] *= 10
    truth["rows"] = rows
    store = np.repeat(truth.store_id.to_numpy(), rows)
    week = np.concatenate([np.arange(n) for n in rows])
    price = rng.uniform(2.0, 6.0, len(store)).round(2)
    promo = (rng.random(len(store)) < 0.25).astype(np.int32)
    t = truth.set_index("store_id").loc[store]
    sales = (t.intercept.to_numpy() + t.price_effect.to_numpy() * price
             + t.promo_effect.to_numpy() * promo + rng.normal(0, 1, len(store)) * t.noise_sd.to_numpy())
    frame = pd.DataFrame({"store_id": store, "week": week.astype(np.int32), "price": price,
                          "promo": promo, TARGET: sales.round(2)})
    return StoreSales(frame, truth)


def future_weeks(truth: pd.DataFrame, weeks: int, seed: int) -> pd.DataFrame:
    """The next `weeks` weeks of every store: planned prices and promotions, and the true
    expected sales (without noise) that a forecast should hit."""
    rng = np.random.default_rng(seed + 1)
    store = np.repeat(truth.store_id.to_numpy(), weeks)
    week = (np.repeat(truth.rows.to_numpy(), weeks) + np.tile(np.arange(weeks), len(truth)))
    price = rng.uniform(2.0, 6.0, len(store)).round(2)
    promo = (rng.random(len(store)) < 0.25).astype(np.int32)
    t = truth.set_index("store_id").loc[store]
    expected = (t.intercept.to_numpy() + t.price_effect.to_numpy() * price
                + t.promo_effect.to_numpy() * promo)
    return pd.DataFrame({"store_id": store, "week": week.astype(np.int32), "price": price,
                         "promo": promo, "expected_sales": expected})


REGIONS = ["east", "north", "south", "west"]
FORMATS = ["express", "supermarket", "hypermarket"]


def store_directory(n_groups: int, seed: int) -> pd.DataFrame:
    """One row per store: its region and format (a small table to join with the sales)."""
    rng = np.random.default_rng(seed + 2)
    return pd.DataFrame({"store_id": np.arange(n_groups, dtype=np.int64),
                         "region": rng.choice(REGIONS, n_groups),
                         "format": rng.choice(FORMATS, n_groups, p=[0.5, 0.35, 0.15])})
