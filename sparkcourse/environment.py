"""What workshop 00 checks: versions against the course's pins, Java, Spark, a cluster."""

from __future__ import annotations

import importlib
import io
import platform
import re
from importlib import metadata
from pathlib import Path

import pandas as pd

from .java import JavaError, java_version

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"
KEY_PACKAGES = ["pyspark", "pandas", "pyarrow", "numpy", "scikit-learn", "matplotlib", "mlflow",
                "hyperopt", "optuna", "torch", "delta-spark", "deltalake", "statsmodels"]


IMPORT_NAMES = {"scikit-learn": "sklearn", "delta-spark": "delta"}  # where they differ


def pinned_versions(requirements: Path = REQUIREMENTS) -> dict[str, str]:
    """{package: version} from the course's `name==version` lines."""
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.\-]+)==([^\s#;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def version_table(packages: list[str] = KEY_PACKAGES) -> pd.DataFrame:
    """Pinned and installed version of each package, and whether they match."""
    pins = pinned_versions() if REQUIREMENTS.exists() else {}
    rows = []
    for package in packages:
        pinned, installed = pins.get(package), installed_version(package)
        installed = installed and installed.split("+")[0]  # a build label (+cpu) varies by machine
        status = ("missing" if installed is None else "ok" if installed == pinned
                  else "differs" if pinned else "not pinned")
        rows.append({"package": package, "pinned": pinned, "installed": installed, "status": status})
    return pd.DataFrame(rows).set_index("package")


def imported_versions(packages: list[str] = KEY_PACKAGES) -> pd.DataFrame:
    """package, version: each package as this Python imports it ("fails: ..." if it does not).
    Workshop 00 runs it on an executor, to compare the workers' libraries with the driver's."""
    rows = []
    for package in packages:
        try:
            importlib.import_module(IMPORT_NAMES.get(package, package.replace("-", "_")))
            version = metadata.version(package).split("+")[0]
        except Exception as error:  # noqa: BLE001 - the table says what failed
            version = f"fails: {type(error).__name__}"
        rows.append({"package": package, "version": version})
    return pd.DataFrame(rows)


def plots_display(figure) -> bool:
    """True if `figure` renders and the kernel shows figures inline (Jupyter's backend)."""
    import matplotlib

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    backend = matplotlib.get_backend().lower()
    return buffer.tell() > 0 and ("inline" in backend or "ipympl" in backend or "widget" in backend)


def platform_summary() -> dict[str, str]:
    """Python and Java major versions (patch levels vary between machines)."""
    try:
        java = f"Java {java_version()[0]}"
    except JavaError as error:
        java = f"missing: {error}"
    python = ".".join(platform.python_version_tuple()[:2])
    return {"python": f"Python {python}", "java": java}


def readiness(checks: dict[str, bool]) -> str:
    """'READY' or the list of what to fix."""
    failed = [name for name, ok in checks.items() if not ok]
    if not failed:
        return f"READY: all {len(checks)} checks passed."
    return "NOT READY, fix: " + "; ".join(failed)
