import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake

from sparkcourse.data.subscriptions import (
    apply_feed,
    change_feed,
    newcomers,
    non_normalised,
    subscriber_months,
)
from sparkcourse.delta import (
    active_files,
    append_concurrently,
    history,
    read_changes,
    subfolder,
)
from sparkcourse.exercises import NOT_ATTEMPTED
from sparkcourse.exercises.delta import check_constraint, check_merge, check_restore
from sparkcourse.params import ParameterError

DATA = subscriber_months(3000, seed=5)


def merge(path, feed, columns):
    every = {name: f"s.{name}" for name in columns}
    (DeltaTable(path)
     .merge(feed, predicate="t.customer_id = s.customer_id", source_alias="s", target_alias="t")
     .when_matched_delete(predicate="s.op = 'delete'")
     .when_matched_update(updates=every, predicate="s.op = 'update'")
     .when_not_matched_insert(updates=every, predicate="s.op = 'insert'")
     .execute())


def test_months_are_disjoint_and_the_test_set_is_held_out():
    ids = [set(month.customer_id) for month in DATA.months]
    assert sum(map(len, ids)) == len(set().union(*ids)) == 3000 - len(DATA.test)
    assert not set(DATA.test.customer_id) & set().union(*ids)
    bad = non_normalised(DATA.months[0])
    assert np.allclose(bad.data_gb / DATA.months[0].data_gb, 1024, rtol=0.01)


def test_merge_of_a_change_feed_equals_its_ground_truth(tmp_path):
    path = str(tmp_path / "crm")
    current = DATA.months[0]
    write_deltalake(path, current, configuration={"delta.enableChangeDataFeed": "true"})
    feed = change_feed(current, seed=1, updates=12, deletes=4, inserts=6,
                       new_customers=newcomers(6, seed=2, first_id=10_000))
    assert feed.op.value_counts().to_dict() == {"update": 12, "insert": 6, "delete": 4}
    assert check_merge(path, apply_feed(current, feed), version_before=0) == NOT_ATTEMPTED
    merge(path, feed, list(current.columns))
    got = DeltaTable(path).to_pandas().sort_values("customer_id", ignore_index=True)
    assert got[list(current.columns)].astype(str).equals(apply_feed(current, feed).astype(str))
    assert check_merge(path, apply_feed(current, feed), version_before=0).correct
    changes = read_changes(DeltaTable(path), starting_version=1)._change_type.value_counts()
    assert changes.to_dict() == {"update_preimage": 12, "update_postimage": 12, "insert": 6, "delete": 4}
    assert list(history(DeltaTable(path)).operation) == ["WRITE", "MERGE"]


def test_merge_check_hints_at_a_wrong_merge(tmp_path):
    path = str(tmp_path / "crm")
    current = DATA.months[0]
    write_deltalake(path, current)
    feed = change_feed(current, seed=1, updates=5, deletes=5, inserts=0, new_customers=current.head(0))
    write_deltalake(path, current.head(10), mode="append")
    assert "no MERGE commit" in check_merge(path, apply_feed(current, feed), 0).message
    updates_only = feed[feed.op == "update"]
    merge(path, updates_only, list(current.columns))
    assert "customers missing" in check_merge(path, apply_feed(current, feed), 0).message


def test_concurrent_appends_lose_no_rows(tmp_path):
    path = str(tmp_path / "appends")
    write_deltalake(path, pd.DataFrame({"writer": [-1], "batch": [0], "row": [0]}))
    append_concurrently(path, writers=2, batches=3, rows=10)
    rows = DeltaTable(path).to_pandas()
    assert len(rows) == 61 and DeltaTable(path).version() == 6
    assert len(active_files(DeltaTable(path))) == 7


def test_restore_check(tmp_path):
    path = str(tmp_path / "subscribers")
    write_deltalake(path, DATA.months[0])
    write_deltalake(path, non_normalised(DATA.months[1]), mode="append")
    assert check_restore(None, path, bad_version=1) == NOT_ATTEMPTED
    assert "not the one just before" in check_restore(1, path, bad_version=1).message
    assert "not a RESTORE" in check_restore(0, path, bad_version=1).message
    DeltaTable(path).restore(0)
    assert check_restore(0, path, bad_version=1).correct


def test_constraint_check(tmp_path):
    path = str(tmp_path / "subscribers")
    write_deltalake(path, DATA.months[0])
    bad = DATA.months[1].head(20).assign(age=0)
    good = DATA.months[1].head(20)
    assert check_constraint(path, bad, good) == NOT_ATTEMPTED
    DeltaTable(path).alter.add_constraint({"too_loose": "age >= 0"})
    assert "bad batch was accepted" in check_constraint(path, bad, good).message
    before = set(DeltaTable(path).metadata().configuration)
    assert check_constraint(path, bad, good, before=before) == NOT_ATTEMPTED
    DeltaTable(path).alter.add_constraint({"adult": "age >= 18"})
    assert check_constraint(path, bad, good, before=before).correct
    assert len(DeltaTable(path).to_pandas()) == len(DATA.months[0]), "the check writes to a copy"


def test_table_root_stays_inside_the_work_folder(tmp_path):
    assert subfolder(tmp_path, "tables") == (tmp_path / "tables").resolve()
    for name in ("", "..", "../elsewhere", "/tmp/x"):
        with pytest.raises(ParameterError, match="table_root"):
            subfolder(tmp_path, name)
