"""Key numbers a notebook reports, for the course runner's summary.

`record(speedup=2.1)` displays one short line in the notebook and stores the numbers under a
mimetype of their own, which `read_metrics` finds again in an executed notebook.
"""

from __future__ import annotations

import json

MIMETYPE = "application/vnd.sparkcourse.metrics+json"


def _plain(value):
    """Numbers as plain Python floats and ints (NumPy scalars print as `np.float64(...)`)."""
    if hasattr(value, "item"):
        value = value.item()
    return round(value, 4) if isinstance(value, float) else value


def record(**metrics) -> None:
    """Show `metrics` as one line and keep them for the course report."""
    from IPython.display import display

    values = {name: _plain(value) for name, value in metrics.items()}
    text = "recorded: " + ", ".join(f"{name}={value}" for name, value in values.items())
    display({MIMETYPE: values, "text/plain": text}, raw=True)


def read_metrics(notebook) -> dict:
    """Every metric an executed notebook (an nbformat object) recorded, later ones winning."""
    metrics: dict = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIMETYPE in data:
                value = data[MIMETYPE]
                metrics.update(json.loads(value) if isinstance(value, str) else value)
    return metrics
