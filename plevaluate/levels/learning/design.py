"""Level 2's part of the design check (`plevaluate.design.check_design`): a pre-post gain in SD units."""

from __future__ import annotations

from ...power import DesignContext, gain_se, multiplier, not_checked, pct, power_t

__all__ = ["check"]


def check(ctx: DesignContext) -> dict:
    """Level 2's row of the design check: can the planned evidence detect the plan's target?"""
    learn = ctx.plan.levels.learning
    pairs = ctx.opts.response_rate * ctx.participants
    if learn.target is not None and pairs >= 3:
        se = gain_se(learn.target, pairs, ctx.opts.pre_post_correlation)
        mdes = multiplier(pairs - 1, ctx.alpha, ctx.goal) * gain_se(learn.target, pairs, ctx.opts.pre_post_correlation)
        power_at = power_t(learn.target, se, pairs - 1, ctx.alpha)
        change = ""
        if power_at < ctx.goal:
            need = next(
                (
                    n
                    for n in range(int(pairs) + 1, 100_000)
                    if power_t(learn.target, gain_se(learn.target, n, ctx.opts.pre_post_correlation), n - 1, ctx.alpha)
                    >= ctx.goal
                ),
                None,
            )
            change = f"{need} educators with both a pre and a post score" if need else ""
        ctx.note(
            "pre-post correlation of the learning assessment",
            ctx.opts.pre_post_correlation,
            ctx.opts.source("pre_post_correlation"),
        )
        return {
            "level": 2,
            "name": "learning",
            "target": learn.target,
            "target_text": f"a mean gain of {learn.target:.2f} SD",
            "evidence": f"about {pairs:.0f} educators with a pre and a post score",
            "detectable": mdes,
            "power": power_at,
            "verdict": "can detect the target" if power_at >= ctx.goal else "cannot reliably detect the target",
            "finding": f"smallest detectable gain {mdes:.2f} SD; power {pct(power_at)} to detect a gain of {learn.target:.2f} SD",
            "change": change,
        }
    else:
        return not_checked(2, "learning", learn.target, pairs)
