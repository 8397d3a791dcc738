"""The pinned list is the one place versions live; the lock made from it is what every
environment installs (make setup, environment.yml and Binder)."""

import re
import subprocess
from pathlib import Path

import yaml
from lock import disagreements

from sparkcourse.environment import (
    imported_versions,
    pinned_versions,
    plots_display,
    readiness,
    version_table,
)
from sparkcourse.java import MIN_JAVA

ROOT = Path(__file__).resolve().parents[1]


def test_every_requirement_is_pinned_with_a_comment():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.match(r"[A-Za-z0-9_.\-]+==[\w.]+\s+# \S", line), line


def test_environment_yml_installs_the_same_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-r requirements.lock"]
    assert "python=3.11" in deps and f"openjdk={MIN_JAVA}" in deps
    assert "pip install --quiet --no-deps -e ." in (ROOT / "postBuild").read_text()
    setup = (ROOT / "ci" / "setup.sh").read_text()
    assert "3.11" in setup and "--require-hashes" in setup and "requirements.lock" in setup


def test_the_lock_agrees_with_requirements_txt():
    assert disagreements() == []


def test_a_pin_changed_without_make_lock_is_caught(tmp_path):
    requirements = tmp_path / "requirements.txt"
    text = (ROOT / "requirements.txt").read_text()
    requirements.write_text(text.replace("pandas==2.3.3", "pandas==2.3.2") + "newpkg==1.0  # new\n")
    problems = disagreements(requirements)
    assert "pandas==2.3.2 is not in the lock (it has 2.3.3)" in problems
    assert "newpkg==1.0 is not in the lock" in problems
    requirements.write_text(text.replace("statsmodels==", "# statsmodels=="))
    assert disagreements(requirements) == [f"statsmodels is locked but no longer in {requirements.name}"]


def test_every_locked_distribution_has_a_hash():
    blocks = (ROOT / "requirements.lock").read_text().split("\n")
    pinned = [i for i, line in enumerate(blocks) if "==" in line and not line.startswith(" ")]
    assert len(pinned) > 150
    assert all(blocks[i + 1].strip().startswith("--hash=sha256:") for i in pinned)


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


def test_a_build_label_is_not_a_different_version(monkeypatch):
    import sparkcourse.environment as environment

    monkeypatch.setattr(environment, "installed_version", lambda package: "2.13.0+cpu")
    table = version_table(["torch"])
    assert table.loc["torch"].tolist() == ["2.13.0", "2.13.0", "ok"]  # same output on any build


def test_imported_versions_say_what_fails():
    table = imported_versions(["pandas", "no-such-package"]).set_index("package").version
    assert table["pandas"] == version_table(["pandas"]).installed["pandas"]
    assert table["no-such-package"] == "fails: ModuleNotFoundError"


def test_plots_display_only_with_an_inline_backend(monkeypatch):
    import matplotlib
    import matplotlib.pyplot as plt

    figure = plt.figure()
    figure.add_subplot().plot([0, 1])
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "module://matplotlib_inline.backend_inline")
    assert plots_display(figure)
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "agg")  # a script: nothing is shown
    assert not plots_display(figure)
    plt.close(figure)


def test_binder_builds_from_the_files_readme_names():
    readme = (ROOT / "README.md").read_text()
    badge = r"\(https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/main\?urlpath=lab/tree/index\.ipynb\)"
    assert re.search(badge, readme), "README has no Binder badge that opens the course index"
    assert "`environment.yml`" in readme and "`postBuild`" in readme
    post_build = (ROOT / "postBuild").read_text()
    assert "ci/register_kernel.sh" in post_build and "python -m sparkcourse.packages" in post_build
    assert "jupyter-server-proxy" in pinned_versions(ROOT / "requirements.txt")  # the UIs on Binder
    assert "`start`" in readme


def test_binder_starts_the_server_with_a_smaller_driver_heap():
    started = subprocess.run([str(ROOT / "start"), "sh", "-c", "echo $SPARKCOURSE_DRIVER_MEMORY"],
                             capture_output=True, text=True, timeout=30)
    assert started.returncode == 0 and started.stdout == "1g\n"
