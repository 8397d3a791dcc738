"""requirements.lock against requirements.txt: the lock must hold every pin at its version, and
nothing that requirements.txt no longer asks for. `python ci/lock.py` exits 1 and says what to do.

requirements.txt holds the course's own choices (about 35 pins); requirements.lock, made from it
by `make lock` (uv, universal, with hashes), fixes every distribution they pull in.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\#]+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path = REQUIREMENTS) -> dict[str, str]:
    """{package: version} of the `name==version` lines (comments and blank lines skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def locked(path: Path = LOCK) -> tuple[dict[str, set[str]], set[str]]:
    """({package: versions in the lock}, packages the lock says requirements.txt asked for)."""
    versions: dict[str, set[str]] = {}
    direct, current = set(), None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = normalise(match.group(1))
            versions.setdefault(current, set()).add(match.group(2))
        elif current and re.search(r"#\s+(via\s+)?-r requirements\.txt", line):
            direct.add(current)
    return versions, direct


def disagreements(requirements: Path = REQUIREMENTS, lock: Path = LOCK) -> list[str]:
    """What differs between the two files, one line each (empty when they agree)."""
    if not lock.exists():
        return [f"{lock.name} is missing"]
    wanted, (versions, direct) = pins(requirements), locked(lock)
    problems = [f"{name}=={version} is not in the lock"
                + (f" (it has {', '.join(sorted(versions[name]))})" if name in versions else "")
                for name, version in wanted.items() if version not in versions.get(name, set())]
    problems += [f"{name} is locked but no longer in {requirements.name}"
                 for name in sorted(direct - set(wanted))]
    return problems


def main() -> int:
    problems = disagreements()
    if problems:
        print("error: requirements.txt and requirements.lock disagree: " + "; ".join(problems)
              + ". Run `make lock` and commit requirements.lock.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
