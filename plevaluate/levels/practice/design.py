"""Level 4's part of the design check (`plevaluate.design.check_design`): the share of walkthroughs showing the practice, visits clustered by teacher."""

from __future__ import annotations

from ...power import DesignContext, detectable_share, not_checked, pct, power_share, share_row

__all__ = ["check"]


def check(ctx: DesignContext) -> dict:
    """Level 4's row of the design check: can the planned evidence detect the plan's target?"""
    prac = ctx.plan.levels.practice
    m = ctx.opts.visits_per_teacher
    visits = ctx.teachers * m
    ctx.note("walkthroughs per teacher", m, ctx.opts.source("visits_per_teacher"))
    ctx.note("correlation of one teacher's walkthroughs", ctx.opts.visit_icc, ctx.opts.source("visit_icc"))
    if prac.target is not None and visits >= 2:
        deff = 1 + (m - 1) * ctx.opts.visit_icc
        detect = detectable_share(prac.target, visits, deff=deff, alpha=ctx.alpha, power=ctx.goal)
        power_at = power_share(min(prac.target + ctx.opts.margin, 1.0), prac.target, visits / deff, 1.0, ctx.alpha)
        change = ""
        if power_at < ctx.goal:
            need = next(
                (
                    k
                    for k in range(m + 1, 41)
                    if power_share(
                        min(prac.target + ctx.opts.margin, 1.0),
                        prac.target,
                        ctx.teachers * k / (1 + (k - 1) * ctx.opts.visit_icc),
                        1.0,
                        ctx.alpha,
                    )
                    >= ctx.goal
                ),
                None,
            )
            change = (
                f"{need} walkthroughs of each teacher"
                if need
                else "more walkthroughs of the same teachers cannot do it (their visits are correlated); "
                "the target's margin is too narrow for this many classrooms"
            )
        return share_row(
            4,
            "classroom practice",
            prac.target,
            f"the practice seen in {pct(prac.target)} of walkthroughs",
            f"{m} walkthroughs of each of {ctx.teachers} teachers ({visits} in all, design effect {deff:.2f})",
            detect,
            power_at,
            ctx.goal,
            ctx.opts.margin,
            change,
            share=True,
        )
    else:
        return not_checked(4, "classroom practice", prac.target, visits)
