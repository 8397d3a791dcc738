"""Website traffic for online experiments whose truth is known (Workshop 11).

Users come from two segments with different click rates: `desktop` users click more than
`mobile` ones. Variant B's true effect is the same lift in each segment, `TRUE_LIFT`. Two ways to
run the experiment wrong, each with its truth:
- `assignment="biased"`: B is shown mostly to mobile users (say, a rollout that starts on the
  app). The naive comparison of B against A then mixes B's effect with the segments' difference,
  and finds B worse; stratifying by segment recovers the lift.
- `colliding=True`: a second experiment runs on the same users at the same time, testing a new
  page layout (`layout` 0 or 1). B's button only works on the old layout (on the new one it is
  hidden below the fold), so B's measured lift depends on how much traffic the other test takes.
- `assignment="shadow"`: B is a new model run in the shadow. `variant` records what it would
  have shown, but every user is served A, so clicks carry none of B's effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLICK_RATE = {"desktop": 0.06, "mobile": 0.03}  # variant A's click-through rate by segment
DESKTOP_SHARE = 0.5
TRUE_LIFT = 0.006  # B's absolute lift in every segment (on the old layout)
BIASED_B_SHARE = {"desktop": 0.1, "mobile": 0.9}  # P(B) by segment when assignment is biased


def ab_traffic(users: int, seed: int, assignment: str = "random", colliding: bool = False,
               new_layout_share: float = 0.5) -> pd.DataFrame:
    """One row per user: `segment`, `variant` (A or B), `layout` (0 old, 1 new), `click_rate`
    (the truth) and `clicked`."""
    if assignment not in ("random", "biased", "shadow"):
        raise ValueError(f"assignment must be 'random', 'biased' or 'shadow'; got {assignment!r}")
    rng = np.random.default_rng(seed)
    desktop = rng.random(users) < DESKTOP_SHARE
    segment = np.where(desktop, "desktop", "mobile")
    b_share = np.where(desktop, BIASED_B_SHARE["desktop"], BIASED_B_SHARE["mobile"]) \
        if assignment == "biased" else np.full(users, 0.5)
    is_b = rng.random(users) < b_share
    layout = (rng.random(users) < new_layout_share).astype(int) if colliding else np.zeros(users, int)
    base = np.where(desktop, CLICK_RATE["desktop"], CLICK_RATE["mobile"])
    served_b = is_b & (assignment != "shadow")
    rate = base + np.where(served_b & (layout == 0), TRUE_LIFT, 0.0)
    return pd.DataFrame({"user_id": np.arange(users), "segment": segment,
                         "variant": np.where(is_b, "B", "A"), "layout": layout,
                         "click_rate": rate, "clicked": (rng.random(users) < rate).astype(int)})


def expected_naive_lift(assignment: str) -> float:
    """What B minus A converges to when segments are ignored."""
    if assignment == "random":
        return TRUE_LIFT
    shares = {s: DESKTOP_SHARE if s == "desktop" else 1 - DESKTOP_SHARE for s in CLICK_RATE}

    def mean_rate(variant: str) -> float:
        weights = {s: shares[s] * (BIASED_B_SHARE[s] if variant == "B" else 1 - BIASED_B_SHARE[s])
                   for s in CLICK_RATE}
        lift = TRUE_LIFT if variant == "B" else 0.0
        return sum(w * (CLICK_RATE[s] + lift) for s, w in weights.items()) / sum(weights.values())

    return mean_rate("B") - mean_rate("A")
