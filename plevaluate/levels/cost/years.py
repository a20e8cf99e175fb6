"""Cost over several school years (``Level.years``, `plevaluate.years.evaluate_years`): each year's cost by funding
source (the portfolio adds them up)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from ...contract import District
    from ...evaluate import Evaluation

__all__ = ["years"]


def years(district: District, evaluations: Mapping[str, Evaluation]) -> dict[str, pd.DataFrame]:
    """``years_funding``: year, funding_source, cost, from each year's ``by_source`` table."""
    funding = [
        result.table(0, "by_source")[["funding_source", "cost"]].assign(year=year)
        for year, result in evaluations.items()
        if 0 in result.levels and result.levels[0].tables.get("by_source") is not None
    ]
    if not funding:
        return {}
    return {"years_funding": pd.concat(funding, ignore_index=True)[["year", "funding_source", "cost"]]}
