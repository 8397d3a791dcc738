# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3.11 (Scaling ML with Spark)
#     language: python
#     name: scaling-ml-spark
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 10 · Causality pitfalls
# *What data cannot tell you, and the causal model that can · about 75 minutes*
#
# **Topics:** regression direction, Simpson's paradox, confounders, mediators and colliders, pooled against split data, observing against intervening (do), back-door and front-door adjustment, a structural causal model simulated with Spark, stratified estimates with `groupBy`, causal diagrams with pgmpy
#
# **Spark Connect:** yes. Pass `spark_master="sc://host:port"` to run it on a Connect server.
#
# People reason in causes: *if I drive faster, I need longer to stop*; *this treatment works
# better*. Data hold associations. The same table can support opposite conclusions depending on
# what caused what, and no amount of data, nor of Spark, settles that: a **causal model** (a
# diagram of what causes what) does. With it, the right estimate is often simple arithmetic on a
# stratified table, which Spark computes at any scale.
#
# By the end you will be able to:
# - say which **direction** a regression should go, and why the two directions are not inverses;
# - recognise **Simpson's paradox**, and decide from a diagram whether to **control** for a
#   variable (a confounder), **not** to (a mediator, a collider), or to **split** the data;
# - estimate an intervention's effect by **back-door** and **front-door adjustment**, and check
#   both against the truth of a simulated **do()**;
# - compute stratified, adjusted estimates with Spark **`groupBy`** and SQL on a large table.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Parameters
# `people` sets the size of the simulated population of section 6 (0 takes the scale's default:
# 1 million *small*, 20 million *medium*, 200 million *large*); `trial_patients` the size of the
# trial of section 4.

# %% tags=["parameters"]
scale: str = "small"  # data size: ci (tests), small (Binder), medium (laptop), large (cluster)
spark_master: str = "local[*]"  # where Spark runs: local[*], local[N] or spark://host:port
seed: int = 42  # random seed for the simulated trial and population
work_dir: str = "work"  # the driver's folder for this notebook's files (Spark's log, local MLflow)
data_root: str = ""  # folder or URI that driver and executors see, for data Spark reads; empty: work_dir
people: int = 0  # people in the simulated population of section 6; 0 takes the scale's default
trial_patients: int = 2000  # patients in the simulated trial of section 4

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from pyspark.sql import functions as F

from sparkcourse import check_int, record, setup_notebook
from sparkcourse.causal import (
    DIAGRAM,
    TRUE_EFFECT,
    backdoor_rates,
    draw_diagram,
    frontdoor_rates,
    identify,
    line_fits,
    ph_trial,
    rates,
    smoking_population,
)
from sparkcourse.data import dataset_path
from sparkcourse.exercises.causal import DIAGRAMS, check_adjustment_sets, check_admissions

run = setup_notebook("10_causality_pitfalls", scale=scale, spark_master=spark_master, seed=seed,
                     work_dir=work_dir, data_root=data_root)
people = check_int("people", people, minimum=10_000) if people else run.scale.people
trial_patients = check_int("trial_patients", trial_patients, minimum=100)
spark = run.spark()
print(f"Spark {spark.version}; {people:,} simulated people, a trial of {trial_patients:,} patients")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Three shapes a third variable can take
# A diagram has one arrow per direct cause. Between a treatment X and an outcome Y, a third
# variable Z can be:
# - a **confounder** (Z → X, Z → Y): it opens a **back-door path** X ← Z → Y that mixes Z's
#   effect into X's. **Control for it.**
# - a **mediator** (X → Z → Y): it is *how* X works. Controlling for it removes the effect you
#   are measuring. **Do not control** (unless you want the direct effect only).
# - a **collider** (X → Z ← Y): a common effect. X and Y are independent until you select or
#   control on Z, which creates an association out of nothing. **Do not control.**

# %%
shapes = {"confounder": [("Z", "X"), ("Z", "Y"), ("X", "Y")],
          "mediator": [("X", "Z"), ("Z", "Y")],
          "collider": [("X", "Z"), ("Y", "Z")]}
places = {"X": (0, 0), "Y": (1, 0), "Z": (0.5, 0.9)}
fig, axes = plt.subplots(1, 3, figsize=(10, 2.4))
for ax, (shape, edges) in zip(axes, shapes.items(), strict=True):
    draw_diagram(ax, edges, places, title=shape)
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Which way to regress: speed and stopping distance
# Fifty cars' speed (mph) and stopping distance (ft), recorded in the 1920s (Ezekiel 1930, R's
# `cars`). R's `lm(dist ~ speed)` prints an intercept of **-17.579** and a slope of **3.932**
# (R² **0.6511**); `lm(speed ~ dist)` prints **8.284** and **0.1656**. Spark computes both lines
# from its aggregates: slope = cov(x, y) / var(x).

# %%
cars = spark.read.csv(run.dataset("cars.csv"), header=True, inferSchema=True)
both_ways = pd.concat({"dist on speed": line_fits(cars, "speed", "dist"),
                       "speed on dist": line_fits(cars, "dist", "speed")}).droplevel(1)
print(both_ways.round(4).to_string())
inverse_slope = 1 / both_ways.slope["dist on speed"]
print(f"the first line solved for speed has slope {inverse_slope:.4f}, not "
      f"{both_ways.slope['speed on dist']:.4f}; the product of the two slopes is R² = "
      f"{both_ways.slope.prod():.4f}")

# %%
points = cars.toPandas()
speeds = np.linspace(0, 27, 50)
fit, back = both_ways.loc["dist on speed"], both_ways.loc["speed on dist"]
fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.scatter(points.speed, points.dist, s=14, color="black", label="50 cars")
ax.plot(speeds, fit.intercept + fit.slope * speeds, label="distance on speed")
ax.plot(speeds, (speeds - back.intercept) / back.slope, ls="--", label="speed on distance")
ax.set(xlabel="speed (mph)", ylabel="stopping distance (ft)", ylim=(-20, 130),
       title="Two regressions, two different lines")
ax.legend()
plt.show()

# %% [markdown]
# Each line minimises the errors of *its* target, so unless the points lie on a line, the two
# are not inverses: the dashed one (speed on distance, drawn as distance against speed) is the
# steeper, its slope the other's divided by R². Which to use is a
# question for the causal story, not the data: **speed causes stopping distance** (braking
# distance grows with speed, about as its square), so "how much longer will I need if I drive
# 5 mph faster?" is the distance-on-speed line (about 5 × 3.9 ≈ 20 ft). The other line answers a
# prediction question with no intervention in it: "given this skid mark, how fast was the car?"
#
# ## 3 · Simpson's paradox: kidney stones
# Charig and colleagues (BMJ, 1986) compared open surgery (**A**) with percutaneous
# nephrolithotomy (**B**). The published success rates: **A 78% (273/350), B 83% (289/350)**
# overall; but **A 93% (81/87) against B 87% (234/270)** for small stones and **A 73% (192/263)
# against B 69% (55/80)** for large ones. A is better for both sizes and worse overall.

# %%
stones = spark.read.csv(run.dataset("kidney_stones.csv"), header=True, inferSchema=True)
success = F.sum("successes") / F.sum("patients")
by_size = (stones.groupBy("treatment").pivot("stone_size", ["small", "large"])
           .agg(F.format_string("%.0f%% (%d/%d)", success * 100, F.sum("successes"), F.sum("patients"))))
overall = stones.groupBy("treatment").agg(
    F.format_string("%.0f%% (%d/%d)", success * 100, F.sum("successes"), F.sum("patients")).alias("overall"))
by_size.join(overall, "treatment").orderBy("treatment").show()

# %% [markdown]
# Why? Doctors chose **open surgery for the large stones**, which are harder to treat whatever
# the treatment: 263 of A's 350 patients had large stones, 80 of B's. Stone size causes both
# the choice of treatment and the outcome: a confounder. The fair comparison gives both
# treatments the **same mix of stones**, that of all 700 patients (back-door adjustment):
#
# P(success | do(A)) = Σ over sizes of P(success | A, size) × P(size)

# %%
kidney = stones.toPandas()
share = kidney.groupby("stone_size").patients.sum() / kidney.patients.sum()
within = rates(kidney, ["treatment", "stone_size"], "successes", "patients")
for treatment in ["A", "B"]:
    terms = " + ".join(f"{within[treatment, size]:.3f} x {share[size]:.3f}" for size in ["small", "large"])
    adjusted = sum(within[treatment, size] * share[size] for size in share.index)
    print(f"{treatment}: {terms} = {adjusted:.3f}")
kidney_adjusted = backdoor_rates(kidney, "treatment", "stone_size", "successes", "patients")
stone_diagram = [("stone_size", "treatment"), ("stone_size", "success"), ("treatment", "success")]
print(f"pgmpy: adjust for {identify(stone_diagram, 'treatment', 'success')}")

# %%
crude = rates(kidney, ["treatment"], "successes", "patients")
table = within.unstack("stone_size")[["small", "large"]].assign(overall=crude, adjusted=kidney_adjusted)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), width_ratios=[2, 1])
(table * 100).T.plot.bar(ax=left, rot=0, ylim=(0, 105), xlabel="", ylabel="success (%)",
                         title="A wins every stratum and loses the crude comparison")
left.legend(title="treatment", ncols=2, loc="upper right")
draw_diagram(right, stone_diagram, {"stone_size": (0.5, 1), "treatment": (0, 0), "success": (1, 0)})
plt.show()

# %% [markdown]
# Adjusted, A succeeds in 83% and B in 78%: the ranking of the strata, now for the whole
# population. The data alone could not say whether to adjust: the diagram did. Had stone
# size been caused *by* the treatment, adjusting would have been wrong, as the next section shows.
#
# ## 4 · When not to control: a mediator
# A simulated randomised trial (the treatment is given by coin flip, so nothing confounds it).
# The treatment works **only by raising blood pH**, and a higher pH makes recovery more likely.

# %%
trial = ph_trial(trial_patients, run.seed)
total = smf.ols("recovered ~ treated", trial).fit()
direct = smf.ols("recovered ~ treated + ph", trial).fit()
for name, model in [("recovered ~ treated", total), ("recovered ~ treated + ph", direct)]:
    low, high = model.conf_int().loc["treated"]
    print(f"{name:26} effect of treatment {model.params['treated']:+.3f} (95% CI {low:+.3f} to {high:+.3f})")
mediated = [("treated", "ph"), ("ph", "recovered")]
print(f"pgmpy: adjust for {identify(mediated, 'treated', 'recovered') or 'nothing'}")

# %%
bands = trial.assign(ph_band=(trial.ph / 0.02).round() * 0.02)
by_band = bands.groupby(["ph_band", "treated"]).recovered.agg(["mean", "size"]).reset_index()
by_band = by_band[by_band["size"] >= 20]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
for treated, label in [(0, "control"), (1, "treated")]:
    left.hist(trial.ph[trial.treated == treated], bins=30, alpha=0.6, label=label)
    rows = by_band[by_band.treated == treated]
    right.plot(rows.ph_band, rows["mean"], marker="o", label=label)
left.set(xlabel="blood pH", ylabel="patients", title="The treatment raises pH")
right.set(xlabel="blood pH (bands of 0.02)", ylabel="recovered",
          title="At equal pH, the arms recover alike")
left.legend()
right.legend()
plt.show()

# %% [markdown]
# The treatment raises recovery by about 0.4, and the trial, being randomised, measures that
# without adjustment. "Controlling for pH" asks a different question, the effect at a *fixed*
# pH, and finds nothing, because the treatment has no other route. A model that adjusts for
# every variable it has would call a working treatment useless.
#
# ## 5 · Pooled or split: carburetors, axle ratio and cylinders
# The 32 cars of the 1974 *Motor Trend* road tests (Henderson and Velleman, 1981; R's `mtcars`):
# 11 with 4 cylinders, 7 with 6, 14 with 8. Does a higher rear-axle ratio (`drat`) go with more
# carburetors (`carb`)? One regression on all cars, then one per cylinder group, both in Spark.

# %%
mtcars = spark.read.csv(run.dataset("mtcars.csv"), header=True, inferSchema=True)
pooled = line_fits(mtcars, "drat", "carb").assign(cyl="all")
per_cylinder = line_fits(mtcars, "drat", "carb", by="cyl")
slopes = pd.concat([per_cylinder, pooled]).set_index("cyl")
print("carburetors per unit of axle ratio")
print(slopes.round(3).to_string())

# %%
cars_table = mtcars.toPandas()
grid = np.linspace(2.7, 5, 20)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), width_ratios=[2, 1])
for cyl, rows in cars_table.groupby("cyl"):
    line = slopes.loc[cyl]
    dots = left.scatter(rows.drat, rows.carb, s=18, label=f"{cyl} cylinders")
    span = np.linspace(rows.drat.min(), rows.drat.max(), 10)
    left.plot(span, line.intercept + line.slope * span, color=dots.get_facecolor()[0])
left.plot(grid, slopes.loc["all", "intercept"] + slopes.loc["all", "slope"] * grid, "k--", label="all cars")
left.set(xlabel="rear axle ratio", ylabel="carburetors", title="Pooled: flat; per cylinder group: rising")
left.legend(fontsize=8)
engine = [("cylinders", "axle_ratio"), ("cylinders", "carburetors"), ("axle_ratio", "carburetors")]
draw_diagram(right, engine, {"cylinders": (0.5, 1), "axle_ratio": (0, 0), "carburetors": (1, 0)})
plt.show()

# %% [markdown]
# Pooled, the slope is slightly negative; within every cylinder group it is positive. Both are
# correct summaries of the data; which one answers the question depends on the diagram. The
# engine (its cylinders) is chosen first and drives both the gearing and the fuel system, so
# cylinders are a **common cause**: split (or adjust), and read the per-group slopes. Had the
# axle ratio decided the number of cylinders, cylinders would be a mediator and the pooled
# line the answer. Thirty-two cars make these slopes noisy (the 6-cylinder line rests on 7
# cars): the lesson is the reversal, not the numbers.
#
# ### Exercise 1 · What to adjust for
# For each diagram in `DIAGRAMS`, give the set of variables to adjust for to estimate the effect
# of the exposure on the outcome (an empty set if none). The check asks pgmpy.

# %%
for name, diagram in DIAGRAMS.items():
    arrows = ", ".join(f"{cause} -> {effect}" for cause, effect in diagram["edges"])
    print(f"{name}: {diagram['question']}\n    {arrows}")

# %%
# BEGIN SOLUTION
adjust_for = {"exercise": {"age"}, "drug": set(), "fame": set()}
# STUDENT: adjust_for = {"exercise": None, "drug": None, "fame": None}  # a set of variable names each
# END SOLUTION

# %%
check_adjustment_sets(adjust_for)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · P(cancer | smoking) is not P(cancer | do(smoking))
# Pearl's classic structural model: **genes** make smoking more likely *and* cause cancer
# directly; smoking works only through **tar** deposits. Its equations, simulated with Spark, one
# row per person:
#
# | variable | drawn as |
# |---|---|
# | genes | 1 with probability 0.3 |
# | smoking | 1 with probability 0.8 if genes, else 0.2 |
# | tar | 1 with probability 0.9 if smoking, else 0.05 |
# | cancer | 1 with probability 0.05 + 0.15 × tar + 0.25 × genes |
#
# The true effect of smoking is 0.15 × (0.9 - 0.05) = **0.1275**. Simulating **do(smoking = 1)**
# and **do(smoking = 0)** (everyone's smoking set, every other random draw kept) measures it.

# %%
population = smoking_population(spark, people, run.seed)
strata = (population.groupBy("genes", "smoking", "tar")
          .agg(F.count("*").alias("n"), F.sum("cancer").alias("cases"))
          .orderBy("genes", "smoking", "tar").toPandas())
print(f"{strata.n.sum():,} people in {len(strata)} strata")
intervened = {level: smoking_population(spark, people, run.seed, smoking=level)
              .agg(F.avg("cancer")).first()[0] for level in (0, 1)}
print(f"do(smoking=1): {intervened[1]:.4f}, do(smoking=0): {intervened[0]:.4f}, "
      f"effect {intervened[1] - intervened[0]:.4f} (the model's {TRUE_EFFECT:.4f})")

# %% [markdown]
# Three estimates from the observational table, one per assumption:
# - **naive**: P(cancer | smoking) - P(cancer | no smoking). It mixes in the genes.
# - **back-door** through genes, when genes are **observed**: Σ over g of P(cancer | s, g) P(g).
# - **front-door** through tar, when genes are **not** observed: Σ over t of P(t | s) × Σ over s'
#   of P(cancer | s', t) P(s'). It needs three conditions: smoking affects cancer only through
#   tar; nothing confounds smoking → tar; and every back-door path from tar to cancer goes
#   through smoking, so adjusting for smoking blocks it.
#
# pgmpy reads the same conclusions off the diagram.

# %% [markdown]
# The front-door formula, step by step, from the table of strata (genes left out: it is hidden):

# %%
n = strata.groupby(["smoking", "tar"]).n.sum()
p_smoking = n.groupby(level="smoking").sum() / n.sum()                  # P(s')
p_tar_given_smoking = n / n.groupby(level="smoking").transform("sum")  # P(t | s)
p_cancer = strata.groupby(["smoking", "tar"]).cases.sum() / n            # P(cancer | s', t)
tar_levels = n.index.unique("tar")
through_tar = {t: sum(p_cancer[s, t] * p_smoking[s] for s in p_smoking.index) for t in tar_levels}
front_door = pd.Series({s: sum(p_tar_given_smoking[s, t] * through_tar[t] for t in tar_levels)
                        for s in p_smoking.index})
print(f"P(cancer | do(smoking)) by the front door: {front_door.round(4).to_dict()}")

# %%
print(f"genes observed: back-door set {identify(DIAGRAM, 'smoking', 'cancer')}")
print(f"genes hidden:   back-door {identify(DIAGRAM, 'smoking', 'cancer', latents={'genes'})}, "
      f"front-door set {identify(DIAGRAM, 'smoking', 'cancer', latents={'genes'}, method='frontdoor')}")
estimates = {
    "naive": rates(strata, ["smoking"], "cases", "n"),
    "back-door (genes)": backdoor_rates(strata, "smoking", "genes", "cases", "n"),
    "front-door (tar)": frontdoor_rates(strata, "smoking", "tar", "cases", "n"),
}
assert np.allclose(estimates["front-door (tar)"], front_door)  # the course's tested helper agrees
effects = pd.Series({name: rate[1] - rate[0] for name, rate in estimates.items()})
effects["do(smoking), simulated"] = intervened[1] - intervened[0]
print((effects.to_frame("effect of smoking").assign(
    off_by=lambda table: table["effect of smoking"] - TRUE_EFFECT)).round(4).to_string())

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), width_ratios=[2, 1])
effects.plot.barh(ax=left, color=["tab:red", "tab:blue", "tab:blue", "tab:green"])
left.axvline(TRUE_EFFECT, color="black", ls="--", lw=1, label=f"true effect {TRUE_EFFECT}")
left.set(xlabel="P(cancer) with smoking minus without", title="Naive association vs causal effect")
left.invert_yaxis()
left.legend(loc="lower right")
draw_diagram(right, DIAGRAM, {"genes": (0.5, 1), "smoking": (0, 0.3), "tar": (0.5, -0.1), "cancer": (1, 0.3)},
             latents={"genes"})
plt.show()

# %% [markdown]
# The association is about **twice** the effect: smokers carry the gene more often, and the gene
# causes cancer. Both adjustments recover the effect from observational data, each under its own
# assumptions, and neither could be checked from the data alone.
#
# ## 7 · Stratified estimates at scale: a `groupBy`, then arithmetic
# Every estimate above used only the table of counts per stratum (8 rows), whatever the number
# of people: the heavy part is one `groupBy`. The adjustment itself can stay in Spark too, as one
# SQL query; it gives the same back-door estimate, with nothing collected but the answer.

# %%
population.createOrReplaceTempView("people")
backdoor_sql = spark.sql("""
    WITH within AS (SELECT genes, smoking, AVG(cancer) AS rate FROM people GROUP BY genes, smoking),
         share AS (SELECT genes, COUNT(*) / SUM(COUNT(*)) OVER () AS share FROM people GROUP BY genes)
    SELECT smoking, SUM(rate * share) AS adjusted_rate
    FROM within JOIN share USING (genes) GROUP BY smoking ORDER BY smoking
""").toPandas().set_index("smoking").adjusted_rate
difference = (backdoor_sql - estimates["back-door (genes)"]).abs().max()
print(backdoor_sql.round(4).to_string())
print(f"largest difference from the pandas arithmetic on the strata: {difference:.1e}")

# %% [markdown]
# ### Exercise 2 · An adjusted estimate from a stratified table
# The 1973 graduate admissions of the University of California, Berkeley, in its six largest
# departments (Bickel, Hammel and O'Connell, *Science*, 1975): men were admitted more often
# overall. Compute each gender's **department-adjusted** admission rate: the admission rate
# within each department, weighted by that department's share of **all** applicants. (The
# department is chosen by the applicant, so it mediates part of any effect of gender: the
# adjusted rate answers "do departments treat equal applicants alike?", the question of the
# original study.)

# %%
admissions = pd.read_csv(dataset_path("ucb_admissions.csv"))
print(admissions.pivot(index="department", columns="gender", values=["admitted", "rejected"]).to_string())

# %%
# BEGIN SOLUTION
applied = admissions.assign(applicants=admissions.admitted + admissions.rejected)
department_share = applied.groupby("department").applicants.sum() / applied.applicants.sum()
admitted_within = applied.set_index(["gender", "department"])
admitted_within = admitted_within.admitted / admitted_within.applicants
adjusted_admission = {gender: sum(admitted_within[gender, d] * share for d, share in department_share.items())
                      for gender in ["female", "male"]}
# STUDENT: adjusted_admission = None  # {"female": rate, "male": rate}
# END SOLUTION

# %%
check_admissions(adjusted_admission, admissions)

# %%
record(cars_slope=both_ways.slope["dist on speed"],
       kidney_adjusted_a=kidney_adjusted["A"],
       kidney_adjusted_b=kidney_adjusted["B"],
       mediator_direct_effect=direct.params["treated"],
       smoking_naive=effects["naive"],
       smoking_backdoor=effects["back-door (genes)"],
       smoking_frontdoor=effects["front-door (tar)"],
       smoking_do=effects["do(smoking), simulated"])
spark.stop()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Data hold associations; the **causal diagram** says which of them answers a question about
#   an intervention. It comes from knowledge of the domain, not from the data.
# - Regress the **effect on the cause** to predict an intervention, when the two are
#   unconfounded; the two regression lines are not inverses (the product of their slopes is R²).
# - **Confounders** (stone size, cylinders, genes): adjust, or split. **Mediators** (blood pH)
#   and **colliders**: do not. The same data reverse their conclusion either way (Simpson).
# - **Back-door** adjustment weights stratum rates by the strata's share of everyone;
#   **front-door** adjustment goes through a mediator when the confounder is hidden. pgmpy
#   finds the sets from the diagram.
# - At scale, the work is one **`groupBy`** into a table of strata; the adjustment is arithmetic
#   on it, in pandas or in Spark SQL.
#
# Next: pick another workshop from the [course map](../index.ipynb).
