"""Seeded health-insurance claims, shaped like a SAS data set (Workshop 08).

One row per claim: member_id, service_day (a SAS date: days since 1960-01-01, as a SAS data set
without a date format holds it), service, region and amount. The amount of a claim is lognormal
around its service's true mean (`MEAN_AMOUNT`), and about 2% of amounts are missing (claims
still pending), so the notebook can check its PROC MEANS against the truth and show what
missing values do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SERVICES = ("office", "lab", "pharmacy", "imaging", "emergency")
SERVICE_SHARE = (0.35, 0.25, 0.25, 0.10, 0.05)
MEAN_AMOUNT = {"office": 120.0, "lab": 45.0, "pharmacy": 80.0, "imaging": 400.0, "emergency": 1200.0}
REGIONS = ("east", "north", "south", "west")
MISSING_SHARE = 0.02  # claims whose amount is still missing
SPREAD = 0.8  # sd of log(amount): amounts vary about as much as their mean
FIRST_DAY = 23_376  # 2024-01-01 as a SAS date


def claims(rows: int, seed: int, members: int | None = None) -> pd.DataFrame:
    """`rows` claims of `members` members (one per 20 claims by default) over the year 2024."""
    rng = np.random.default_rng(seed)
    members = members or max(1, rows // 20)
    member_id = rng.integers(1, members + 1, rows)
    service = rng.choice(len(SERVICES), rows, p=SERVICE_SHARE)
    means = np.array([MEAN_AMOUNT[s] for s in SERVICES])[service]
    amount = means * rng.lognormal(-SPREAD**2 / 2, SPREAD, rows)  # E[amount] = the service's mean
    amount = np.where(rng.random(rows) < MISSING_SHARE, np.nan, amount.round(2))
    region_of_member = rng.integers(0, len(REGIONS), members + 1)
    return pd.DataFrame({
        "member_id": member_id.astype("int64"),
        "service_day": (FIRST_DAY + rng.integers(0, 366, rows)).astype("int64"),
        "service": np.array(SERVICES)[service],
        "region": np.array(REGIONS)[region_of_member[member_id]],
        "amount": amount,
    })


def write_claims(rows: int, seed: int, folder, files: int = 8) -> list[str]:
    """The claims as `files` Parquet files of equal size (Spark reads one task per file), in
    `folder` (a local folder or a URI under the data root); their paths."""
    from .. import storage

    folder = storage.fresh(str(folder))
    frame = claims(rows, seed)
    return [storage.write_parquet(frame.iloc[block], storage.join(folder, f"part-{part:03d}.parquet"))
            for part, block in enumerate(np.array_split(np.arange(rows), files))]
