"""Helpers shared by the level modules for building tidy result tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pandas as pd


def groups(frame: pd.DataFrame, by: Sequence[str]) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """Yield (key tuple, rows) per group of ``by``; one group, key ``()``, when ``by`` is empty."""
    if not by:
        yield (), frame
        return
    for key, part in frame.groupby(list(by), observed=True, sort=True, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), part
