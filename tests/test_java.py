import subprocess
import sys

import pytest

from sparkcourse.java import JavaError, java_version, parse_java_version

JAVA_CHECK = "sparkcourse/java.py"


@pytest.mark.parametrize("text, major", [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('java version "1.8.0_292"', 8),
    ('openjdk version "21" 2023-09-19', 21),
    ("no version here", None),
])
def test_parse_java_version(text, major):
    assert parse_java_version(text) == major


def test_this_machine_has_java_17_or_newer():
    assert java_version()[0] >= 17


def fake_java(tmp_path, version):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text(f'#!/bin/sh\necho \'openjdk version "{version}"\' >&2\n')
    java.chmod(0o755)
    return tmp_path


def test_old_java_is_refused_with_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path, "1.8.0_292")))
    with pytest.raises(JavaError, match="Java 8 found .* needs Java 17.*openjdk"):
        java_version()


def test_missing_java_is_one_clear_line(tmp_path):
    env = {"PATH": str(tmp_path), "JAVA_HOME": ""}
    result = subprocess.run([sys.executable, JAVA_CHECK], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: Java not found") and "openjdk" in result.stderr
