"""The pandas API on Spark (Workshop 05): its advice warnings, shown as lesson output."""

from __future__ import annotations

import warnings


def with_advice(work):
    """Run `work()`; return its result and the advice pandas-on-Spark gave while it ran.

    pandas-on-Spark warns (PandasAPIOnSparkAdviceWarning) when an operation is costly at scale:
    collecting to the driver, attaching a default index. The lesson prints that advice as text."""
    from pyspark.pandas.utils import PandasAPIOnSparkAdviceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PandasAPIOnSparkAdviceWarning)
        result = work()
    advice = []
    for warning in caught:
        if not issubclass(warning.category, PandasAPIOnSparkAdviceWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        elif str(warning.message) not in advice:
            advice.append(str(warning.message))
    return result, advice


def quiet_advice() -> None:
    """Stop printing pandas-on-Spark's advice once the lesson has shown it."""
    from pyspark.pandas.utils import PandasAPIOnSparkAdviceWarning

    warnings.filterwarnings("ignore", category=PandasAPIOnSparkAdviceWarning)
