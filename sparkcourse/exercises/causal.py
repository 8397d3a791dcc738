"""Checks for workshop 10's exercises: an adjusted estimate from a stratified table, and the
adjustment sets of three causal diagrams (checked with pgmpy's identification)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..causal import backdoor_rates, identify, rates
from . import NOT_ATTEMPTED, Feedback, correct, hint

DIAGRAMS = {
    "exercise": {"edges": [("age", "exercise"), ("age", "cholesterol"), ("exercise", "cholesterol")],
                 "exposure": "exercise", "outcome": "cholesterol",
                 "question": "the effect of exercise on cholesterol; age drives both"},
    "drug": {"edges": [("drug", "blood_pressure"), ("blood_pressure", "stroke")],
             "exposure": "drug", "outcome": "stroke",
             "question": "the total effect of a drug that prevents strokes by lowering blood pressure"},
    "fame": {"edges": [("talent", "fame"), ("looks", "fame")],
             "exposure": "talent", "outcome": "looks",
             "question": "whether talent affects looks, from data on actors (fame needs talent or looks)"},
}


def check_adjustment_sets(answers: dict | None) -> Feedback:
    """`answers` maps each diagram of `DIAGRAMS` to the set of variables to adjust for."""
    if not answers or any(value is None for value in answers.values()):
        return NOT_ATTEMPTED
    for name, diagram in DIAGRAMS.items():
        expected = identify(diagram["edges"], diagram["exposure"], diagram["outcome"])
        got = as_variables(answers.get(name))
        if got != expected:
            if got - expected:
                return hint(f"{name}: adjusting for {sorted(got - expected)} opens or blocks the "
                            "wrong path (is it a mediator or a common effect?)")
            return hint(f"{name}: a back-door path from {diagram['exposure']} stays open")
    return correct("the minimal sets pgmpy finds: " + "; ".join(
        f"{name} {sorted(identify(d['edges'], d['exposure'], d['outcome'])) or 'nothing'}"
        for name, d in DIAGRAMS.items()))


def as_variables(answer) -> set[str]:
    """A set of variable names from a set, list or tuple of them, one name, or nothing."""
    if answer is None or isinstance(answer, str):
        return {answer.strip()} - {""} if answer else set()
    return {str(name).strip() for name in answer}


def check_admissions(adjusted, admissions: pd.DataFrame) -> Feedback:
    """The department-adjusted admission rate of each gender."""
    if adjusted is None:
        return NOT_ATTEMPTED
    counts = admissions.assign(applicants=admissions.admitted + admissions.rejected)
    expected = backdoor_rates(counts, "gender", "department", "admitted", "applicants")
    crude = rates(counts, ["gender"], "admitted", "applicants")
    try:
        got = pd.Series(adjusted, dtype=float).reindex(expected.index)
    except (TypeError, ValueError) as error:
        return hint(f"expected a rate per gender, e.g. {{'female': 0.4, 'male': 0.4}} ({error})")
    if got.isna().any():
        return hint(f"give a rate for each of {list(expected.index)}")
    if np.allclose(got, crude, atol=1e-4):
        return hint("those are the crude rates: weight each department's rate by the "
                    "department's share of all applicants")
    if not np.allclose(got, expected, atol=1e-4):
        return hint("within each department, admitted / applicants per gender; then weight by the "
                    "department's share of all applicants (both genders) and sum")
    return correct(f"adjusted: women {expected['female']:.1%}, men {expected['male']:.1%} "
                   f"(crude: women {crude['female']:.1%}, men {crude['male']:.1%})")
