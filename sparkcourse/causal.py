"""Causal estimates (Workshop 10): straight lines from Spark aggregates, adjustment of stratified
tables (back-door and front-door), the diagrams that say which adjustment is right, and a
structural model of smoking simulated with Spark."""

from __future__ import annotations

import pandas as pd

# --- straight lines, computed by Spark -------------------------------------------------------


def line_fits(frame, x: str, y: str, by: str | None = None) -> pd.DataFrame:
    """Least-squares line of `y` on `x` (per `by` group): n, intercept, slope and R², from
    Spark's aggregates: slope = cov(x, y) / var(x), R² = corr(x, y)²."""
    from pyspark.sql import functions as F

    stats = [F.count("*").alias("n"), F.avg(x).alias("mean_x"), F.avg(y).alias("mean_y"),
             (F.covar_samp(x, y) / F.var_samp(x)).alias("slope"), (F.corr(x, y) ** 2).alias("r2")]
    grouped = frame.groupBy(by).agg(*stats).orderBy(by) if by else frame.agg(*stats)
    table = grouped.toPandas()
    table["intercept"] = table.mean_y - table.slope * table.mean_x
    columns = [by] if by else []
    return table[[*columns, "n", "intercept", "slope", "r2"]]


# --- adjustment of stratified tables ---------------------------------------------------------


def rates(counts: pd.DataFrame, by: list[str], successes: str, total: str) -> pd.Series:
    """Success rate per `by` group of a table of counts."""
    summed = counts.groupby(by)[[successes, total]].sum()
    return summed[successes] / summed[total]


def backdoor_rates(counts: pd.DataFrame, treatment: str, stratum: str, successes: str,
                   total: str) -> pd.Series:
    """P(success | do(treatment)) by back-door adjustment (standardisation): the rate within
    each stratum, weighted by the stratum's share of *all* units, not of the treated ones."""
    within = rates(counts, [treatment, stratum], successes, total)
    share = counts.groupby(stratum)[total].sum() / counts[total].sum()
    return pd.Series({level: sum(within[level, s] * share[s] for s in share.index)
                      for level in within.index.unique(treatment)}, name="adjusted")


def frontdoor_rates(counts: pd.DataFrame, treatment: str, mediator: str, successes: str,
                    total: str) -> pd.Series:
    """P(success | do(treatment)) by front-door adjustment through `mediator`:
    sum over m of P(m | t) * sum over t' of P(success | t', m) P(t')."""
    share_t = counts.groupby(treatment)[total].sum() / counts[total].sum()
    by_tm = counts.groupby([treatment, mediator])[total].sum()
    m_given_t = by_tm / by_tm.groupby(level=treatment).transform("sum")
    success_given_tm = rates(counts, [treatment, mediator], successes, total)
    mediators = by_tm.index.unique(mediator)

    def effect_of_mediator(m):
        return sum(success_given_tm[t, m] * share_t[t] for t in share_t.index)

    return pd.Series({t: sum(m_given_t[t, m] * effect_of_mediator(m) for m in mediators)
                      for t in share_t.index}, name="front-door")


# --- causal diagrams -------------------------------------------------------------------------


def identify(edges, exposure: str, outcome: str, latents=(), method: str = "backdoor") -> set | None:
    """The set to adjust for, by pgmpy's identification of the diagram `edges` (cause, effect)
    with `latents` unobserved: back-door ("backdoor") or front-door ("frontdoor") variables, or
    None if that adjustment cannot identify the effect."""
    from pgmpy.base import DAG
    from pgmpy.identification import Adjustment, Frontdoor

    dag = DAG(ebunch=list(edges), latents=set(latents),
              roles={"exposures": exposure, "outcomes": outcome})
    finder = {"backdoor": Adjustment(), "frontdoor": Frontdoor()}[method]
    found, identified = finder.identify(dag)
    role = {"backdoor": "adjustment", "frontdoor": "frontdoor"}[method]
    return set(found.get_role_dict().get(role, [])) if identified else None


def draw_diagram(ax, edges, positions: dict, latents=(), title: str = "") -> None:
    """A causal diagram: one box per variable, one arrow per edge (dashed box: unobserved)."""
    boxes = {name: ax.text(x, y, name, ha="center", va="center", fontsize=10,
                           bbox={"boxstyle": "round", "fc": "white",
                                 "ls": "dashed" if name in latents else "solid"})
             for name, (x, y) in positions.items()}
    for cause, effect in edges:
        ax.annotate("", xy=positions[effect], xytext=positions[cause],
                    arrowprops={"arrowstyle": "-|>", "lw": 1.4, "shrinkA": 3, "shrinkB": 3,
                                "patchA": boxes[cause].get_bbox_patch(),
                                "patchB": boxes[effect].get_bbox_patch()})
    ax.set(xlim=(-0.2, 1.2), ylim=(-0.3, 1.3), title=title)
    ax.axis("off")


# --- a structural model of smoking, simulated with Spark --------------------------------------

GENES_SHARE = 0.3  # carriers of the gene
SMOKING_GIVEN_GENES = (0.2, 0.8)  # P(smoking | genes = 0, 1)
TAR_GIVEN_SMOKING = (0.05, 0.9)  # P(tar deposits | smoking = 0, 1)
CANCER_BASE, CANCER_TAR, CANCER_GENES = 0.05, 0.15, 0.25  # P(cancer) = base + tar + genes
TRUE_EFFECT = CANCER_TAR * (TAR_GIVEN_SMOKING[1] - TAR_GIVEN_SMOKING[0])  # P(c|do(s=1)) - P(c|do(s=0))
DIAGRAM = [("genes", "smoking"), ("smoking", "tar"), ("tar", "cancer"), ("genes", "cancer")]


def smoking_population(spark, people: int, seed: int, smoking: int | None = None, partitions: int = 8):
    """One row per person: genes, smoking, tar, cancer (0/1), drawn from the structural model.

    `smoking=0` or `1` simulates the intervention do(smoking): everyone's smoking is set, nothing
    else changes (the same random draws, so each person is compared with themselves)."""
    from pyspark.sql import functions as F

    def draw(salt, probability):
        return (F.rand(seed * 10 + salt) < probability).cast("int")

    genes = draw(1, F.lit(GENES_SHARE))
    smokes = (F.lit(smoking) if smoking is not None else
              draw(2, F.when(F.col("genes") == 1, SMOKING_GIVEN_GENES[1]).otherwise(SMOKING_GIVEN_GENES[0])))
    tar = draw(3, F.when(F.col("smoking") == 1, TAR_GIVEN_SMOKING[1]).otherwise(TAR_GIVEN_SMOKING[0]))
    cancer = draw(4, CANCER_BASE + CANCER_TAR * F.col("tar") + CANCER_GENES * F.col("genes"))
    return (spark.range(0, people, numPartitions=partitions)
            .withColumn("genes", genes).withColumn("smoking", smokes.cast("int"))
            .withColumn("tar", tar).withColumn("cancer", cancer))


# --- a randomised trial with a mediator -----------------------------------------------------

PH_NORMAL, PH_RISE, PH_SPREAD = 7.30, 0.08, 0.04  # blood pH: untreated mean, treatment's rise, sd
RECOVERY_PH, RECOVERY_SLOPE = 7.34, 5.0  # recovery: 50% likely at this pH, +5% per 0.01 of pH


def ph_trial(patients: int, seed: int) -> pd.DataFrame:
    """A randomised trial in which the treatment works only by raising blood pH:
    treated (0/1, by coin flip), ph, recovered (0/1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    treated = rng.integers(0, 2, patients)
    ph = PH_NORMAL + PH_RISE * treated + rng.normal(0, PH_SPREAD, patients)
    chance = np.clip(0.5 + RECOVERY_SLOPE * (ph - RECOVERY_PH), 0.02, 0.98)
    return pd.DataFrame({"treated": treated, "ph": ph.round(3),
                         "recovered": (rng.random(patients) < chance).astype(int)})
