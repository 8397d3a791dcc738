"""Checks for workshop 01 (feature engineering). References are computed with pandas from the
same Parquet files the notebook reads, independently of Spark."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from ..data import dataset_path
from ..data.clickstream import SESSION_GAP
from ..storage import read_parquet
from . import Feedback, check_frame, hint


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
    """Minutes to the second or to the whole minute (rounded or cut) are all correct."""
    expected = longest_session_minutes(_events(str(events_path)))
    advice = ("A session's length is its last event time minus its first, in minutes; "
              "take each user's maximum.")
    feedback = check_frame(answer, expected, "user_id", advice, rtol=0, atol=1.0)
    if not feedback.correct and feedback.status == "hint":
        in_seconds = expected.assign(longest_session_minutes=expected.longest_session_minutes * 60)
        if check_frame(answer, in_seconds, "user_id", rtol=0, atol=60.0).correct:
            return hint("those look like seconds: divide by 60 for minutes")
    return feedback


def check_product_view_share(answer, events_path: str | Path) -> Feedback:
    expected = product_view_share(_events(str(events_path)))
    return check_frame(answer, expected, "user_id",
                       "Join page views to the page catalog and average `category == 'product'`; "
                       "count page_view events only.")
