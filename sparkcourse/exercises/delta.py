"""Checks for workshop 06's exercises: a restore, a MERGE, a constraint. A check never raises."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from ..data.subscriptions import KEY
from . import NOT_ATTEMPTED, Feedback, correct, hint


def _rows(table) -> pd.DataFrame:
    frame = table.to_pandas()
    return frame.sort_values(KEY, ignore_index=True)[sorted(frame.columns)]


def check_restore(version_before, path: str, bad_version: int) -> Feedback:
    """`version_before` is the version just before the bad write, and the table is back to it."""
    from deltalake import DeltaTable

    if version_before is None:
        return NOT_ATTEMPTED
    if version_before != bad_version - 1:
        return hint(f"version {version_before} is not the one just before the bad write: read history()")
    table = DeltaTable(path)
    if table.history(1)[0]["operation"] != "RESTORE":
        return hint("the table's last commit is not a RESTORE: call restore(version) on the DeltaTable")
    if not _rows(table).equals(_rows(DeltaTable(path, version=version_before))):
        return hint(f"the table's rows differ from version {version_before}")
    return correct(f"version {table.version()} holds the rows of version {version_before} again")


def check_merge(path: str, expected: pd.DataFrame, version_before: int) -> Feedback:
    """The table holds `expected` after one MERGE commit on top of `version_before`."""
    from deltalake import DeltaTable

    table = DeltaTable(path)
    if table.version() == version_before:
        return NOT_ATTEMPTED
    operations = [commit["operation"] for commit in table.history(table.version() - version_before)]
    if "MERGE" not in operations:
        return hint(f"no MERGE commit since version {version_before}, only {operations}")
    got = _rows(table)
    want = expected.sort_values(KEY, ignore_index=True)[sorted(expected.columns)]
    if list(got.columns) != list(want.columns):
        return hint(f"the table's columns changed: {list(got.columns)}; do not insert the `op` column")
    missing = set(want[KEY]) - set(got[KEY])
    extra = set(got[KEY]) - set(want[KEY])
    if missing or extra:
        return hint(f"{len(missing)} customers missing and {len(extra)} that should be gone: "
                    "delete on 'delete', insert on 'insert'")
    if not got.astype(str).equals(want.astype(str)):
        return hint("the right customers, but some values differ: update every column on 'update'")
    return correct()


def check_constraint(path: str, bad_batch: pd.DataFrame, good_batch: pd.DataFrame,
                     before: set[str] = frozenset()) -> Feedback:
    """A new constraint (not among `before`) that rejects `bad_batch` and accepts `good_batch`.

    Both batches are tried on a copy of the table."""
    from deltalake import DeltaTable, write_deltalake

    constraints = {key: value for key, value in DeltaTable(path).metadata().configuration.items()
                   if key.startswith("delta.constraints.") and key not in before}
    if not constraints:
        return NOT_ATTEMPTED
    with tempfile.TemporaryDirectory() as scratch:
        copy = str(Path(scratch) / "copy")
        shutil.copytree(path, copy)
        try:
            write_deltalake(copy, bad_batch, mode="append")
            return hint(f"the bad batch was accepted; constraints: {list(constraints.values())}")
        except Exception:  # noqa: BLE001 - a rejected write is the point
            pass
        try:
            write_deltalake(copy, good_batch, mode="append")
        except Exception as error:  # noqa: BLE001
            return hint(f"a good batch is rejected too ({type(error).__name__}): the rule is too strict")
    return correct(f"rejected by {' and '.join(sorted(constraints.values()))}")
