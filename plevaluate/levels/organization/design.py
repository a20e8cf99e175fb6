"""Level 3's part of the design check (`plevaluate.design.check_design`): a census of participant schools."""

from __future__ import annotations

import math

import numpy as np

from ...power import DesignContext, not_checked, pct

__all__ = ["check"]


def check(ctx: DesignContext) -> dict:
    """Level 3's row of the design check: can the planned evidence detect the plan's target?"""
    org = ctx.plan.levels.organization
    j = len(ctx.program_schools)
    if org.target is not None and j:
        need = math.ceil(org.target * j - 1e-9)
        return {
            "level": 3,
            "name": "organization support",
            "target": org.target,
            "target_text": f"{pct(org.target)} of participant schools rated {org.rating_at_least:g} or better",
            "evidence": f"a rubric rating of each of the {j} participant schools",
            "detectable": np.nan,
            "power": np.nan,
            "verdict": "a census: no sampling error",
            "finding": f"every school is rated, so the share is exact; the target needs {need} of {j} schools, "
            f"each school moves the share by {pct(1 / j)}",
            "change": "",
        }
    else:
        return not_checked(3, "organization support", org.target, j)
