"""Level 1's part of the design check (`plevaluate.design.check_design`): a share of respondents."""

from __future__ import annotations

from ...power import DesignContext, detectable_share, not_checked, pct, power_share, share_row

__all__ = ["check"]


def check(ctx: DesignContext) -> dict:
    """Level 1's row of the design check: can the planned evidence detect the plan's target?"""
    react = ctx.plan.levels.reactions
    respondents = ctx.opts.response_rate * ctx.participants
    ctx.note("survey response rate", pct(ctx.opts.response_rate), ctx.opts.source("response_rate"))
    if react.target is not None and respondents >= 2:
        detect = detectable_share(
            react.target, respondents, population=ctx.participants, alpha=ctx.alpha, power=ctx.goal
        )
        fpc = (ctx.participants - respondents) / (ctx.participants - 1) if ctx.participants > 1 else 1.0
        power_at = power_share(min(react.target + ctx.opts.margin, 1.0), react.target, respondents, fpc, ctx.alpha)
        change = ""
        if power_at < ctx.goal:
            rate = next(
                (
                    r / 100
                    for r in range(int(ctx.opts.response_rate * 100) + 1, 101)
                    if power_share(
                        min(react.target + ctx.opts.margin, 1.0),
                        react.target,
                        r / 100 * ctx.participants,
                        (ctx.participants - r / 100 * ctx.participants) / max(ctx.participants - 1, 1),
                        ctx.alpha,
                    )
                    >= ctx.goal
                ),
                None,
            )
            change = (
                f"a response rate of {pct(rate)}"
                if rate is not None
                else "no response rate is enough with this many participants; widen the target's margin or survey more sessions"
            )
        return share_row(
            1,
            "reactions",
            react.target,
            f"{pct(react.target)} of respondents favourable",
            f"about {respondents:.0f} of {ctx.participants} participants respond ({pct(ctx.opts.response_rate)})",
            detect,
            power_at,
            ctx.goal,
            ctx.opts.margin,
            change,
            share=True,
        )
    else:
        return not_checked(1, "reactions", react.target, respondents)
