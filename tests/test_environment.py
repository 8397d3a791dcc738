"""The pinned list is the one place versions live; environment.yml reuses it."""

import re
from pathlib import Path

import yaml

from sparkcourse.environment import pinned_versions, readiness, version_table
from sparkcourse.java import MIN_JAVA

ROOT = Path(__file__).resolve().parents[1]


def test_every_requirement_is_pinned_with_a_comment():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.match(r"[A-Za-z0-9_.\-]+==[\w.]+\s+# \S", line), line


def test_environment_yml_installs_the_same_list():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-r requirements.txt", "-e ."]
    assert "python=3.11" in deps and f"openjdk={MIN_JAVA}" in deps
    assert "3.11" in (ROOT / "ci" / "setup.sh").read_text()


def test_no_version_is_written_twice():
    pins = pinned_versions(ROOT / "requirements.txt")
    assert {"pyspark", "pandas", "torch"} <= set(pins)
    for name in ("environment.yml", "pyproject.toml", "Makefile"):
        text = (ROOT / name).read_text()
        assert not re.search(r"\w==\d", text), f"{name} pins a version: keep them in requirements.txt"


def test_installed_versions_match_the_pins():
    table = version_table()
    assert (table.status == "ok").all(), table[table.status != "ok"]


def test_readiness():
    assert readiness({"a": True}).startswith("READY")
    assert readiness({"a": True, "b": False}) == "NOT READY, fix: b"
