"""Level 5, student learning outcomes: did students benefit?

Guskey's rule is "evidence, not proof". This module estimates the program's effect on students
honestly and says what the design supports:

- `estimate_effect`: ANCOVA by OLS with HC1 / CR1 / CR2 standard errors (`plevaluate.regression`),
  a linear mixed model with a random school intercept (several optimizers, best likelihood kept),
  two-period difference-in-differences, and a logistic model with the Cox index for binary
  outcomes. Every row carries the WWC effect size (Hedges' g) and improvement index.
- WWC-style diagnostics with verdicts in words: baseline equivalence, overall and differential
  attrition against the WWC boundaries, the Hedges (2007) clustering correction for an analysis
  that ignores clustering, and the outcome's intraclass correlation.
- subgroup effects with Benjamini-Hochberg control; the exploratory implementation dose-response;
  per-school value added shrunk toward the district; and plain-language findings.

Effect sizes follow the WWC Procedures Handbook v5.0: ``g = omega * (adjusted mean difference) /
S``, with S the unadjusted pooled within-group SD of the outcome and ``omega = 1 - 3/(4N - 9)``;
for binary outcomes the Cox index ``omega * ln(OR) / 1.65``; improvement index ``100 (Phi(g) - .5)``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..._tidy import cohort_start, coverage_table
from ...chain import Cell, from_target, hidden, school_row
from ...comments.redact import findable
from ...comments.themes import quote_texts
from ...effects import bh_adjust, hedges_omega, improvement_index, pooled_sd
from ...errors import StatisticalWarning
from ...plan import plan_years
from ...privacy import UNSUPPRESSED
from ...regression import FEW_CLUSTERS, ClusterSums, LinearFit, fit_ols
from ...results import LevelResult, noting_warnings, target_status
from ...vocabulary import counted
from .evidence import evidence_statement
from .wwc import ATTRITION_BOUNDARIES, ATTRITION_SOURCE, attrition_verdict, baseline_verdict

if TYPE_CHECKING:
    from ...contract import District

__all__ = [
    "ATTRITION_BOUNDARIES",
    "ATTRITION_SOURCE",
    "MODEL_MEASURES",
    "model_rows",
    "add_treatment",
    "baseline_verdict",
    "analysis_sample",
    "attrition",
    "attrition_verdict",
    "baseline_equivalence",
    "clustering_correction",
    "estimate_effect",
    "evaluate_outcomes",
    "findings",
    "fit_mixed",
    "implementation_dose",
    "outcome_icc",
    "school_effects",
    "subgroup_effects",
]

#: The subgroup value of students whose flag or grade is blank (their own group, listed last: never dropped).
NOT_RECORDED = "not recorded"

#: Subgroup flags in students.csv that subgroup_effects looks for.
SUBGROUPS = ("english_learner", "disability", "econ_disadvantaged", "grade")

_COLUMNS = [
    "level",
    "term",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "p_value",
    "n",
    "n_treatment",
    "n_comparison",
    "n_clusters",
    "n_missing",
    "hedges_g",
    "g_ci_low",
    "g_ci_high",
    "improvement_index",
    "model",
    "se_type",
    "outcome",
    "tau00",
    "sigma2",
    "icc",
]


def add_treatment(students: pd.DataFrame, schools: pd.DataFrame, *, column: str = "treatment") -> pd.DataFrame:
    """Add a 0/1 ``treatment`` column from the school's group (1 participant, 0 comparison).

    Raises
    ------
    ValueError
        When a student's school is not in ``schools``.
    """
    out = students.copy()
    group = out["school_id"].map(schools.drop_duplicates("school_id").set_index("school_id")["group"])
    unknown = sorted(out.loc[group.isna(), "school_id"].astype(str).unique())
    if unknown:
        raise ValueError(f"students.csv names school(s) not in schools.csv: {', '.join(unknown)}")
    out[column] = (group == "participant").astype(int)
    return out


def with_treatment(students: pd.DataFrame, district: District) -> pd.DataFrame:
    """`add_treatment` from the district's schools: what each part of the students needs before `facts`."""
    return add_treatment(students, district.schools)


def analysis_sample(students: pd.DataFrame) -> pd.DataFrame:
    """The outcome rows: the ``post`` period where periods are recorded, else each student's latest year."""
    if "period" in students and students["period"].notna().any():
        return students[students["period"] == "post"]
    latest = students["year"] == students["year"].max()
    return students[latest]


def _as_treatment(values: pd.Series, name: str) -> pd.Series:
    """0/1 from 0/1, 1.0/0.0, true/false (any case) or booleans; anything else is an error naming the value."""
    codes, uniques = pd.factorize(values)  # each distinct value read once: the column has two or three
    words = {"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "true": 1.0, "false": 0.0}
    meaning = np.array([words.get(str(u).strip().lower(), np.nan) for u in uniques] + [np.nan])
    mapped = pd.Series(meaning[codes], index=values.index)  # code -1 (missing) reads the last entry: NaN
    bad = values.notna() & mapped.isna()
    if bad.any():
        raise ValueError(f"'{name}' must be 0/1 or true/false; found {values[bad].iloc[0]!r}")
    return mapped.astype(float)


def _pooled_sd(y: np.ndarray, t: np.ndarray) -> float:
    return _sd_of(_arm_moments(y, t))


def _arm_moments(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each group's count, sum and sum of squares of ``y`` (rows: comparison ``t == 0``, treatment ``t == 1``): what
    the pooled SD needs, and the moments of two parts of the students add up to the whole's."""
    y, t = np.asarray(y, float), np.asarray(t, float)
    return np.array([[np.sum(t == arm), y[t == arm].sum(), np.square(y[t == arm]).sum()] for arm in (0.0, 1.0)])


def _sd_of(moments: np.ndarray) -> float:
    """The pooled within-group SD (`plevaluate.effects.pooled_sd`) from `_arm_moments`; NaN when a group has fewer
    than 2 students; an error when the outcome does not vary."""
    n, total, squares = moments.T
    if (n < 2).any():
        return float("nan")
    within = np.clip(squares - total * total / n, 0.0, None)
    sd = float(np.sqrt(within.sum() / (n.sum() - 2)))
    if sd <= 1e-12 * float(np.max(np.abs(total / n))):
        raise ValueError(
            f"the outcome does not vary: every student has the same score ({total[1] / n[1]:g}), so no effect "
            "size can be computed; check the outcome column of students.csv"
        )
    return sd


def profile_reml(model) -> tuple[float, np.ndarray] | None:
    """The REML optimum of a random-intercept model, found exactly rather than by a local optimizer: from each
    school's sums (`plevaluate.regression.ClusterSums.reml`, a profile in lambda = tau^2 / sigma^2 alone).

    Parameters
    ----------
    model : statsmodels MixedLM
        A model with one random intercept and no variance components; anything else returns None.

    Returns
    -------
    (lambda, fixed effects) or None (also when the criterion cannot be evaluated anywhere)
    """
    if model.k_re != 1 or model.k_vc != 0 or not np.allclose(model.exog_re, 1.0):
        return None
    sums = ClusterSums.of(model.endog, model.exog, list(model.exog_names), model.groups)
    try:
        fit = sums.reml()
    except ValueError:
        return None
    return fit.tau / fit.sigma2, fit.params


def fit_mixed(
    data: pd.DataFrame,
    formula: str,
    groups: str,
    *,
    teacher: str | None = None,
    methods: Sequence[str] = ("lbfgs", "bfgs", "powell"),
):
    """REML fit of a random-intercept model (statsmodels MixedLM), started where its optimum is.

    A model with a school intercept only starts at its exact REML optimum (`profile_reml`) and is fitted
    once (L-BFGS), so statsmodels computes the estimates, standard errors and random effects there;
    if statsmodels then reports a likelihood that differs from the optimum's by more than 0.01, it warns.
    A model whose optimum is a zero school variance (the boundary), or that fit fails, and a model with a
    teacher variance component are tried with every optimizer in ``methods`` from
    statsmodels' default start, since statsmodels' MixedLM can report convergence at a worse optimum or a
    degenerate fit with one optimizer, and their log-likelihoods are compared: it warns when they
    disagree by more than 0.01. Warns (`StatisticalWarning`) too when no fit converged, or when the
    school variance is estimated at (or near) zero. Checked against R lme4 output for statsmodels'
    ``lme00`` test data.

    Returns
    -------
    (result, notes)
        The statsmodels MixedLMResults with the highest REML log-likelihood, and notes: the warnings
        raised, and optimizers set aside for a degenerate fit (an infinite likelihood; not a warning,
        since the other optimizers' fits are used).
    """
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams  # statsmodels only when fitting

    vc = {"teacher": f"0 + C({teacher})"} if teacher else None
    model = MixedLM.from_formula(formula, data, groups=data[groups], re_formula="1", vc_formula=vc)
    exact = profile_reml(model)
    start = None
    if exact is not None and exact[0] > 0:  # at zero statsmodels' own start and optimizers handle the boundary
        start = MixedLMParams.from_components(fe_params=exact[1], cov_re=np.array([[exact[0]]]))
    fits, failed = _fits(model, ("lbfgs",), start) if start is not None else ([], [])
    if not fits:
        start = None
        fits, failed = _fits(model, methods, None)
    if not fits:
        raise ValueError("the mixed model could not be fitted with any optimizer")
    set_aside = [f"optimizer {m} returned a degenerate fit and was set aside" for m in failed]
    notes = []
    llf = np.array([f.llf for _, f in fits])
    best_method, best = fits[int(np.nanargmax(llf))]
    exact_llf = float(model.loglike(start, profile_fe=True)) if start is not None else np.nan  # set up by fit
    if np.isfinite(exact_llf) and abs(best.llf - exact_llf) > 0.01:
        notes.append(
            f"the mixed model's likelihood ({best.llf:.2f}) differs from its exact REML optimum's ({exact_llf:.2f})"
        )
    if np.nanmax(llf) - np.nanmin(llf) > 0.01:
        spread = ", ".join(f"{m} {f.llf:.2f}" for m, f in fits)
        notes.append(f"optimizers disagree on the mixed model's likelihood ({spread}); kept {best_method}")
    if not any(f.converged for _, f in fits):
        notes.append("the mixed model did not converge with any optimizer")
    if _no_school_variance(float(np.asarray(best.cov_re)[0, 0]), best.scale):
        notes.append(NO_SCHOOL_VARIANCE)
    for note in notes:
        warnings.warn(note, StatisticalWarning, stacklevel=2)
    return best, set_aside + notes


def _fits(model, methods: Sequence[str], start) -> tuple[list, list[str]]:
    """statsmodels REML fits of ``model`` with each optimizer: (method, fit) for the usable ones, and the
    optimizers whose fit was degenerate (an infinite likelihood or parameters)."""
    fits, failed = [], []
    for method in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = model.fit(reml=True, method=method, start_params=start)
            except (np.linalg.LinAlgError, ValueError):
                continue
        if np.isfinite(fit.llf) and np.all(np.isfinite(fit.fe_params)):
            fits.append((method, fit))
        else:
            failed.append(method)
    return fits, failed


def _split_terms(students: pd.DataFrame, covariates: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """Covariates that are columns, formula terms (``C(grade)``, ``prior_score:english_learner``), and the
    columns those terms use."""
    plain = [c for c in covariates if c in students]
    terms = [c for c in covariates if c not in students]
    used = []
    for term in terms:
        names = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", term) if w in students and w not in used]
        if not names:
            raise ValueError(f"students has no column(s) {term} (not a column, and no column appears in it as a term)")
        used += names
    return plain, terms, used


def _term_columns(data: pd.DataFrame, terms: Sequence[str]) -> pd.DataFrame:
    """The design columns of formula terms (patsy, treatment-coded against the model's intercept)."""
    import patsy

    plain = data.copy()
    for column in plain.columns:  # patsy reads numpy dtypes: pandas' nullable ones become float or object
        dtype = str(plain[column].dtype)
        if dtype in ("boolean", "Float64", "Int64") or dtype.startswith(("Int", "UInt")):
            plain[column] = plain[column].astype(float)
        elif dtype in ("string", "str", "category"):
            plain[column] = plain[column].astype(object)
    design = patsy.dmatrix("1 + " + " + ".join(terms), plain, return_type="dataframe", NA_action="raise")
    return design.drop(columns="Intercept")


def _frame_for(students, outcome, treatment, covariates, cluster, teacher=None):
    """Rows with everything the model needs (``teacher``: the mixed model's teacher column), and the count of rows
    left out."""
    covariates, _, used = _split_terms(students, covariates)
    needed = [outcome, treatment, *covariates, *used, cluster, *([teacher] if teacher else [])]
    missing_columns = [c for c in needed if c not in students]
    if missing_columns:
        raise ValueError(f"students has no column(s) {', '.join(missing_columns)}")
    data = students[list(dict.fromkeys(needed + [c for c in ("educator_id",) if c in students]))].copy()
    data[treatment] = _as_treatment(data[treatment], treatment)
    for column in [outcome, *covariates]:
        if data[column].dtype == bool or str(data[column].dtype) == "boolean":
            data[column] = data[column].astype("Float64")
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    complete = data.dropna(subset=needed)
    return complete, len(data) - len(complete)


def estimate_effect(
    students: pd.DataFrame,
    *,
    outcome: str = "outcome",
    treatment: str = "treatment",
    covariates: Sequence[str] | None = None,
    cluster: str | None = "school_id",
    model: str = "ols",
    se: str = "cluster",
    by: Sequence[str] | str | None = None,
    ci: float = 0.95,
    teacher: str | None = None,
    period: str = "period",
    periods: tuple[str, str] = ("pre", "post"),
    student: str = "student_id",
    reference: str | None = None,
) -> pd.DataFrame:
    """The program's effect on a student outcome, one row per model term (the treatment row first).

    Parameters
    ----------
    students : DataFrame
        One row per student (per period for ``model="did"``) with the outcome, a 0/1 or boolean
        ``treatment`` column (see `add_treatment`), covariates and the cluster.
    model : str
        ``"ols"`` (ANCOVA), ``"mixed"`` (random intercept for ``cluster``; add ``teacher=`` for a
        teacher variance component), ``"did"`` (two periods, ``period`` = pre/post: each student's
        post-minus-pre change compared between groups, which assumes the groups would have changed
        alike without the program - parallel trends), or ``"logit"`` (binary outcome).
    covariates : sequence of str, optional
        Adjusted for; by default ``prior_score`` (none for ``"did"``, whose change score already
        differences out each student's starting point). With ``"did"``, covariates given are taken from
        each student's pre row and enter the change model (conditional parallel trends).
    reference : str, optional
        A multi-arm study: ``treatment`` holds each student's arm (``"small"``, ``"regular"``,
        ``"regular with aide"``) and ``reference`` names the arm the others are compared with. One
        row per other arm, its term named after the column as the two-group term is (``treatment`` names
        the column; with ``treatment="class_type"`` the terms are ``class_type[small]`` and so on; see the
        example), each arm's g on the pooled SD of that arm and the reference (WWC); OLS only.
    period, periods, student : str
        ``"did"`` only: the column naming the period, its (pre, post) values, and the student key that
        links a student's two rows.
    se : str
        ``"cluster"`` (CR1 with 30 or more clusters, else CR2 with Satterthwaite df), ``"cr1"``,
        ``"cr2"`` or ``"hc1"``; OLS and DiD only (the mixed model's are model-based; logit uses CR1).
        ``"hc1"`` needs no cluster column (``cluster=None``); then ``n_clusters`` counts students.
    by : str or sequence of str, optional
        Group columns: the same estimate within each group (grade, subgroup flag, school).

    Returns
    -------
    DataFrame
        level, <by>, term, estimate (outcome units; log odds ratio for logit), se, ci_low, ci_high,
        df, p_value, n, n_treatment, n_comparison, n_clusters, n_missing (rows left out: missing
        outcome, covariate or cluster), hedges_g, g_ci_low, g_ci_high (treatment row; WWC g or the
        Cox index), improvement_index, model, se_type, outcome; for the mixed model tau00 (school
        variance), sigma2 (student variance) and icc (their REML intraclass correlation, conditional on
        the covariates). Logit gives cox_index, cox_ci_low, cox_ci_high in place of the g columns.

    Raises
    ------
    ValueError
        With no comparison group or no treatment group, a missing column, or a model that cannot be
        estimated. Warns (`StatisticalWarning`) for a cluster with one student, a school whose outcomes
        are all missing, or a doubtful mixed-model fit.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> school = np.repeat(np.arange(20), 30)
    >>> t = (school < 10).astype(int)
    >>> prior = rng.normal(0, 1, 600)
    >>> y = 2 * t + prior + rng.normal(0, 0.5, 20)[school] + rng.normal(0, 1, 600)
    >>> data = pd.DataFrame({"outcome": y, "treatment": t, "prior_score": prior, "school_id": school})
    >>> row = estimate_effect(data).iloc[0]
    >>> row["term"], row["se_type"].split(" ")[0], bool(row["ci_low"] < 2 < row["ci_high"])
    ('treatment', 'CR2', True)

    Three arms: the terms take the column's name.

    >>> arms = data.assign(class_type=np.array(["regular", "small", "regular with aide"])[school % 3])
    >>> estimate_effect(arms, treatment="class_type", reference="regular", se="hc1")["term"].tolist()[:2]
    ['class_type[regular with aide]', 'class_type[small]']
    """
    if by:
        by = [by] if isinstance(by, str) else list(by)
        frames = []
        for key, part in students.groupby(by, observed=True, sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            try:
                result = estimate_effect(
                    part,
                    outcome=outcome,
                    treatment=treatment,
                    covariates=covariates,
                    cluster=cluster,
                    model=model,
                    se=se,
                    ci=ci,
                    teacher=teacher,
                    period=period,
                    periods=periods,
                    student=student,
                )
            except ValueError as error:
                warnings.warn(f"{dict(zip(by, key))}: not estimated ({error})", StatisticalWarning, stacklevel=2)
                continue
            for column, value in zip(by, key):
                result.insert(1, column, value)
            frames.append(result)
        if not frames:
            raise ValueError(f"no group of {', '.join(by)} could be estimated")
        return pd.concat(frames, ignore_index=True)
    covariates = list(() if model == "did" else ("prior_score",)) if covariates is None else list(covariates)
    if se == "hc1" and model in ("ols", "did") and (cluster is None or cluster not in students):
        # HC1 ignores clusters: no cluster column is needed (each student is its own "cluster" below)
        students, cluster = students.assign(_student_row=np.arange(len(students))), "_student_row"
    every = ("cluster", "cr1", "cr2", "hc1")
    honoured = {"ols": every, "did": every, "mixed": ("cluster",), "logit": ("cluster", "cr1")}
    if model in honoured and se not in honoured[model]:
        uses = {
            "mixed": "model-based standard errors (REML; schools are its random intercept)",
            "logit": "CR1 cluster-robust standard errors",
        }.get(model, "one of the standard-error types listed")
        choices = ", ".join(repr(v) for v in honoured[model])
        raise ValueError(f"se={se!r} cannot be honoured by model={model!r}, which uses {uses}; choose {choices}")
    if reference is not None:
        if model != "ols":
            raise ValueError(f"a multi-arm treatment (reference={reference!r}) is estimated by model='ols' only")
        return _multi_arm(students, outcome, treatment, reference, covariates, cluster, se, ci)
    if model == "did":
        return _did(students, outcome, treatment, cluster, se, ci, period, periods, student, covariates)
    data, n_missing = _frame_for(
        students, outcome, treatment, covariates, cluster, teacher if model == "mixed" else None
    )
    _check_groups(data, treatment, cluster, students, outcome)
    y = data[outcome].to_numpy(float)
    t = data[treatment].to_numpy(float)
    n_t, n_c = int((t == 1).sum()), int((t == 0).sum())
    base = {
        "level": 5,
        "n": len(data),
        "n_treatment": n_t,
        "n_comparison": n_c,
        "n_clusters": int(data[cluster].nunique()),
        "n_missing": n_missing,
        "outcome": outcome,
    }
    omega = hedges_omega(n_t + n_c)
    covariates, terms, _ = _split_terms(students, covariates)
    if terms and model != "ols":
        raise ValueError(f"formula terms ({', '.join(terms)}) are supported by model='ols' only")
    names = [treatment, *covariates]
    rows = []
    if model == "ols":
        extra = _term_columns(data, terms) if terms else pd.DataFrame(index=data.index)
        X = np.column_stack([np.ones(len(data)), data[names].to_numpy(float), extra.to_numpy(float)])
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise ValueError(
                f"the terms {', '.join(terms) or 'given'} are collinear with the treatment or each other (a school "
                "fixed effect cannot be estimated beside a school-level treatment); drop or change them"
            )
        fit = fit_ols(y, X, ["intercept", *names, *extra.columns], clusters=data[cluster].to_numpy(), se=se)
        label = "OLS (ANCOVA)" + (f"; also adjusted for {', '.join(terms)} ({extra.shape[1]} columns)" if terms else "")
        rows = _ols_rows(fit, base, names, _pooled_sd(y, t), label, ci)
    elif model == "mixed":
        fixed, errors, tau, sigma2 = _random_intercept(data, outcome, names, cluster, teacher)
        varying = [c for c in names if (data.groupby(cluster)[c].nunique() > 1).any()]
        fit = (fixed, errors, tau, sigma2)
        rows = _mixed_rows(fit, base, names, varying, _pooled_sd(y, t), ci, teacher=bool(teacher))
    elif model == "logit":
        values = set(np.unique(y))
        if not values <= {0.0, 1.0}:
            raise ValueError(f"model='logit' needs a 0/1 outcome; '{outcome}' has other values")
        from statsmodels.genmod.families import Binomial
        from statsmodels.genmod.generalized_linear_model import GLM

        X = np.column_stack([np.ones(len(data)), data[names].to_numpy(float)])
        groups = data[cluster].astype("category").cat.codes.to_numpy()
        fit = GLM(y, X, family=Binomial()).fit(cov_type="cluster", cov_kwds={"groups": groups})
        g_count = int(data[cluster].nunique())
        crit = stats.t.ppf(0.5 + ci / 2, g_count - 1)
        for j, name in enumerate(["intercept", *names]):
            test = _t_test(name, float(fit.params[j]), float(fit.bse[j]), g_count - 1, crit)
            rows.append({**base, **test, "model": "logistic (log odds ratio)", "se_type": "CR1 cluster-robust, t(G-1)"})
        rows = rows[1:] + rows[:1]
        _add_g(rows[0], omega / 1.65)  # the Cox index: its own columns, never called Hedges' g
        cox = {"hedges_g": "cox_index", "g_ci_low": "cox_ci_low", "g_ci_high": "cox_ci_high"}
        return pd.DataFrame(rows).reindex(columns=_COLUMNS).rename(columns=cox)
    else:
        raise ValueError(f"model must be 'ols', 'mixed', 'did' or 'logit', not {model!r}")
    return pd.DataFrame(rows).reindex(columns=_COLUMNS)


def _ols_rows(fit: LinearFit, base: dict, names: Sequence[str], sd: float, label: str, ci: float) -> list[dict]:
    """An OLS model's rows (``names`` then the intercept), the first with its effect size on ``sd``."""
    rows = [{**base, "term": name, **fit.test(name, ci), "model": label, "se_type": fit.se_type} for name in names]
    rows.append({**base, "term": "intercept", **fit.test("intercept", ci), "model": label, "se_type": fit.se_type})
    _add_g(rows[0], hedges_omega(base["n_treatment"] + base["n_comparison"]) / sd)
    return rows


def _mixed_rows(fit, base: dict, names: Sequence[str], varying: Sequence[str], sd: float, ci: float, *, teacher: bool):
    """The mixed model's rows from its fixed effects, standard errors and variances (`_random_intercept`).

    Between-within degrees of freedom (SAS PROC MIXED ddfm=bw; Schluchter & Elashoff 1990): a school-level treatment
    is tested on schools - 2 df; one that varies within schools (``varying``: the terms that do) on students -
    schools - (the number of terms that vary within schools)."""
    fixed, errors, tau, sigma2 = fit
    groups = base["n_clusters"]
    if names[0] in varying:
        df, df_method = max(base["n"] - groups - len(varying), 1), "between-within df: students - schools - p"
    else:
        df, df_method = max(groups - 2, 1), "between-within df: schools - 2"
    crit = stats.t.ppf(0.5 + ci / 2, df)
    variance = {"tau00": tau, "sigma2": sigma2, "icc": tau / (tau + sigma2)}
    rows = [
        {
            **base,
            **_t_test(name, fixed[name], errors[name], df, crit),
            "model": "linear mixed model, random school intercept" + (" and teacher" if teacher else ""),
            "se_type": f"model-based (REML), t with {df} df ({df_method})",
            **variance,
        }
        for name in [*names, "intercept"]
    ]
    _add_g(rows[0], hedges_omega(base["n_treatment"] + base["n_comparison"]) / sd)
    return rows


def _random_intercept(
    data: pd.DataFrame, outcome: str, names: list[str], cluster: str, teacher: str | None
) -> tuple[dict[str, float], dict[str, float], float, float]:
    """The mixed model's fixed effects and standard errors by term (``intercept`` and ``names``), the school
    variance and the student variance. A school intercept only: REML from each school's sums
    (`plevaluate.regression.ClusterSums.reml`; the standard errors lme4's); with a teacher variance component,
    statsmodels' MixedLM (`fit_mixed`)."""
    if teacher is None:
        return _reml_terms(_intercept_fit(data, outcome, names, cluster))
    formula = f"{outcome} ~ {' + '.join(_q(n) for n in names)}"
    result, _ = fit_mixed(
        data.rename(columns=_safe(data)),
        _rename_formula(formula, data),
        _safe_name(cluster),
        teacher=_safe_name(teacher),
    )
    keys = {name: _safe_name(name) for name in names} | {"intercept": "Intercept"}
    fixed = {name: float(result.fe_params[key]) for name, key in keys.items()}
    errors = {name: float(result.bse_fe[key]) for name, key in keys.items()}
    return fixed, errors, max(0.0, float(np.asarray(result.cov_re)[0, 0])), float(result.scale)


def _reml_terms(sums: ClusterSums) -> tuple[dict[str, float], dict[str, float], float, float]:
    """`_random_intercept` (a school intercept only) from each school's sums."""
    fit = sums.reml()
    if _no_school_variance(fit.tau, fit.sigma2):
        warnings.warn(NO_SCHOOL_VARIANCE, StatisticalWarning, stacklevel=4)
    fixed = dict(zip(fit.names, map(float, fit.params)))
    return fixed, dict(zip(fit.names, map(float, fit.se))), fit.tau, fit.sigma2


def _intercept_fit(
    data: pd.DataFrame, outcome: str, names: Sequence[str], cluster: str, *, hc1: bool = False, center="mean"
) -> ClusterSums:
    """Each school's sums of the model ``outcome ~ 1 + names`` (its terms ``intercept`` and ``names``), from rows with
    every column present, centred (`ClusterSums.of`) at the rows' means or at ``center``, ``{column: value}`` (a
    column not named: 0), the same for every part of the students."""
    X = np.column_stack([np.ones(len(data)), data[list(names)].to_numpy(float)])
    y = data[outcome].to_numpy(float)
    if isinstance(center, Mapping):
        center = (center.get(outcome, 0.0), [0.0, *(center.get(name, 0.0) for name in names)])
    return ClusterSums.of(y, X, ["intercept", *names], data[cluster].to_numpy(), hc1=hc1, center=center)


#: Said (a `StatisticalWarning`) when a mixed model's school variance is estimated at zero.
NO_SCHOOL_VARIANCE = "the school variance is estimated at zero: the mixed model reduces to a single-level model"
#: Why a school has no estimate of its own when the school variance is estimated at zero (`school_effects`).
NO_SCHOOL_ESTIMATE = (
    "the program schools' results did not differ by more than chance would explain (the school variance is "
    "estimated at zero), so no school's result can be told apart from the district's"
)


def _no_school_variance(tau: float, sigma2: float) -> bool:
    return tau < 1e-6 * sigma2


def _t_test(term: str, estimate: float, se: float, df: float, crit: float) -> dict:
    """A model term's row: estimate, se, the t interval (``crit`` = the t quantile) and the two-sided p-value."""
    return {
        "term": term,
        "estimate": estimate,
        "se": se,
        "ci_low": estimate - crit * se,
        "ci_high": estimate + crit * se,
        "df": float(df),
        "p_value": float(2 * stats.t.sf(abs(estimate / se), df)),
    }


def _q(name: str) -> str:
    return _safe_name(name)


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(name))


def _safe(data: pd.DataFrame) -> dict:
    return {c: _safe_name(c) for c in data.columns}


def _rename_formula(formula: str, data: pd.DataFrame) -> str:
    left, right = formula.split("~")
    return f"{_safe_name(left.strip())} ~ {right.strip()}"


def _add_g(row: dict, scale: float) -> None:
    """WWC g (or Cox index) with the interval of the estimate carried through (S treated as known)."""
    row["hedges_g"] = row["estimate"] * scale
    row["g_ci_low"], row["g_ci_high"] = row["ci_low"] * scale, row["ci_high"] * scale
    row["improvement_index"] = float(improvement_index(row["hedges_g"]))


def _check_groups(data: pd.DataFrame, treatment: str, cluster: str, students: pd.DataFrame, outcome: str) -> None:
    sizes = data.groupby(cluster).size()
    empty = []
    if outcome in students and cluster in students:
        all_missing = students[outcome].isna().groupby(students[cluster]).all()
        empty = all_missing[all_missing].index.tolist()
    values = set(data[treatment].unique())
    single = sizes[sizes == 1].index.tolist() if cluster != "_student_row" else []
    _check_counts(len(data), values, single, empty, treatment, outcome)


def _check_counts(rows: int, values: set, single: list, empty: list, treatment: str, outcome: str) -> None:
    """Refuse a model without both groups; warn of schools with one student (``single``) and schools whose outcomes
    are all missing (``empty``)."""
    if rows == 0:
        raise ValueError(
            f"no student has a value of '{outcome}' (with the covariates the model needs): the column is "
            "blank in every row used; check the export of students.csv"
        )
    if values != {0.0, 1.0}:
        which = "comparison" if values == {1.0} else "treatment" if values == {0.0} else "any"
        raise ValueError(
            f"no {which} group: every student with an outcome has {treatment} = "
            f"{', '.join(f'{v:g}' for v in sorted(values)) or 'nothing'}; an effect needs both groups "
            "(add comparison schools to schools.csv with group = comparison, or report levels 1-4 only)"
        )
    if single:
        warnings.warn(
            f"{counted(len(single), 'school')} with one student in the analysis ({', '.join(map(str, single[:5]))}); "
            "they add almost no information and their residuals are poorly estimated",
            StatisticalWarning,
            stacklevel=4,
        )
    if empty:
        warnings.warn(
            f"every outcome is missing at {', '.join(map(str, empty))}: that school is left out",
            StatisticalWarning,
            stacklevel=4,
        )


def _multi_arm(students, outcome, treatment, reference, covariates, cluster, se, ci):
    """OLS with one indicator per arm other than ``reference``; each arm's g uses that arm's and the
    reference's pooled SD (WWC Procedures Handbook: each comparison is its own two-group contrast)."""
    covariates, terms, used = _split_terms(students, covariates)
    missing = [c for c in (outcome, treatment, *covariates, *used, cluster) if c not in students]
    if missing:
        raise ValueError(f"students has no column(s) {', '.join(missing)}")
    data = students[list(dict.fromkeys([outcome, treatment, *covariates, *used, cluster]))].copy()
    for column in [outcome, *covariates]:
        values = data[column].astype("Float64") if str(data[column].dtype) == "boolean" else data[column]
        data[column] = pd.to_numeric(values, errors="coerce").astype(float)
    data[treatment] = data[treatment].astype("string").str.strip()
    complete = data.dropna(subset=[outcome, treatment, *covariates, *used, cluster])
    n_missing = len(data) - len(complete)
    arms = sorted(set(complete[treatment]) - {reference})
    if reference not in set(complete[treatment]) or not arms:
        found = ", ".join(sorted(set(complete[treatment]))) or "none"
        raise ValueError(
            f"the reference arm {reference!r} and at least one other are needed in '{treatment}' (found: {found})"
        )
    y = complete[outcome].to_numpy(float)
    dummies = np.column_stack([(complete[treatment] == arm).to_numpy(float) for arm in arms])
    extra = _term_columns(complete, terms) if terms else pd.DataFrame(index=complete.index)
    X = np.column_stack([np.ones(len(complete)), dummies, complete[covariates].to_numpy(float), extra.to_numpy(float)])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("the arms, covariates and terms are collinear; drop or change a term")
    names = [f"{treatment}[{arm}]" for arm in arms]
    fit = fit_ols(
        y, X, ["intercept", *names, *covariates, *extra.columns], clusters=complete[cluster].to_numpy(), se=se
    )
    ref_y = y[(complete[treatment] == reference).to_numpy()]
    label = f"OLS (ANCOVA), arms against '{reference}'" + (f"; also adjusted for {', '.join(terms)}" if terms else "")
    base = {
        "level": 5,
        "n": len(complete),
        "n_clusters": int(complete[cluster].nunique()),
        "n_missing": n_missing,
        "outcome": outcome,
        "model": label,
        "se_type": fit.se_type,
    }
    rows = []
    for arm, name in zip(arms, names):
        arm_y = y[(complete[treatment] == arm).to_numpy()]
        row = {**base, "term": name, "n_treatment": len(arm_y), "n_comparison": len(ref_y), **fit.test(name, ci)}
        _add_g(row, hedges_omega(len(arm_y) + len(ref_y)) / pooled_sd(arm_y, ref_y))
        rows.append(row)
    rows += [{**base, "term": c, **fit.test(c, ci)} for c in [*covariates, "intercept"]]
    return pd.DataFrame(rows).reindex(columns=_COLUMNS)


def _did(students, outcome, treatment, cluster, se, ci, period, periods, student, covariates):
    frame, post_y, n_missing = _did_frame(students, outcome, treatment, cluster, period, periods, student, covariates)
    _check_groups(frame, treatment, cluster, frame, "change")
    y, t = frame["change"].to_numpy(float), frame[treatment].to_numpy(float)
    X = np.column_stack([np.ones(len(frame)), t, frame[covariates].to_numpy(float)])
    sums = ClusterSums.of(y, X, ["intercept", treatment, *covariates], frame[cluster].to_numpy(), hc1=se == "hc1")
    known = ~np.isnan(post_y)
    return _did_table(sums, _arm_moments(post_y[known], t[known]), n_missing, outcome, se, ci)


def _did_table(sums: ClusterSums, post_moments: np.ndarray, n_missing: int, outcome: str, se: str, ci: float):
    """The difference-in-differences rows from each school's sums of the change model ``change ~ 1 + treatment +
    covariates`` and the `_arm_moments` of the post outcomes of its students (the effect size's SD)."""
    fit = _fit(sums, se)
    treatment, covariates = sums.names[1], list(sums.names[2:])
    n_t = int(sums.raw_x[:, 1].sum())
    base = {
        "level": 5,
        "n": fit.n,
        "n_treatment": n_t,
        "n_comparison": fit.n - n_t,
        "n_clusters": len(sums.clusters),
        "n_missing": n_missing,
        "outcome": outcome,
        "model": "difference-in-differences (two periods; assumes parallel trends)",
        "se_type": fit.se_type,
    }
    rows = [
        {**base, "term": treatment, **fit.test(treatment, ci)},
        *({**base, "term": c, **fit.test(c, ci)} for c in covariates),
        {**base, "term": "intercept", **fit.test("intercept", ci)},
    ]
    _add_g(rows[0], hedges_omega(fit.n) / _sd_of(post_moments))
    return pd.DataFrame(rows).reindex(columns=_COLUMNS)


def _fit(sums: ClusterSums, se: str) -> LinearFit:
    """`ClusterSums.fit` with ``se="cluster"`` resolved as `fit_ols` resolves it (CR1 with 30 or more schools)."""
    if se == "cluster":
        se = "cr1" if len(sums.clusters) >= FEW_CLUSTERS else "cr2"
    return sums.fit(se)


class _Unlinked(ValueError):
    """No student has both periods (`_did_frame`): for a part of the students, nothing to add."""


def _did_frame(students, outcome, treatment, cluster, period, periods, student, covariates):
    """Each linked student's change (post - pre), treatment, school and pre-period covariates; the post outcome of
    each (in the same order); the rows left out."""
    first, second = periods
    missing = [c for c in (period, student, *covariates) if c not in students]
    if missing:
        raise ValueError(f"model='did' needs the column(s) {', '.join(missing)} (period, student key, covariates)")
    pre = students[students[period] == first].set_index(student)
    post = students[students[period] == second].set_index(student)
    for label, rows in ((first, pre), (second, post)):
        twice = rows.index[rows.index.duplicated()].unique()
        if len(twice):
            raise ValueError(
                f"model='did' links each student's '{first}' row to their '{second}' row, but {len(twice)} student(s) "
                f"have several '{label}' rows in '{period}' ({', '.join(map(str, twice[:5]))}): keep one row per "
                "student and period"
            )
    linked = post.index.intersection(pre.index)
    if len(linked) == 0:
        raise _Unlinked(
            f"model='did' needs students with both a '{first}' and a '{second}' row in '{period}' (matched on {student})"
        )
    frame = pd.DataFrame(
        {
            "change": post.loc[linked, outcome].astype(float) - pre.loc[linked, outcome].astype(float),
            treatment: post.loc[linked, treatment],
            cluster: post.loc[linked, cluster],
            **{c: pd.to_numeric(pre.loc[linked, c], errors="coerce").astype(float) for c in covariates},
        }
    )
    n_missing = len(post) + len(pre) - 2 * len(linked) + int(frame[["change", *covariates]].isna().any(axis=1).sum())
    frame = frame.dropna(subset=["change", *covariates])
    frame[treatment] = _as_treatment(frame[treatment], treatment)
    # the post outcomes of the students in the change model, in the same rows as the frame
    return frame, post.loc[frame.index, outcome].astype(float).to_numpy(), n_missing


# ---- WWC diagnostics ----


def baseline_equivalence(
    data: pd.DataFrame, *, covariates: Sequence[str] = ("prior_score",), treatment: str = "treatment"
) -> pd.DataFrame:
    """Baseline differences in SD units (WWC g) with the WWC verdict, on the analytic sample.

    |g| <= 0.05: satisfies; 0.05 < |g| <= 0.25: satisfies only with statistical adjustment for the
    covariate; > 0.25: does not satisfy (WWC Standards Handbook v5.0). Binary covariates use the Cox index.

    Returns
    -------
    DataFrame
        covariate, mean_treatment, mean_comparison, sd_pooled, n_treatment, n_comparison, g, verdict.
    """
    t = _as_treatment(data[treatment], treatment)
    rows = []
    for covariate in covariates:
        moments, binary = _covariate_moments(data[covariate], t)
        rows.append(_baseline_row(covariate, moments, binary))
    return pd.DataFrame(rows)


def _covariate_moments(column: pd.Series, t: pd.Series) -> tuple[np.ndarray, bool]:
    """A covariate's `_arm_moments` where it and the treatment are known, and whether every value is 0 or 1."""
    values = pd.to_numeric(column.astype("Float64") if str(column.dtype) == "boolean" else column, errors="coerce")
    values = values.astype(float)
    ok = (values.notna() & t.notna()).to_numpy()
    known = values.to_numpy()[ok]
    return _arm_moments(known, t.to_numpy(float)[ok]), bool(np.isin(known, (0.0, 1.0)).all())


def _baseline_row(covariate: str, moments: np.ndarray, binary: bool) -> dict:
    """One covariate's baseline difference from its `_arm_moments`: WWC g (a 0/1 covariate: the Cox index)."""
    (n_b, sum_b, _), (n_a, sum_a, _) = moments
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a, mean_b = sum_a / n_a, sum_b / n_b
    omega = hedges_omega(n_a + n_b)
    if binary:
        pa, pb = np.clip([mean_a, mean_b], 1e-6, 1 - 1e-6)
        g = omega * (np.log(pa / (1 - pa)) - np.log(pb / (1 - pb))) / 1.65
        sd = np.nan
    else:
        sd = _sd_of(moments)
        g = omega * (mean_a - mean_b) / sd
    return {
        "covariate": covariate,
        "mean_treatment": float(mean_a),
        "mean_comparison": float(mean_b),
        "sd_pooled": sd,
        "n_treatment": int(n_a),
        "n_comparison": int(n_b),
        "g": float(g),
        "verdict": baseline_verdict(g),
    }


def attrition(
    students: pd.DataFrame,
    *,
    treatment: str = "treatment",
    outcome: str = "outcome",
    period: str = "period",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Overall and differential attrition: baseline students (a pre row) not in the analysis at post (no outcome,
    or, with ``covariates``, a covariate the model needs missing at post: the model drops them too, so they are
    lost to the analysis as surely as a student never tested).

    Source: the WWC definitions of overall and differential attrition (Standards Handbook v4.1) and
    `attrition_verdict`.

    Returns
    -------
    DataFrame
        One row: baseline_treatment, baseline_comparison, analytic_treatment, analytic_comparison,
        attrition_treatment, attrition_comparison, overall, differential, cautious, optimistic
        (verdicts), new_students (post rows with no baseline row: not attrition, counted).
    """
    return _attrition_table(_attrition_counts(students, treatment, outcome, period, covariates))


def _attrition_counts(students, treatment, outcome, period, covariates) -> np.ndarray:
    """Baseline students by group, those of them in the analysis, and new students (`attrition`); two parts of the
    students (each student's rows in one part) add up to the whole's."""
    pre = students[students[period] == "pre"]
    tested = students[(students[period] == "post")].dropna(subset=[outcome])
    post = tested.dropna(subset=[c for c in covariates if c in students])
    t = pre.drop_duplicates("student_id").set_index("student_id")[treatment].astype(float)
    kept = t.index.isin(post["student_id"])
    # every student tested at post with no baseline row, in the analysis or not (a reader's review: the appendix said
    # "0 students joined after baseline" beside a note that 129 new students were left out for want of a prior score)
    new = int((~tested["student_id"].isin(t.index)).sum())
    return np.array([(t == 1).sum(), (t == 0).sum(), ((t == 1) & kept).sum(), ((t == 0) & kept).sum(), new])


def _attrition_table(counts: np.ndarray) -> pd.DataFrame:
    base_t, base_c, kept_t, kept_c, new = (int(v) for v in counts)
    a_t = 1 - kept_t / base_t if base_t else np.nan
    a_c = 1 - kept_c / base_c if base_c else np.nan
    overall = 1 - (kept_t + kept_c) / (base_t + base_c) if base_t + base_c else np.nan
    differential = abs(a_t - a_c)
    verdict = attrition_verdict(overall, differential) if np.isfinite(overall) and np.isfinite(differential) else {}
    return pd.DataFrame(
        [
            {
                "baseline_treatment": base_t,
                "baseline_comparison": base_c,
                "analytic_treatment": kept_t,
                "analytic_comparison": kept_c,
                "attrition_treatment": a_t,
                "attrition_comparison": a_c,
                "overall": overall,
                "differential": differential,
                "cautious": verdict.get("cautious", "not computed"),
                "optimistic": verdict.get("optimistic", "not computed"),
                "new_students": new,
            }
        ]
    )


def clustering_correction(g: float, n_treatment: int, n_comparison: int, n_clusters: int, *, icc: float = 0.20) -> dict:
    """Hedges (2007) correction of a t-test that ignored clustering (WWC Procedures Handbook v4.1/v5.0).

    The t statistic is recovered from g as the WWC does, ``t = g / sqrt(N / (nT nC) + g^2 / (2N))`` (g over
    its large-sample standard error); ``t_a = t sqrt(((N - 2) - 2(n - 1) rho) / ((N - 2)(1 + (n - 1) rho)))``
    with df ``h = ((N - 2) - 2(n - 1) rho)^2 / ((N - 2)(1 - rho)^2 + n(N - 2n) rho^2 + 2(N - 2n) rho (1 - rho))``,
    N students, n = N / clusters the average cluster size, rho the ICC (WWC default 0.20 for
    achievement outcomes, 0.10 otherwise). With rho = 0 nothing changes; with rho = 1 it is the
    t-test on cluster means (df = clusters - 2).

    Returns
    -------
    dict
        t, df, p_value (uncorrected), t_corrected, df_corrected, p_corrected, icc, cluster_size.
    """
    big_n = n_treatment + n_comparison
    n = big_n / n_clusters
    t = g / np.sqrt(big_n / (n_treatment * n_comparison) + g**2 / (2 * big_n))
    factor = ((big_n - 2) - 2 * (n - 1) * icc) / ((big_n - 2) * (1 + (n - 1) * icc))
    h = ((big_n - 2) - 2 * (n - 1) * icc) ** 2 / (
        (big_n - 2) * (1 - icc) ** 2 + n * (big_n - 2 * n) * icc**2 + 2 * (big_n - 2 * n) * icc * (1 - icc)
    )
    t_a = t * np.sqrt(factor)
    return {
        "t": float(t),
        "df": float(big_n - 2),
        "p_value": float(2 * stats.t.sf(abs(t), big_n - 2)),
        "t_corrected": float(t_a),
        "df_corrected": float(h),
        "p_corrected": float(2 * stats.t.sf(abs(t_a), h)),
        "icc": icc,
        "cluster_size": float(n),
    }


def outcome_icc(data: pd.DataFrame, *, outcome: str = "outcome", cluster: str = "school_id") -> dict:
    """The outcome's intraclass correlation: REML from the random-intercept model ``outcome ~ 1 + (1 | school)``
    (`fit_mixed`), ``ICC = tau00 / (tau00 + sigma2)``, with the one-way ANOVA estimator beside it.

    The ANOVA estimator is ``(MSB - MSW) / (MSB + (n0 - 1) MSW)`` with ``n0 = (N - sum n_g^2 / N) / (G - 1)``
    (Snedecor & Cochran; Donner 1986), truncated at 0. For balanced schools the two agree (Searle, Casella &
    McCulloch 1992, section 4.7: REML is the ANOVA estimator when that is not negative); with unequal schools
    REML is the one multilevel software reports (Raudenbush & Bryk 2002 give .18 for High School and Beyond,
    where the ANOVA estimator is .174).

    Returns
    -------
    dict
        icc (REML), tau00, sigma2, icc_anova, estimator, n, n_clusters, n0.
    """
    frame = data[[outcome, cluster]].dropna()
    return _icc_of(_intercept_fit(frame.assign(**{cluster: frame[cluster].astype(str)}), outcome, (), cluster))


def _icc_of(sums: ClusterSums) -> dict:
    """`outcome_icc` from each school's sums of the outcome (an intercept-only model's)."""
    sizes, big_n, g = sums.n, float(sums.n.sum()), len(sums.n)
    out = {
        "icc": np.nan,
        "tau00": np.nan,
        "sigma2": np.nan,
        "icc_anova": np.nan,
        "estimator": "REML, random-intercept model (ANOVA estimator beside it)",
        "n": int(big_n),
        "n_clusters": g,
        "n0": np.nan,
    }
    means, grand = sums.y / sizes, sums.y.sum() / big_n
    if g < 2 or float(np.sum(sums.yy) - sums.y.sum() * grand) <= 1e-12 * max(float(np.sum(sums.yy)), 1e-300):
        return out  # one school, or an outcome that does not vary: no share of its variance lies between schools
    msb = float(np.sum(sizes * (means - grand) ** 2) / (g - 1))
    msw = float(np.clip(sums.yy - sums.y * means, 0.0, None).sum() / (big_n - g))
    n0 = (big_n - np.sum(sizes**2) / big_n) / (g - 1)
    out["icc_anova"] = float(max(0.0, (msb - msw) / (msb + (n0 - 1) * msw)))
    out["n0"] = float(n0)
    # a zero school variance is reported as an ICC of 0, not a warning
    fit = sums.reml()
    tau, sigma2 = fit.tau, fit.sigma2
    out.update(tau00=tau, sigma2=sigma2, icc=tau / (tau + sigma2) if tau + sigma2 > 0 else np.nan)
    return out


# ---- subgroups, dose, schools ----


def subgroup_effects(
    data: pd.DataFrame, *, subgroups: Sequence[str] = SUBGROUPS, min_n: int = 10, **kwargs
) -> pd.DataFrame:
    """The effect within each value of each subgroup column, with Benjamini-Hochberg across the family.

    Source: `estimate_effect` within each group; Benjamini & Hochberg (1995) adjusted p-values across the family.

    Returns
    -------
    DataFrame
        The treatment rows of `estimate_effect` with ``subgroup`` (the column) and ``value``, plus
        ``p_adjusted`` (BH over every row of the family) and ``suppressed`` (fewer than ``min_n``
        students in either group: estimates blanked).
    """
    tables = []
    for column in [c for c in subgroups if c in data]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            try:
                tables.append((column, estimate_effect(data, by=column, **kwargs)))
            except ValueError:
                continue
    return _subgroup_family(tables, min_n, kwargs.get("treatment", "treatment"))


def _subgroup_family(tables: Sequence[tuple[str, pd.DataFrame]], min_n: int, treatment: str) -> pd.DataFrame:
    """`subgroup_effects` from each column's `estimate_effect` by that column: the treatment rows, ordered by value,
    Benjamini-Hochberg across the family, small groups blanked."""
    rows = []
    for column, table in tables:
        table = table[table["term"] == treatment]
        table = table.rename(columns={column: "value"}).assign(subgroup=column)
        labels = np.array([NOT_RECORDED if pd.isna(v) else str(v) for v in table["value"]], dtype=object)
        numeric = pd.to_numeric(table["value"], errors="coerce").fillna(np.inf).to_numpy()
        order = np.lexsort((labels, numeric))  # grade 3 before 10; not recorded last
        table = table.iloc[order].assign(value=labels[order])
        rows.append(table)
    if not rows:
        return pd.DataFrame()
    out = pd.concat(rows, ignore_index=True)
    out["p_adjusted"] = bh_adjust(out["p_value"].to_numpy())
    small = (out["n_treatment"] < min_n) | (out["n_comparison"] < min_n)
    estimates = [
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
        "hedges_g",
        "g_ci_low",
        "g_ci_high",
        "improvement_index",
    ]
    out.loc[small, estimates] = np.nan
    out["suppressed"] = small
    first = ["level", "subgroup", "value"]
    return out[first + [c for c in out.columns if c not in first]]


def implementation_dose(
    data: pd.DataFrame,
    rates: pd.DataFrame,
    *,
    outcome: str = "outcome",
    covariates: Sequence[str] = ("prior_score",),
    cluster: str = "school_id",
    ci: float = 0.95,
) -> pd.DataFrame:
    """Exploratory: outcomes at participant schools against the school's implementation rate (level 4).

    Source: OLS with CR2 cluster-robust standard errors and Satterthwaite df (Bell & McCaffrey 2002;
    `plevaluate.regression.fit_ols`).

    ``outcome ~ implementation + covariates`` with CR2 standard errors by school; the implementation
    coefficient is reported per 10 percentage points. Schools chose neither their rate nor their
    students: this is an association, labelled exploratory, not an effect.

    Returns
    -------
    DataFrame
        One row: level, term (``implementation_per_10_points``), estimate, se, ci_low, ci_high, df,
        p_value, n, n_clusters, model, se_type.
    """
    complete = data.dropna(subset=[outcome, *covariates, cluster])
    return _dose_table(_intercept_fit(complete, outcome, covariates, cluster), rates, ci=ci)


def _dose_table(sums: ClusterSums, rates: pd.DataFrame, *, ci: float) -> pd.DataFrame:
    """`implementation_dose` from each school's sums of ``outcome ~ 1 + covariates``: the rate is the same for every
    student of a school, so the model with it is each school's sums with a column of its rate x 10 added (its sums
    are the rate times the school's)."""
    found = rates.drop_duplicates("school_id").set_index("school_id")["estimate"].astype(float)
    rate = pd.Series(sums.clusters).map(found).to_numpy(float)
    keep = ~np.isnan(rate)
    if keep.sum() < 3:
        raise ValueError("the dose-response needs at least 3 schools with an implementation rate")
    if len(np.unique(rate[keep])) < 2:
        raise ValueError(
            "every school with students had the same implementation rate, so schools cannot be compared by it"
        )
    r = rate[keep] * 10
    x, xx = sums.x[keep], sums.xx[keep]
    k = x.shape[1]
    wide_x = np.insert(x, 1, r * sums.n[keep], axis=1)
    wide_xx = np.zeros((len(r), k + 1, k + 1))
    wide_xx[:, np.r_[0, 2 : k + 1][:, None], np.r_[0, 2 : k + 1]] = xx
    wide_xx[:, 1, np.r_[0, 2 : k + 1]] = wide_xx[:, np.r_[0, 2 : k + 1], 1] = r[:, None] * x
    wide_xx[:, 1, 1] = r * r * sums.n[keep]
    wide_xy = np.insert(sums.xy[keep], 1, r * sums.y[keep], axis=1)
    names = (sums.names[0], "implementation", *sums.names[1:])
    shift = None if sums.shift is None else np.insert(sums.shift, 1, 0.0)  # the rate column is not centred
    intercept = None if sums.intercept is None else sums.intercept + (sums.intercept >= 1)
    wide = ClusterSums(
        names,
        sums.clusters[keep],
        sums.n[keep],
        wide_x,
        sums.y[keep],
        wide_xx,
        wide_xy,
        sums.yy[keep],
        None,
        shift,
        sums.y_shift,
        intercept,
    )
    fit = wide.fit("cr2")
    return pd.DataFrame(
        [
            {
                "level": 5,
                "term": "implementation_per_10_points",
                **fit.test("implementation", ci),
                "n": fit.n,
                "n_clusters": fit.n_clusters,
                "model": "OLS of outcome on school implementation rate (exploratory, correlational)",
                "se_type": fit.se_type,
            }
        ]
    )


def school_effects(
    data: pd.DataFrame,
    *,
    outcome: str = "outcome",
    covariates: Sequence[str] = ("prior_score",),
    cluster: str = "school_id",
    min_n: int = 10,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Each school's outcomes against what its students' prior scores predict, shrunk toward the district.

    Source: empirical Bayes (BLUP) school effects from a REML random-intercept model (Raudenbush & Bryk 2002,
    ch. 3).

    A random-intercept model ``outcome ~ covariates + (1 | school)`` is fitted to the schools given
    (pass the participant schools); each school's estimate is its predicted random effect (BLUP) with
    the interval from its conditional variance, so small schools are pulled toward the district and
    cannot top or bottom the list by noise. ``raw`` is the unshrunk mean residual, for comparison.

    Returns
    -------
    DataFrame
        level, school_id, measure (``adjusted_difference``), estimate (points above (+) or below (-)
        prediction), ci_low, ci_high, raw, n (students), suppressed, method.
    """
    return _school_table(
        _intercept_fit(data.dropna(subset=[outcome, *covariates, cluster]), outcome, covariates, cluster),
        min_n=min_n,
        ci=ci,
    )


def _school_table(sums: ClusterSums, *, min_n: int, ci: float) -> pd.DataFrame:
    """`school_effects` from each school's sums of its random-intercept model."""
    fit = sums.reml()
    flat = _no_school_variance(fit.tau, fit.sigma2)
    if flat:
        warnings.warn(NO_SCHOOL_VARIANCE, StatisticalWarning, stacklevel=3)
    z = stats.norm.ppf(0.5 + ci / 2)
    blup, variance = fit.effects()
    sd = np.sqrt(variance)
    out = pd.DataFrame(
        {
            "level": 5,
            "school_id": sums.clusters,
            "measure": "adjusted_difference",
            "estimate": blup,
            "ci_low": blup - z * sd,
            "ci_high": blup + z * sd,
            "raw": sums.residuals(fit.params) / sums.n,  # the mean residual, unshrunk
            "n": sums.n.astype(int),
        }
    )
    out["method"] = "random-intercept model, school effect shrunk toward the district (BLUP)"
    if flat:  # every BLUP is 0 with no variance: "+0.0 (+0.0 to +0.0)" would claim a certainty the model does not have
        out[["estimate", "ci_low", "ci_high"]] = np.nan
        out["method"] = f"random-intercept model: {NO_SCHOOL_ESTIMATE}"
    small = out["n"] < min_n
    out.loc[small, ["estimate", "ci_low", "ci_high", "raw"]] = np.nan
    out["suppressed"] = small
    return out


# ---- words ----


def _pct(g: float) -> str:
    points = abs(float(improvement_index(g)))
    return f"about {points:.0f} percentile point{'s' if round(points) != 1 else ''}"


#: students.csv's covariates in the findings' words (a board summary read "differed ... on prior_score").
_COVARIATE_WORDS = {
    "prior_score": "prior scores",
    "english_learner": "the share of English learners",
    "disability": "the share of students with disabilities",
    "econ_disadvantaged": "the share of economically disadvantaged students",
}


def findings(
    effect: pd.Series,
    *,
    design: str = "matched",
    baseline: pd.DataFrame | None = None,
    attrition_table: pd.DataFrame | None = None,
    unit: str = "points",
    ci: float = 0.95,
    joined_before: int = 0,
) -> list[str]:
    """Plain-language sentences from an effect row and its diagnostics ("evidence, not proof").

    Never says "caused" unless ``design == "randomized"``; always gives the interval; adds a plain note
    when baseline equivalence or attrition fails, and when program schools joined before this school year
    (``joined_before``: for them the prior scores came after they joined).
    """
    g, low, high = effect["hedges_g"], effect["g_ci_low"], effect["g_ci_high"]
    direction = "higher" if g > 0 else "lower"
    compared = (
        "than students in comparison schools"
        if design == "randomized"
        else "than similar students in comparison schools"
    )
    sentence = (
        f"Students in participating schools scored {abs(g):.2f} SD {direction} ({ci:.0%} CI {low:.2f} to {high:.2f}) "
        f"{compared} - {_pct(g)}."
    )
    out = [sentence]
    if low > 0 or high < 0:
        if design == "randomized":
            out.append("Because schools were assigned by lottery, this difference can be attributed to the program.")
        else:
            out.append(
                "The difference is unlikely to be chance alone, but schools were not assigned by lottery, so it "
                "shows an association with the program, not proof that the program caused it."
            )
    else:
        out.append("The interval includes zero: the data cannot tell a benefit from no difference.")
    if baseline is not None and len(baseline):
        worst = baseline.loc[baseline["g"].abs().idxmax()]
        on = _COVARIATE_WORDS.get(worst["covariate"], str(worst["covariate"]).replace("_", " "))
        if worst["verdict"].startswith("does not"):
            out.append(
                f"Caution: the groups differed by {abs(worst['g']):.2f} SD on {on}, "
                "more than the WWC allows; the estimate may reflect who was in each group."
            )
        elif worst["verdict"].startswith("requires"):
            out.append(
                f"The groups differed by {abs(worst['g']):.2f} SD on {on}; the "
                "estimate adjusts for it, as the WWC requires."
            )
    if joined_before:
        out.append(
            f"{counted(joined_before, 'program school').capitalize()} joined the program before this school year: "
            "for their students the prior scores came after the program began, so this is one more year's growth, "
            "not the difference since they joined."
        )
    if attrition_table is not None and len(attrition_table):
        row = attrition_table.iloc[0]
        if row["cautious"] == "high attrition":
            out.append(
                f"Caution: {row['overall']:.0%} of students who started were not tested at the end "
                f"({row['differential'] * 100:.1f} points more in one group), above the WWC's cautious boundary."
            )
    return out


# ---- level 5 from each part's sums ----

#: The subgroup flags of students.csv that enter the main model when any outcome row has one.
FLAGS = ("english_learner", "disability", "econ_disadvantaged")


@dataclass(frozen=True)
class Layout:
    """What every part of the students must agree on before it is summarized (`summarize`), decided from all of them:
    which rows hold the outcome (``period == "post"``, else the latest ``year``), which groups and flags those rows
    have, whether there is a pre period (attrition) and both periods (difference-in-differences), and the point every
    part's sums are centred at (``centers``: the outcome's and the prior score's means over those rows; `ClusterSums`).

    `facts` reads one part; `Layout.of` decides from the facts of every part (one part in one process)."""

    by_period: bool
    year: object
    arms: frozenset
    flags: tuple[str, ...]
    did: bool
    attrition: bool
    columns: frozenset
    centers: tuple[tuple[str, float], ...] = ()

    @property
    def covariates(self) -> tuple[str, ...]:
        return ("prior_score", *self.flags)

    def post(self, students: pd.DataFrame) -> pd.DataFrame:
        """The outcome rows of ``students`` (`analysis_sample`, with the latest year decided over every part)."""
        if self.by_period:
            return students[students["period"] == "post"]
        return students[students["year"] == self.year]

    @classmethod
    def of(cls, found: Sequence[dict]) -> Layout:
        by_period = any(part["by_period"] for part in found)
        years = [part["year"] for part in found if part["year"] is not None]
        year = max(years) if years else None
        key = "post" if by_period else year
        described = [part["rows"][key] for part in found if key in part["rows"]]
        arms = frozenset().union(*(rows[0] for rows in described))
        flagged = set().union(*(rows[1] for rows in described))
        centers = []
        for column in ("outcome", "prior_score"):
            count = sum(rows[2].get(column, (0, 0.0))[0] for rows in described)
            total = sum(rows[2].get(column, (0, 0.0))[1] for rows in described)
            # rounded to 4 significant digits: near the mean is all centring needs, and the same point is then found
            # from any split of the students (a mean summed in another order can differ in its last digit)
            centers.append((column, float(f"{total / count:.4g}") if count else 0.0))
        periods = set().union(*(part["periods"] for part in found))
        has_period = any(part["has_period"] for part in found)
        return cls(
            by_period,
            year,
            arms,
            tuple(c for c in FLAGS if c in flagged),
            has_period and periods >= {"pre", "post"},
            has_period and "pre" in periods,
            frozenset().union(*(part["columns"] for part in found)),
            tuple(centers),
        )


def quoted_students(students: pd.DataFrame, district: District) -> pd.DataFrame:
    """The students whose ID an approved quote could name, their IDs only: all a year's evaluation reads of
    students.csv once level 5 and cost have summed it in parts (`plevaluate.results.Parts.keep`), for the quotes'
    redactor (`plevaluate.comments.themes`)."""
    ids = findable(students["student_id"].dropna().astype(str).unique(), quote_texts(district))
    return students.loc[students["student_id"].isin(ids), ["student_id"]]


def facts(students: pd.DataFrame) -> dict:
    """What one part of the students (with ``treatment``, `add_treatment`) tells `Layout.of`: whether periods are
    recorded, its periods and latest year, and for the post rows and each year's rows their groups and the flags
    with a value."""
    has_period = "period" in students
    by_period = has_period and bool(students["period"].notna().any())
    flags = [c for c in FLAGS if c in students]

    def described(rows: pd.DataFrame) -> tuple[set, set, dict]:
        known = {}
        for column in ("outcome", "prior_score"):
            if column in rows:
                values = pd.to_numeric(rows[column], errors="coerce").astype(float)
                known[column] = (int(values.notna().sum()), float(values.sum()))
        return set(rows["treatment"].unique()), {c for c in flags if rows[c].notna().any()}, known

    rows = {}
    if by_period:
        rows["post"] = described(students[students["period"] == "post"])
    elif "year" in students:
        for year, part in students.groupby("year", sort=False, observed=True):
            rows[year] = described(part)
    year = students["year"].max() if "year" in students and len(students) else None
    return {
        "has_period": has_period,
        "by_period": by_period,
        "periods": set(students["period"].dropna()) if has_period else set(),
        "year": None if pd.isna(year) else year,
        "rows": rows,
        "columns": set(students.columns),
    }


@dataclass(frozen=True)
class Model:
    """One model's sums over a part of the students: each school's `ClusterSums` (with HC1's), the outcome's
    `_arm_moments` over the same rows (the effect size's SD) and the rows left out."""

    sums: ClusterSums
    arms: np.ndarray
    missing: int

    @classmethod
    def of(cls, students: pd.DataFrame, covariates: Sequence[str], center: Mapping, hc1: bool = False) -> Model:
        data, missing = _frame_for(students, "outcome", "treatment", list(covariates), "school_id")
        names = ["treatment", *covariates]
        sums = _intercept_fit(data, "outcome", names, "school_id", hc1=hc1, center=center)
        return cls(sums, _arm_moments(data["outcome"].to_numpy(float), data["treatment"].to_numpy(float)), missing)

    @classmethod
    def combine(cls, parts: Sequence[Model]) -> Model:
        return cls(
            ClusterSums.combine([p.sums for p in parts]), sum(p.arms for p in parts), sum(p.missing for p in parts)
        )


@dataclass(frozen=True)
class StudentSums:
    """Everything level 5 needs from students.csv, as sums that two parts of the students (each student's rows in one
    part) add up to (`combine`): the models' sums (main, no covariates, prior score only, each subgroup value's,
    the change model's), the baseline covariates' moments, the ICC's and the participant schools' sums, attrition
    counts, and each school's counts of outcome rows and students. `summarize` makes them from a part; the level's
    tables follow from the combined sums alone (`outcomes_from`)."""

    main: Model | None
    plain: Model | None
    prior: Model | None
    baseline: dict
    icc: ClusterSums | None
    subgroups: dict
    did: tuple | None
    attrition: np.ndarray | None
    participants: ClusterSums | None
    schools: pd.DataFrame
    covered: np.ndarray

    @classmethod
    def combine(cls, parts: Sequence[StudentSums]) -> StudentSums:
        parts = list(parts)

        def models(field: str):
            found = [getattr(p, field) for p in parts if getattr(p, field) is not None]
            return Model.combine(found) if found else None

        def sums(found):
            found = [f for f in found if f is not None]
            return ClusterSums.combine(found) if found else None

        baseline = {}
        for part in parts:
            for covariate, (moments, binary) in part.baseline.items():
                before = baseline.get(covariate, (0.0, True))
                baseline[covariate] = (before[0] + moments, before[1] and binary)
        subgroups: dict = {}
        for part in parts:
            for key, (value, model) in part.subgroups.items():
                subgroups.setdefault(key, (value, []))[1].append(model)
        dids = [p.did for p in parts if p.did is not None]
        schools = pd.concat([p.schools for p in parts]).groupby(level=0, sort=True)
        return cls(
            models("main"),
            models("plain"),
            models("prior"),
            baseline,
            sums(p.icc for p in parts),
            {key: (value, Model.combine(found)) for key, (value, found) in subgroups.items()},
            (sums(d[0] for d in dids), sum(d[1] for d in dids), sum(d[2] for d in dids)) if dids else None,
            None if parts[0].attrition is None else sum(p.attrition for p in parts),
            sums(p.participants for p in parts),
            schools.agg({"rows": "sum", "outcomes": "sum", "students": "sum", "treatment": "first"}),
            sum(p.covered for p in parts),
        )


def summarize(students: pd.DataFrame, layout: Layout) -> StudentSums:
    """Level 5's sums of one part of the students (with ``treatment``, `add_treatment`; each student's rows all in
    this part, so that links between a student's periods stay inside it)."""
    post = layout.post(students)
    covariates = [c for c in layout.covariates if c in post]
    center = dict(layout.centers)
    effect = layout.arms == {0, 1}
    main = plain = prior = icc = did = counts = None
    baseline, subgroups = {}, {}
    if effect:
        main = Model.of(post, covariates, center, hc1=True)
        plain = Model.of(post, (), center)
        prior = Model.of(post, ("prior_score",), center)
        analytic = post.dropna(subset=["outcome", *covariates])
        t = _as_treatment(analytic["treatment"], "treatment")
        baseline = {c: _covariate_moments(analytic[c], t) for c in covariates}
        frame = post[["outcome", "school_id"]].dropna()
        icc = _intercept_fit(
            frame.assign(school_id=frame["school_id"].astype(str)), "outcome", (), "school_id", center=center
        )
        for column in [c for c in (*layout.flags, "grade") if c in post]:
            for value, part in post.groupby(column, observed=True, sort=True, dropna=False):
                subgroups[(column, "missing" if pd.isna(value) else value)] = (
                    value,
                    Model.of(part, ("prior_score",), center),
                )
        if layout.did:
            try:
                found = _did_frame(
                    students, "outcome", "treatment", "school_id", "period", ("pre", "post"), "student_id", []
                )
            except _Unlinked:  # no student of this part has both periods
                found = None
            if found is not None:
                frame, post_y, missing = found
                t = frame["treatment"].to_numpy(float)
                X = np.column_stack([np.ones(len(frame)), t])
                sums = ClusterSums.of(
                    frame["change"].to_numpy(float), X, ["intercept", "treatment"], frame["school_id"].to_numpy()
                )
                known = ~np.isnan(post_y)
                did = (sums, _arm_moments(post_y[known], t[known]), missing)
            else:
                pre, post_rows = (students["period"] == p for p in ("pre", "post"))
                did = (None, np.zeros((2, 3)), int(pre.sum() + post_rows.sum()))
        if layout.attrition:
            counts = _attrition_counts(students, "treatment", "outcome", "period", covariates)
    participants = post[post["treatment"] == 1]
    complete = participants.dropna(subset=["outcome", "prior_score", "school_id"])
    taking = _intercept_fit(complete, "outcome", ("prior_score",), "school_id", center=center)
    scored = post.dropna(subset=["outcome"])
    grouped = post.groupby("school_id", sort=True)
    schools = pd.DataFrame(
        {
            "rows": grouped.size(),
            "outcomes": grouped["outcome"].count(),
            "students": scored.groupby("school_id", sort=True)["student_id"].nunique(),
            "treatment": grouped["treatment"].first(),
        }
    )
    schools[["outcomes", "students"]] = schools[["outcomes", "students"]].fillna(0)
    covered = np.array([len(scored), scored["student_id"].dropna().nunique()], float)
    return StudentSums(main, plain, prior, baseline, icc, subgroups, did, counts, taking, schools, covered)


def _effect_table(model: Model, schools: pd.DataFrame, se: str, ci: float) -> pd.DataFrame:
    """`estimate_effect` (OLS) from a model's sums: its checks and warnings, then its rows."""
    sums = model.sums
    values = {arm for arm in (0.0, 1.0) if model.arms[int(arm), 0] > 0}
    empty = schools.index[schools["outcomes"] == 0].tolist()
    _check_counts(int(sums.n.sum()), values, sums.clusters[sums.n == 1].tolist(), empty, "treatment", "outcome")
    base = _base(model)
    fit = _fit(sums, se)
    return pd.DataFrame(_ols_rows(fit, base, list(sums.names[1:]), _sd_of(model.arms), "OLS (ANCOVA)", ci)).reindex(
        columns=_COLUMNS
    )


def _base(model: Model) -> dict:
    return {
        "level": 5,
        "n": int(model.sums.n.sum()),
        "n_treatment": int(model.arms[1, 0]),
        "n_comparison": int(model.arms[0, 0]),
        "n_clusters": len(model.sums.clusters),
        "n_missing": model.missing,
        "outcome": "outcome",
    }


def _mixed_table(model: Model, schools: pd.DataFrame, ci: float) -> pd.DataFrame:
    """`estimate_effect(model="mixed")` (a school intercept) from a model's sums."""
    sums = model.sums
    values = {arm for arm in (0.0, 1.0) if model.arms[int(arm), 0] > 0}
    empty = schools.index[schools["outcomes"] == 0].tolist()
    _check_counts(int(sums.n.sum()), values, sums.clusters[sums.n == 1].tolist(), empty, "treatment", "outcome")
    spread = sums.n[:, None] * np.diagonal(sums.xx, axis1=1, axis2=2) - sums.x**2  # n_g^2 x the within variance
    scale = np.maximum(np.abs(sums.x).max(axis=0) ** 2, 1.0)
    varying = [name for j, name in enumerate(sums.names) if j and (spread[:, j] > 1e-9 * scale[j]).any()]
    names = list(sums.names[1:])
    return pd.DataFrame(
        _mixed_rows(_reml_terms(sums), _base(model), names, varying, _sd_of(model.arms), ci, teacher=False)
    ).reindex(columns=_COLUMNS)


def outcomes_from(
    sums: StudentSums, layout: Layout, plan, schools: pd.DataFrame, *, ci: float, implementation=None
) -> tuple[dict[str, pd.DataFrame], list[str], dict]:
    """Level 5's tables, notes and handoff from the students' combined sums (`StudentSums.combine`)."""
    notes: list[str] = []
    covariates = [c for c in layout.covariates if c in layout.columns]
    flags = list(layout.flags)
    tables: dict[str, pd.DataFrame] = {}
    by_school = sums.schools
    participants = by_school[by_school["treatment"] == 1]
    with noting_warnings(notes):
        if layout.arms == {0, 1}:
            main = _effect_table(sums.main, by_school, "cluster", ci)
            tables["effect"] = main
            effect_row = main.iloc[0]
            specs = {
                # named for what the main model adjusts for (a reader's review: "and subgroup flags" with none)
                "main: prior score" + (" and subgroup flags" if flags else ""): main.iloc[[0]],
                "no covariates": _effect_table(sums.plain, by_school, "cluster", ci).iloc[[0]],
                # without subgroup flags the main model is the prior score alone: not shown twice
                **(
                    {"prior score only": _effect_table(sums.prior, by_school, "cluster", ci).iloc[[0]]} if flags else {}
                ),
                "HC1, ignoring clustering (for comparison only)": _effect_table(sums.main, by_school, "hc1", ci).iloc[
                    [0]
                ],
                "CR1 cluster-robust": _effect_table(sums.main, by_school, "cr1", ci).iloc[[0]],
                "mixed model, random school intercept": _mixed_table(sums.main, by_school, ci).iloc[[0]],
            }
            if layout.did:
                change, post_moments, missing = sums.did
                if change is None:
                    raise ValueError(
                        "model='did' needs students with both a 'pre' and a 'post' row in 'period' (matched on "
                        "student_id)"
                    )
                values = {arm for arm in (0.0, 1.0) if (change.raw_x[:, 1] == change.n * arm).any()}
                _check_counts(
                    int(change.n.sum()), values, change.clusters[change.n == 1].tolist(), [], "treatment", "change"
                )
                specs["difference-in-differences"] = _did_table(
                    change, post_moments, missing, "outcome", "cluster", ci
                ).iloc[[0]]
            tables["sensitivity"] = pd.concat(
                [frame.assign(specification=spec) for spec, frame in specs.items()], ignore_index=True
            )
            tables["baseline"] = pd.DataFrame([_baseline_row(c, *sums.baseline[c]) for c in covariates], columns=None)
            if layout.attrition:
                tables["attrition"] = _attrition_table(sums.attrition)
            icc = _icc_of(sums.icc)
            tables["icc"] = pd.DataFrame([icc])
            naive = tables["sensitivity"].iloc[3]
            corrections = []
            for label, rho in (("WWC default ICC 0.20", 0.20), ("observed ICC (REML)", icc["icc"])):
                row = clustering_correction(
                    naive["hedges_g"],
                    int(naive["n_treatment"]),
                    int(naive["n_comparison"]),
                    int(naive["n_clusters"]),
                    icc=rho,
                )
                corrections.append({"assumption": label, **row})
            tables["clustering"] = pd.DataFrame(corrections)
            tables["subgroups"] = _subgroup_family(_subgroup_tables(sums, flags, ci), UNSUPPRESSED, "treatment")
            target = main.iloc[[0]][["level", "term", "hedges_g", "g_ci_low", "g_ci_high", "n"]].rename(
                columns={"hedges_g": "estimate", "g_ci_low": "ci_low", "g_ci_high": "ci_high"}
            )
            target = target.assign(measure="hedges_g", method="Hedges' g of the main model's treatment term")
            tables["target"] = target_status(target, plan.levels.outcomes.target)
            sentences = findings(
                effect_row,
                design=plan.comparison_design,
                baseline=tables["baseline"],
                attrition_table=tables.get("attrition"),
                ci=ci,
                joined_before=joined_before(schools, plan.school_year),
            )
            tables["findings"] = pd.DataFrame({"level": 5, "finding": sentences})
        else:
            comparison = schools.loc[schools["group"] == "comparison", "school_id"]
            if layout.arms == {1} and len(comparison):
                notes.append(
                    f"the {counted(len(comparison), 'comparison school')} in schools.csv "
                    f"{'has' if len(comparison) == 1 else 'have'} no students with an "
                    "outcome in students.csv: the program's effect on students cannot be estimated"
                )
            elif not layout.arms:
                notes.append(
                    "no student has a post-period outcome in students.csv: the program's effect on students cannot be "
                    "estimated"
                )
            else:
                notes.append(
                    "no comparison group: the program's effect on students cannot be estimated; "
                    "school results are shown without a comparison"
                )
        rates = implementation
        if rates is not None and len(rates) >= 3 and participants["rows"].sum():
            try:
                tables["dose"] = _dose_table(sums.participants, rates, ci=ci)
            except ValueError as error:
                notes.append(f"dose-response not estimated: {error}")
        if (participants["rows"] > 0).sum() >= 2:
            tables["schools"] = _school_table(sums.participants, min_n=UNSUPPRESSED, ci=ci)
        scored = by_school[by_school["outcomes"] > 0]
        tables["coverage"] = coverage_table(
            tuple(sums.covered),
            scored[["outcomes", "students"]].set_axis(["records", "n_people"], axis=1),
            level=5,
        )
    main_sums = sums.main.sums if "effect" in tables else None
    tables["evidence"] = _evidence(plan, tables, main_sums, covariates, joined_before(schools, plan.school_year))
    handoff = {}
    if "effect" in tables:
        n_missing = int(tables["effect"]["n_missing"].iloc[0])
        notes.append(f"{n_missing} student(s) left out of the main model: no outcome or no prior score (new students)")
        handoff["effect"] = tables["effect"].iloc[0]  # the treatment row, both scales (the cost-effectiveness ratio)
    for model in ("effect", "sensitivity", "subgroups", "dose"):
        if model in tables and len(tables[model]):
            tables[model] = model_rows(tables[model])
    if "target" in tables:
        tables["target"] = tables["target"].rename(columns={"term": "model_term"})
    return tables, notes, handoff


def _subgroup_tables(sums: StudentSums, flags: Sequence[str], ci: float) -> list[tuple[str, pd.DataFrame]]:
    """Each subgroup column's `estimate_effect` by value (prior score adjusted), from each value's sums; a value
    that cannot be estimated (one group only, too few students) is left out, as `estimate_effect` leaves it."""
    out = []
    for column in [*flags, "grade"]:
        keys = sorted(
            (key for key in sums.subgroups if key[0] == column),
            key=lambda key: (key[1] == "missing" and pd.isna(sums.subgroups[key][0]), str(key[1])),
        )
        frames = []
        for key in keys:
            value, model = sums.subgroups[key]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                try:
                    table = _effect_table(model, pd.DataFrame({"outcomes": []}), "cluster", ci)
                except ValueError:
                    continue
            table.insert(1, column, value)
            frames.append(table)
        if frames:
            out.append((column, pd.concat(frames, ignore_index=True)))
    return out


def evaluate_outcomes(
    district: District, *, ci: float | None = None, implementation: pd.DataFrame | None = None
) -> LevelResult:
    """Level 5 for the district: the effect, its sensitivity, WWC diagnostics, subgroups, schools, findings.

    The main estimate is ANCOVA by OLS of the post outcome on treatment, the prior score and the
    subgroup flags present, with ``se="cluster"`` (CR2 with Satterthwaite df when there are fewer than
    30 schools). Treatment comes from the school's group.

    Parameters
    ----------
    implementation : DataFrame, optional
        school_id and estimate: each participant school's implementation rate (level 4's handoff
        ``latest_rates``). Without it there is no dose-response (``dose``).

    Returns
    -------
    LevelResult
        Tables: ``effect`` (all terms of the main model), ``sensitivity`` (the treatment row of each
        alternative: no covariates, prior score only, HC1 ignoring clustering, CR1, mixed model,
        difference-in-differences; ``specification`` names it), ``baseline``, ``attrition``,
        ``clustering`` (Hedges 2007 correction of the analysis that ignores clustering, at the WWC
        default ICC 0.20 and at the observed ICC), ``icc``, ``subgroups``, ``dose`` (exploratory),
        ``schools`` (participant schools, shrunk), ``target`` and ``findings`` (sentences).
    """
    name = "student learning outcomes"
    if district.students is None:
        statement = {"evidence": _evidence(district.plan, {}, None, ())}
        return LevelResult(5, name, statement, evidence=False, notes=("no student outcomes were collected",))
    plan = district.plan
    ci = plan.ci if ci is None else ci
    if 5 in district.summaries:  # summed in parts where they are (a Dask cluster)
        layout, sums = district.summaries[5]
        if isinstance(sums, ValueError):  # a data problem found in a part: reported as one found here
            raise sums
    else:
        students = add_treatment(district.students, district.schools)
        layout = Layout.of([facts(students)])
        sums = summarize(students, layout)
    meta = {
        "min_n": plan.min_n,
        "ci": ci,
        "design": plan.comparison_design,
        "covariates": [c for c in layout.covariates if c in layout.columns],
        "target": plan.levels.outcomes.target,
    }
    tables, notes, handoff = outcomes_from(sums, layout, plan, district.schools, ci=ci, implementation=implementation)
    return LevelResult(5, name, tables, tuple(dict.fromkeys(notes)), meta, handoff=handoff)


def joined_before(schools: pd.DataFrame, school_year: str) -> int:
    """How many program schools joined the program before ``school_year`` began (their ``cohort`` is an earlier
    year): their students' prior scores, the spring before, were taken after the program began there. 0 for a plan
    over several years (each year is evaluated with its own) or schools without cohorts.

    >>> schools = pd.DataFrame({"group": ["participant", "participant", "comparison"], "cohort": ["2024", "2025", ""]})
    >>> joined_before(schools, "2025-26"), joined_before(schools, "2024-25")
    (1, 0)
    """
    years = plan_years(school_year)
    if len(years) != 1 or not years[0][:4].isdigit():
        return 0
    return int((cohort_start(schools) < int(years[0][:4])).sum())


def _evidence(
    plan, tables: Mapping[str, pd.DataFrame], sums: ClusterSums | None, covariates, joined: int = 0
) -> pd.DataFrame:
    """The evidence statement (`evidence_statement`) of the study the level's tables hold, as the plan designs it
    (``sums``: each school's sums of the main model, whose schools it counts)."""
    effect = tables["effect"].iloc[0].to_dict() if "effect" in tables else None
    dose = tables["dose"].iloc[0].to_dict() if "dose" in tables and effect is None else None
    counts = {"schools_treatment": 0, "schools_comparison": 0, "groups_of_ten": 0}
    if sums is not None and effect is not None:
        treated = sums.raw_x[:, sums.names.index("treatment")] == sums.n  # a school's treatment is its group's
        counts = {
            "schools_treatment": int(treated.sum()),
            "schools_comparison": int((~treated).sum()),
            "groups_of_ten": int((sums.n >= 10).sum()),
        }
    outcomes = plan.levels.outcomes
    design = plan.comparison_design
    if design == "none" and effect is not None:  # the data have a comparison group the plan does not record
        design = "matched"
    return evidence_statement(
        design=design,
        design_note=""
        if design == plan.comparison_design
        else "plan.yml says comparison_design: none, but the data have comparison schools: reviewed as a "
        "quasi-experiment (set comparison_design)",
        effect=effect,
        baseline=tables.get("baseline"),
        attrition=tables.get("attrition"),
        covariates=covariates,
        correlational=dose,
        references=len(plan.rationale.references),
        examined=bool(outcomes.measure or outcomes.target is not None),
        sites=plan.evidence.sites,
        boundary=plan.evidence.attrition_boundary,
        lower_is_better=outcomes.target is not None and outcomes.target < 0,
        ci=plan.ci,
        joined_before=joined,
        **counts,
    )


#: The measures of a model term in the level's tables, with the columns of `estimate_effect` they come from
#: (``cox_index``: the logit model's effect size, Cox's transformation of the log odds ratio).
MODEL_MEASURES = {
    "points": ("estimate", "ci_low", "ci_high"),
    "hedges_g": ("hedges_g", "g_ci_low", "g_ci_high"),
    "cox_index": ("cox_index", "cox_ci_low", "cox_ci_high"),
}


def model_rows(fit: pd.DataFrame) -> pd.DataFrame:
    """A fitted model's table (`estimate_effect`: one row per term, both scales side by side) as the level
    publishes it: one estimate per row. Each term gets a ``points`` row (the coefficient in outcome points,
    with its se, df and p-value) and, where the term has an effect size, a ``hedges_g`` row and an
    ``improvement_index`` row (the g interval mapped through the index). ``term`` becomes ``model_term``.

    >>> fit = pd.DataFrame({"level": [5], "term": ["treatment"], "estimate": [2.0], "ci_low": [1.0],
    ...                     "ci_high": [3.0], "se": [0.5], "hedges_g": [0.2], "g_ci_low": [0.1], "g_ci_high": [0.3],
    ...                     "improvement_index": [7.9], "n": [100]})
    >>> model_rows(fit)[["model_term", "measure", "estimate"]].values.tolist()
    [['treatment', 'points', 2.0], ['treatment', 'hedges_g', 0.2], ['treatment', 'improvement_index', 7.9]]
    """
    fit = fit.rename(columns={"term": "model_term"}).reset_index(drop=True)
    scales = [c for cols in MODEL_MEASURES.values() for c in cols if c not in ("estimate", "ci_low", "ci_high")]
    base = fit.drop(columns=[c for c in (*scales, "improvement_index") if c in fit])
    keys = list(base.columns[: base.columns.get_loc("model_term") + 1])
    parts = [base.assign(measure="points", _order=0)]
    for measure, (column, low, high) in list(MODEL_MEASURES.items())[1:]:
        if column not in fit:
            continue
        size = base.assign(measure=measure, estimate=fit[column], ci_low=fit[low], ci_high=fit[high], _order=1)
        index = base.assign(
            measure="improvement_index",
            estimate=fit["improvement_index"],
            ci_low=improvement_index(fit[low]),
            ci_high=improvement_index(fit[high]),
            _order=2,
        )
        for part in (size, index):
            for name in ("se", "df", "p_value", "p_adjusted"):  # tests of the points scale, not of these
                if name in part:
                    part[name] = np.nan
        parts += [size[fit[column].notna()], index[fit[column].notna()]]
    out = pd.concat(parts).rename_axis("_row").sort_values(["_row", "_order"], kind="stable")
    out = out.drop(columns="_order").reset_index(drop=True)
    return out[[*keys, "measure", *[c for c in out.columns if c not in (*keys, "measure")]]]


def run(district: District, upstream: Mapping[int, LevelResult]) -> LevelResult:
    practice = upstream.get(4)
    return evaluate_outcomes(
        district, implementation=None if practice is None else practice.handoff.get("latest_rates")
    )


#: Whom a program school's students are compared with (`school_effects` is fitted on the program schools' students,
#: the program's average effect within its prediction): "what their prior scores predict" read as "no gain" to a
#: principal (a reader's review).
PEERS = "the program's students with the same prior scores"


def headline(result: LevelResult, cell: Cell) -> dict | None:
    """The district: the effect (Hedges' g) against the target; a program school: its students' scores
    against the program's students with the same prior scores (`PEERS`; shrunk; no target); a comparison school: not
    applicable."""
    if cell.school_id is None:
        if "target" not in result.tables:
            return cell.row(status="not yet measured", detail="no comparison group: the effect cannot be estimated")
        return from_target(result, cell)
    schools = result.tables.get("schools")
    r = school_row(schools, cell.school_id) if schools is not None and not cell.comparison else None
    if r is None:
        return cell.row(
            status="not applicable",
            detail="comparison school" if cell.comparison else "not estimated",
            measure="students' scores against the program's students with the same prior scores",
            unit="points",
        )
    status = hidden(r)
    if status:
        return cell.row(status=status, measure="points above or below prediction", unit="points")
    if pd.isna(r["estimate"]):  # no school variance (`school_effects`)
        return cell.row(
            status="not estimable",
            detail=NO_SCHOOL_ESTIMATE,
            n=r["n"],
            measure="points above or below the program's students with the same prior scores",
            unit="points",
        )
    interval = f"{float(cell.plan.get('ci', 0.95)):.0%} interval {r['ci_low']:+.1f} to {r['ci_high']:+.1f} points"
    if r["ci_low"] > 0:
        detail = f"its students scored {r['estimate']:.1f} points above {PEERS} ({interval})"
    elif r["ci_high"] < 0:
        detail = f"its students scored {-r['estimate']:.1f} points below {PEERS} ({interval})"
    else:
        detail = f"its students scored about as {PEERS} did ({r['estimate']:+.1f} points, {interval})"
    return cell.row(
        r["estimate"],
        r["ci_low"],
        r["ci_high"],
        status="no target set",
        detail=detail,
        n=r["n"],
        measure="points above or below the program's students with the same prior scores",
        unit="points",
    )
