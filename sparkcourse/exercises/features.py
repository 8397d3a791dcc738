"""Checks for workshop 01 (feature engineering). References are computed with pandas from the
same Parquet files the notebook reads, independently of Spark."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from ..data import dataset_path
from ..data.clickstream import SESSION_GAP
from ..storage import read_parquet
from . import Feedback, check_frame


@cache
def _events(path: str) -> pd.DataFrame:
    return read_parquet(path).sort_values(["user_id", "ts"], kind="stable")


def mobile_share(events: pd.DataFrame) -> pd.DataFrame:
    share = events.assign(mobile=events.device.eq("mobile")).groupby("user_id").mobile.mean()
    return share.rename("mobile_share").reset_index()


def longest_session_minutes(events: pd.DataFrame) -> pd.DataFrame:
    new_session = events.user_id.diff().ne(0) | events.ts.diff().gt(SESSION_GAP)
    session = new_session.cumsum()
    span = events.groupby([events.user_id, session]).ts.agg(lambda t: t.max() - t.min())
    longest = span.groupby(level=0).max().dt.total_seconds() / 60
    return longest.rename("longest_session_minutes").reset_index()


def product_view_share(events: pd.DataFrame) -> pd.DataFrame:
    pages = pd.read_csv(dataset_path("app_pages.csv"))
    views = events[events.event_type == "page_view"].merge(pages, on="page")
    share = views.assign(product=views.category.eq("product")).groupby("user_id").product.mean()
    return share.rename("product_view_share").reset_index()


def check_mobile_share(answer, events_path: str | Path) -> Feedback:
    expected = mobile_share(_events(str(events_path)))
    return check_frame(answer, expected, "user_id",
                       "Divide each user's mobile events by all of that user's events.")


def check_longest_session(answer, events_path: str | Path) -> Feedback:
    expected = longest_session_minutes(_events(str(events_path)))
    return check_frame(answer, expected, "user_id",
                       "A session's length is its last event time minus its first, in minutes; "
                       "take each user's maximum.", rtol=1e-4)


def check_product_view_share(answer, events_path: str | Path) -> Feedback:
    expected = product_view_share(_events(str(events_path)))
    return check_frame(answer, expected, "user_id",
                       "Join page views to the page catalog and average `category == 'product'`; "
                       "count page_view events only.")
