"""Bundled datasets and seeded generators."""

from __future__ import annotations

import os
from pathlib import Path


def datasets_dir() -> Path:
    """The course's `datasets/` folder (override with SPARKCOURSE_DATASETS)."""
    override = os.environ.get("SPARKCOURSE_DATASETS")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "datasets"


def dataset_path(name: str) -> Path:
    path = datasets_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not in {datasets_dir()}: is the course checkout complete?")
    return path
