"""Cost in the district portfolio (``Level.portfolio``, `plevaluate.portfolio`): each program's cost ratios and
cost-effectiveness, and its cost by funding source (every year's, for a program over several years)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from ...evaluate import Evaluation

__all__ = ["portfolio"]


def portfolio(ev: Evaluation) -> dict[str, pd.DataFrame | None]:
    """``costs``: measure, unit, estimate, status of the program's cost ratios and cost-effectiveness (published);
    ``funding``: funding_source, cost (`years_funding` over several years, else this year's ``by_source``)."""
    shown = ["measure", "unit", "estimate", "status"]
    costs = pd.DataFrame(columns=shown)
    cost = ev.levels.get(0)
    if cost is not None and cost.evidence:
        parts = [cost.tables.get("ratios"), cost.tables.get("effectiveness")]
        costs = pd.concat([p.reindex(columns=shown) for p in parts if p is not None and len(p)], ignore_index=True)
    funding = ev.extras.get("years_funding")
    if funding is None and cost is not None:
        funding = cost.tables.get("by_source")
    return {"costs": costs, "funding": funding}
