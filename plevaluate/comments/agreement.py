"""How far people who code the same comments agree: Cohen's kappa per theme, Krippendorff's alpha overall.

Coding is read as binary decisions. Each comment a coder coded is a unit; for each theme of the codebook the
coder either applied it (a row ``comment_id, coder, theme``) or did not. A comment a coder read and coded with no
theme appears once with a blank theme, so that it still counts as coded. Two coders' decisions on the comments
both coded give Cohen's kappa per theme, with the asymptotic interval of Fleiss, Cohen & Everitt (1969) as
statsmodels computes it; every coder's decisions give Krippendorff's alpha (nominal) per theme and over all
themes, with a bootstrap interval over comments. `disagreements` lists the decisions two coders made
differently, for them to reconcile.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.inter_rater import cohens_kappa

from ..errors import ContractError, Problem

__all__ = ["ALL_THEMES", "agreement", "disagreements"]

#: The ``theme`` of the row that pools every theme's decisions.
ALL_THEMES = "all themes"

_COLUMNS = ("comment_id", "coder", "theme")
_OUTPUT = (
    "theme",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "n_missing",
    "agree",
    "n_coders",
    "coder_a",
    "coder_b",
    "method",
)


def agreement(
    codes: pd.DataFrame,
    themes: Sequence[str],
    *,
    coders: Sequence[Any] | None = None,
    ci: float = 0.95,
    rng: np.random.Generator | int | None = None,
    n_boot: int = 1000,
) -> pd.DataFrame:
    """Inter-coder agreement on coded comments: Cohen's kappa of two coders and Krippendorff's alpha of all.

    Parameters
    ----------
    codes : DataFrame
        One row per theme a coder applied to a comment: ``comment_id``, ``coder``, ``theme``. A comment a coder
        coded without applying any theme appears with a blank (NaN or empty) theme.
    themes : sequence of str
        The theme ids measured, in the order the result lists them (the codebook's, or those of one level).
        Codes of other themes are left out, and counted in the method of the ``"all themes"`` row; the comment
        they were applied to still counts as coded.
    coders : pair of coders, optional
        The two coders whose kappa is computed. By default the two with the most comments in common (ties go to
        the coders first in sorted order).
    ci : float, default 0.95
        Confidence level of the intervals.
    rng : numpy Generator or int, optional
        Random numbers for the bootstrap of alpha; an int seeds a new generator. By default a generator seeded
        with 0, so that the same codes always give the same interval.
    n_boot : int, default 1000
        Bootstrap resamples of comments for the interval of alpha; 0 gives no interval.

    Returns
    -------
    DataFrame
        Per theme (in the order of ``themes``) a ``cohen_kappa`` row and a ``krippendorff_alpha`` row, then a
        ``krippendorff_alpha`` row with theme ``"all themes"`` pooling every comment x theme decision:

        - ``theme``: the theme id, or ``"all themes"``.
        - ``measure``: ``"cohen_kappa"`` or ``"krippendorff_alpha"``.
        - ``estimate``, ``ci_low``, ``ci_high``: the coefficient and its interval; NaN when undefined (see
          ``method``). Kappa's interval is ``kappa +- z * ASE`` clipped to [-1, 1]; alpha's is the percentile
          bootstrap over comments.
        - ``n``: comments the measure uses: coded by both coders (kappa), by at least two coders (alpha).
        - ``n_missing``: comments left out: coded by only one of the two coders (kappa), by one coder (alpha).
        - ``agree``: agreeing decisions: comments on which both coders made the same decision (kappa); comment x
          theme decisions on which every coder of the comment agreed (alpha; up to ``n`` times the number of
          themes in the ``"all themes"`` row).
        - ``n_coders``: coders whose decisions the measure uses.
        - ``coder_a``, ``coder_b``: the two coders of kappa; missing on alpha rows (all coders).
        - ``method``: how the row was computed, and why an estimate is missing.

    Raises
    ------
    ContractError
        Listing every problem of the input: a missing column, a blank comment or coder, no theme, fewer than
        two coders, ``coders`` that are not two of them, ``ci`` or ``n_boot`` out of range.

    Notes
    -----
    Not a Guskey level: the levels that collect comments (reactions, organization, practice) report it with
    their themes. With ``p_o`` the share of agreeing decisions and ``p_e`` the share expected from the two
    coders' marginal rates, ``kappa = (p_o - p_e) / (1 - p_e)`` (Cohen 1960); it is undefined when ``p_e = 1``,
    that is when both coders made one same decision on every comment (a theme neither ever applied).
    Its standard error is statsmodels' `cohens_kappa` ``std_kappa`` (Fleiss, Cohen & Everitt 1969). Alpha is
    ``1 - D_o / D_e`` over the coincidences of all pairable decisions (Krippendorff 2011), in its closed form for two
    values (`_alpha`; the tests check it against the `krippendorff` package); it uses every coder, whatever
    ``coders`` says. Checked against the 2x2 example of
    Wikipedia's "Cohen's kappa" (kappa = 0.4), scikit-learn's `cohen_kappa_score`, and Krippendorff (2011)'s
    nominal example (alpha = 0.743).

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological Measurement,
    20(1), 37-46.
    Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors of kappa and weighted kappa.
    Psychological Bulletin, 72(5), 323-327.
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. University of Pennsylvania,
    https://repository.upenn.edu/asc_papers/43.

    Examples
    --------
    >>> codes = pd.DataFrame({
    ...     "comment_id": ["c1", "c2", "c2", "c3", "c1", "c2", "c3"],
    ...     "coder": ["ana", "ana", "ana", "ana", "ben", "ben", "ben"],
    ...     "theme": ["time", "time", "coach", None, "time", "time", "coach"]})
    >>> out = agreement(codes, ["time", "coach"], n_boot=0)
    >>> out[["theme", "measure", "estimate", "n", "agree"]].round(4)
            theme             measure  estimate  n  agree
    0        time         cohen_kappa    1.0000  3      3
    1        time  krippendorff_alpha    1.0000  3      3
    2       coach         cohen_kappa   -0.5000  3      1
    3       coach  krippendorff_alpha   -0.2500  3      1
    4  all themes  krippendorff_alpha    0.3889  3      4
    """
    data = _prepare(codes, themes, coders, ci=ci, n_boot=n_boot)
    rng = np.random.default_rng(0 if rng is None else rng)
    ones, coded = data["decisions"].to_numpy(), data["coded"]
    a, b, chosen = data["a"], data["b"], data["chosen"]
    pair_a, pair_b = data["pair"]
    z = stats.norm.ppf(0.5 + ci / 2)
    rows = []
    alphas = _alphas(ones, coded, data["themes"], rng=rng, n_boot=n_boot, ci=ci)
    n_pairable = int((coded >= 2).sum())
    n_alone = len(coded) - n_pairable
    n_coders = data["n_coders"]
    for j, theme in enumerate(data["themes"]):
        x, y = pair_a[theme].to_numpy(), pair_b[theme].to_numpy()
        rows.append(
            {
                "theme": theme,
                "measure": "cohen_kappa",
                **_kappa(x, y, z),
                "n": len(x),
                "n_missing": data["n_one_of_two"],
                "agree": int((x == y).sum()),
                "n_coders": 2,
                "coder_a": a,
                "coder_b": b,
            }
        )
        rows[-1]["method"] = rows[-1]["method"].format(a=a, b=b, n=len(x), ci=f"{ci * 100:g}%", chosen=chosen)
        rows.append(_alpha_row(theme, alphas[j], n_pairable, n_alone, n_coders, ci))
    rows.append(_alpha_row(ALL_THEMES, alphas[-1], n_pairable, n_alone, n_coders, ci))
    rows[-1]["method"] += data["outside"]
    out = pd.DataFrame(rows, columns=list(_OUTPUT))
    return out.astype({"n": int, "n_missing": int, "agree": int, "n_coders": int})


def disagreements(codes: pd.DataFrame, themes: Sequence[str], *, coders: Sequence[Any] | None = None) -> pd.DataFrame:
    """The decisions two coders made differently: the list they reconcile.

    Parameters
    ----------
    codes : DataFrame
        ``comment_id``, ``coder``, ``theme`` as in `agreement`.
    themes : sequence of str
        The codebook's theme ids.
    coders : pair of coders, optional
        The two coders compared; by default the two with the most comments in common, as in `agreement`.

    Returns
    -------
    DataFrame
        One row per comment x theme on which the two coders differ, among the comments both coded, ordered by
        comment and then by the order of ``themes``:

        - ``comment_id``: the comment.
        - ``theme``: the theme one coder applied and the other did not.
        - ``applied_by``: the coder who applied it.
        - ``not_applied_by``: the coder who did not.

    Raises
    ------
    ContractError
        As `agreement`.

    Examples
    --------
    >>> codes = pd.DataFrame({
    ...     "comment_id": ["c1", "c2", "c2", "c3", "c1", "c2", "c3"],
    ...     "coder": ["ana", "ana", "ana", "ana", "ben", "ben", "ben"],
    ...     "theme": ["time", "time", "coach", None, "time", "time", "coach"]})
    >>> disagreements(codes, ["time", "coach"])
      comment_id  theme applied_by not_applied_by
    0         c2  coach        ana            ben
    1         c3  coach        ben            ana
    """
    data = _prepare(codes, themes, coders, ci=0.95, n_boot=0)
    a, b = data["a"], data["b"]
    x, y = data["pair"]
    rows = [
        (comment, theme, a if x.at[comment, theme] else b, b if x.at[comment, theme] else a)
        for comment in x.index
        for theme in data["themes"]
        if x.at[comment, theme] != y.at[comment, theme]
    ]
    return pd.DataFrame(rows, columns=["comment_id", "theme", "applied_by", "not_applied_by"])


def _prepare(
    codes: pd.DataFrame, themes: Sequence[str], coders: Sequence[Any] | None, *, ci: float, n_boot: int
) -> dict[str, Any]:
    """Validate the input (every problem at once) and build the decisions: a 0/1 frame indexed by
    (comment_id, coder), one column per theme, sorted; the coded count per comment; the pair of coders and their
    decisions on the comments both coded (two frames indexed by comment_id, in the same order)."""
    problems = []
    missing = [c for c in _COLUMNS if c not in codes.columns]
    problems += [
        Problem(
            "codes",
            "a column the codes need",
            "codes take comment_id, coder and theme, one row per theme applied",
            column=c,
        )
        for c in missing
    ]
    themes = list(dict.fromkeys(themes))
    if not themes:
        problems.append(Problem("arguments", "themes: at least one theme id", "pass the codebook's theme ids"))
    if not 0 < ci < 1:
        problems.append(
            Problem("arguments", "ci: a confidence level between 0 and 1", "use 0.95 for 95% intervals", value=str(ci))
        )
    if n_boot < 0:
        problems.append(
            Problem("arguments", "n_boot: 0 or more resamples", "use 1000, or 0 for no interval", value=str(n_boot))
        )
    if missing:
        raise ContractError(problems, "the codes", doing="measure agreement on")
    table = codes.reset_index(drop=True)
    table = table.assign(theme=table["theme"].map(lambda t: t.strip() if isinstance(t, str) else t))
    for column in ("comment_id", "coder"):
        problems += [
            Problem(
                "codes",
                "a comment and a coder on every row",
                f"fill in {column} or drop the row",
                row=i + 2,
                column=column,
            )
            for i in np.flatnonzero(table[column].isna().to_numpy())
        ]
    blank = table["theme"].isna() | table["theme"].eq("")
    present = sorted(table["coder"].dropna().unique(), key=str)
    if len(present) < 2:
        problems.append(
            Problem("codes", "comments coded by at least two coders", "add a second coder's codes", column="coder")
        )
    if coders is not None and (len(set(coders)) != 2 or not set(coders) <= set(present)):
        problems.append(
            Problem(
                "arguments",
                "coders: two different coders who appear in the codes",
                f"name two of {', '.join(map(str, present))}",
                value=", ".join(map(str, coders)),
            )
        )
    if problems:
        raise ContractError(problems, "the codes", doing="measure agreement on")

    units = table[["comment_id", "coder"]].drop_duplicates().sort_values(["comment_id", "coder"])
    index = pd.MultiIndex.from_frame(units)
    values = np.zeros((len(index), len(themes)), dtype=int)
    listed = table["theme"].isin(themes)
    applied = table.loc[~blank & listed]
    outside = table.loc[~blank & ~listed, "theme"]
    values[
        index.get_indexer(pd.MultiIndex.from_frame(applied[["comment_id", "coder"]])),
        pd.Index(themes).get_indexer(applied["theme"]),
    ] = 1
    decisions = pd.DataFrame(values, index=index, columns=themes)
    by_coder = {c: set(units.loc[units["coder"] == c, "comment_id"]) for c in present}
    if coders is None:
        a, b = max(combinations(present, 2), key=lambda p: len(by_coder[p[0]] & by_coder[p[1]]))
        chosen = f"; the two of {len(present)} coders with the most comments in common" if len(present) > 2 else ""
    else:
        a, b = coders
        chosen = ""
    x, y = decisions.xs(a, level="coder"), decisions.xs(b, level="coder")
    x, y = x[x.index.isin(y.index)], y[y.index.isin(x.index)]
    return {
        "decisions": decisions,
        "coded": units.groupby("comment_id", sort=True).size().to_numpy(),
        "themes": themes,
        "a": a,
        "b": b,
        "chosen": chosen,
        "pair": (x, y),
        "n_one_of_two": len(by_coder[a] ^ by_coder[b]),
        "n_coders": len(present),
        "outside": f"; {len(outside)} codes of themes not measured left out ({', '.join(sorted(set(map(str, outside))))})"
        if len(outside)
        else "",
    }


def _kappa(x: np.ndarray, y: np.ndarray, z: float) -> dict[str, Any]:
    """Cohen's kappa of two coders' 0/1 decisions, its interval ``kappa +- z * ASE`` (statsmodels), and a method
    template (``{a}``, ``{b}``, ``{n}``, ``{ci}``, ``{chosen}``) saying how, or why it is undefined."""
    nan = {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if len(x) == 0:
        return {**nan, "method": "kappa undefined: no comment was coded by both {a} and {b}{chosen}"}
    if (x == x[0]).all() and (y == x[0]).all():
        what = "applied this theme to every one" if x[0] else "applied this theme to any"
        who = "both coders" if x[0] else "neither coder"
        return {
            **nan,
            "method": f"kappa undefined: {who} {what} of the {{n}} comments both coded, so chance agreement is "
            "1 (agreement is complete){chosen}",
        }
    if (x == x[0]).all() or (y == y[0]).all():
        who = "{a}" if (x == x[0]).all() else "{b}"
        return {
            "estimate": 0.0,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "method": f"Cohen's kappa of {{a}} and {{b}} on the {{n}} comments both coded{{chosen}}: {who} made the "
            "same decision on every one, so kappa is 0 whatever the other decided; no interval",
        }
    table = np.zeros((2, 2))
    np.add.at(table, (x, y), 1)
    result = cohens_kappa(table)
    half = z * np.sqrt(max(float(result.var_kappa), 0.0))
    return {
        "estimate": float(result.kappa),
        "ci_low": max(float(result.kappa) - half, -1.0),
        "ci_high": min(float(result.kappa) + half, 1.0),
        "method": "Cohen's kappa of {a} and {b} on the {n} comments both coded{chosen}; {ci} interval "
        "from its asymptotic standard error (Fleiss, Cohen & Everitt 1969; statsmodels cohens_kappa)",
    }


def _alpha(applied: np.ndarray, coders: np.ndarray) -> np.ndarray:
    """Krippendorff's alpha (nominal) of binary decisions per theme and over all themes (last): ``applied`` holds, per
    unit (a comment coded by two coders or more) and theme, the coders who applied the theme, ``coders`` per unit
    the coders who coded it (m). Of two values, the coincidence matrix (Krippendorff 2011) gives, with a = applied,
    b = m - a, n = sum m decisions and n1 = sum a of them applying,
    alpha = 1 - (n - 1) sum a b / (m - 1) / (n1 (n - n1)); NaN when every decision is alike. The same number as the
    krippendorff package's (tests), in one pass over the units instead of one call per theme and resample."""
    a, m = applied.astype(float), coders.astype(float)[:, None]
    split = (a * (m - a) / (m - 1)).sum(axis=0)
    ones = a.sum(axis=0)
    n = np.full(len(ones), m.sum())
    split, ones, n = np.append(split, split.sum()), np.append(ones, ones.sum()), np.append(n, n.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1 - (n - 1) * split / (ones * (n - ones))
    return np.where((ones == 0) | (ones == n), np.nan, alpha)


def _alphas(
    ones: np.ndarray, coded: np.ndarray, themes: list[str], *, rng: np.random.Generator, n_boot: int, ci: float
) -> list[dict[str, Any]]:
    """Alpha per theme and over all themes (last), each with its percentile bootstrap over comments.

    ``ones`` is the 0/1 decisions frame's values (rows comment x coder, sorted by comment); it is summed per
    comment, and only comments with two coders or more are resampled (the others pair with nothing)."""
    per_comment = np.add.reduceat(ones, np.r_[0, np.cumsum(coded)[:-1]], axis=0)
    keep = coded >= 2
    applied, coders = per_comment[keep], coded[keep]
    k = len(themes)

    def estimates(rows: np.ndarray) -> np.ndarray:
        return _alpha(applied[rows], coders[rows])

    point = estimates(np.arange(len(coders)))
    if n_boot and len(coders):
        draws = np.array([estimates(rng.integers(0, len(coders), len(coders))) for _ in range(n_boot)])
    else:
        draws = np.full((0, k + 1), np.nan)
    tails = [50 * (1 - ci), 50 * (1 + ci)]
    out = []
    for j, estimate in enumerate(point):
        kept = draws[:, j][np.isfinite(draws[:, j])]
        low, high = np.percentile(kept, tails) if np.isfinite(estimate) and len(kept) else (np.nan, np.nan)
        out.append(
            {
                "estimate": float(estimate),
                "ci_low": float(low),
                "ci_high": float(high),
                "agree": int(((applied[:, j] == 0) | (applied[:, j] == coders)).sum())
                if j < k
                else int(((applied == 0) | (applied == coders[:, None])).sum()),
                "n_boot": n_boot,
                "n_undefined": len(draws) - len(kept),
                "n_pairable": len(coders),
            }
        )
    return out


def _alpha_row(theme: str, alpha: dict[str, Any], n: int, n_alone: int, n_coders: int, ci: float) -> dict[str, Any]:
    """One krippendorff_alpha row of the result, its method saying how it was computed or why it is missing."""
    where = "this theme's decisions" if theme != ALL_THEMES else "every comment x theme decision"
    if n == 0:
        method = "alpha undefined: no comment was coded by two coders or more"
    elif not np.isfinite(alpha["estimate"]):
        method = f"alpha undefined: {where} on the {n} comments coded by two coders or more are all the same"
    else:
        method = (
            f"Krippendorff's alpha (nominal) of {where} of {n_coders} coders on the {n} comments coded by two or more"
        )
        if alpha["n_boot"]:
            method += f"; {ci * 100:g}% percentile bootstrap interval over comments ({alpha['n_boot']} resamples"
            if alpha["n_undefined"]:
                method += f", {alpha['n_undefined']} without variation left out"
            method += ")"
        else:
            method += "; no interval (n_boot=0)"
    return {
        "theme": theme,
        "measure": "krippendorff_alpha",
        "estimate": alpha["estimate"],
        "ci_low": alpha["ci_low"],
        "ci_high": alpha["ci_high"],
        "n": n,
        "n_missing": n_alone,
        "agree": alpha["agree"],
        "n_coders": n_coders,
        "coder_a": None,
        "coder_b": None,
        "method": method,
    }
