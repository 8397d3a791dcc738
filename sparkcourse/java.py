"""Find Java and check it is new enough for Spark 4 (stdlib only: the set-up script runs it
before any package is installed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

MIN_JAVA = 17
INSTALL_HINT = (
    f"Install OpenJDK {MIN_JAVA} or newer and put `java` on PATH or set JAVA_HOME: "
    "`sudo apt-get install openjdk-17-jdk-headless` (Debian/Ubuntu), "
    "`brew install openjdk@17` (macOS), or `conda install -c conda-forge openjdk=17`."
)


class JavaError(RuntimeError):
    """Java is missing or too old for Spark 4."""


def find_java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = os.path.join(home, "bin", "java")
        return candidate if os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def parse_java_version(text: str) -> int | None:
    """Major version from `java -version` output: '1.8.0_292' -> 8, '17.0.15' -> 17."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return minor if major == 1 else major


def java_version() -> tuple[int, str]:
    """(major version, path of the java executable); raises JavaError with what to install."""
    java = find_java()
    if java is None:
        where = "JAVA_HOME/bin/java" if os.environ.get("JAVA_HOME") else "`java` on PATH"
        raise JavaError(f"Java not found ({where}). Spark needs Java {MIN_JAVA}+. {INSTALL_HINT}")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    major = parse_java_version(result.stderr + result.stdout)
    if major is None:
        raise JavaError(f"Could not read the version of {java}. {INSTALL_HINT}")
    if major < MIN_JAVA:
        raise JavaError(f"Java {major} found at {java}; Spark 4 needs Java {MIN_JAVA}+. {INSTALL_HINT}")
    return major, java


if __name__ == "__main__":
    try:
        version, path = java_version()
    except JavaError as error:
        sys.exit(f"error: {error}")
    print(f"Java {version} ({path})")
