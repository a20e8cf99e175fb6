"""The declared shape of every result table, and one glossary of the column names they use.

Each level declares its tables (``Level.tables``) as `TableSpec`s. Three kinds:

- ``measure``: one estimate per row, with its interval and what ``n`` counts. Every measure table
  has `MEASURE_COLUMNS` (``level, measure, estimate, ci_low, ci_high, ci_level, n, n_unit, method``);
  breakdown tables add ``breakdown`` and their group columns (``school_id``, ``role``, ...), tables of
  people add ``n_people`` and ``n_missing``. `conform` fills ``ci_level`` (the plan's interval level)
  and ``n_unit`` (the declaration's) so a reader of the CSV never has to guess what ``n`` counts.
- ``model``: a fitted comparison of the program group with the comparison group: level 2's program
  effect, and level 5's models, one estimate a row: each ``model_term`` on the ``points`` scale (with
  its se, df and p-value) and, for the treatment term, as ``hedges_g`` and ``improvement_index``; the
  counts of each group (``n_treatment``, ``n_comparison``).
- ``diagnostic``: tables with their own columns (baseline equivalence, attrition, ICC, funnel
  curve, cost lines, rubric ratings...), documented by their declaration.

`check` compares a table with its declaration; a test checks every table of the sample evaluation,
internal and published (publishing adds ``suppressed`` and ``complementary`` to tables it protects).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

__all__ = ["GLOSSARY", "MEASURE_COLUMNS", "PUBLISHING_COLUMNS", "TableSpec", "check", "conform"]

#: The columns every measure table has.
MEASURE_COLUMNS = ("level", "measure", "estimate", "ci_low", "ci_high", "ci_level", "n", "n_unit", "method")

#: Columns publishing adds to the tables it protects (`plevaluate.privacy.publish_levels`).
PUBLISHING_COLUMNS = (
    "suppressed",
    "complementary",
    "coded",
    "bound",
    "coded_treatment",
    "coded_comparison",
)

#: Every column name used in a result table, and what it means. One name, one meaning.
GLOSSARY: Mapping[str, str] = {
    # what a row is about
    "level": "the level of evidence (0 cost, 1-5 Guskey's levels)",
    "breakdown": "which group columns the row is broken down by ('district' for none; 'school_id', 'group+month', ...)",
    "school_id": "the school (schools.csv); empty on district rows",
    "group": "the school's role in the evaluation: 'participant' (in the program) or 'comparison'",
    "participant": "True for educators in the program (educators.csv, or their school's group)",
    "role": "the educator's role (teacher, coach, principal, ...)",
    "experience_band": "years of experience, banded (new teachers under 3 years)",
    "session_id": "the PL session (sessions.csv)",
    "format": "the session's format (workshop, coaching, PLC, ...)",
    "construct": "the survey construct the items measure (content, process, context, ...)",
    "item_id": "the survey item (survey_items.csv)",
    "text": "the survey item's wording",
    "reverse_coded": "True when a lower answer is the favourable one (scored reversed)",
    "category": "an answer category (Likert point); in cost tables, the kind of resource",
    "assessment_id": "the level-2 assessment",
    "structure": "the support structure a conditions indicator belongs to (collaborative time, feedback, ...)",
    "indicator_id": "the conditions rubric indicator",
    "term": "a school term ('2025-26 fall')",
    "model_term": "a term of a fitted model (treatment, prior_score, ...): the row's coefficient or effect",
    "term_order": "the term's order (sortable)",
    "month": "a calendar month of observations ('2025-10')",
    "window": "the month or term the target is judged in",
    "hours_band": "PL hours attended, banded",
    "level_of_use": "CBAM Level of Use (0-6) recorded at the observation",
    "level_of_use_label": "the Level of Use in words",
    "predictor": "the level-3 measure correlated with implementation",
    "subgroup": "the student subgroup flag or grade the row is about",
    "value": "the subgroup's value",
    "specification": "the alternative model the sensitivity row comes from",
    "covariate": "the baseline characteristic compared",
    "assumption": "the ICC assumed by the clustering correction",
    "funding_source": "who paid (Title I, Title II, general fund, ...)",
    "school_year": "the school year a cost falls in (August-July)",
    "item": "a cost line (costs.csv), or participants' time",
    # the estimate
    "measure": "what the estimate is (share_at_least, mean_gain, implementation_rate; in model tables points, "
    "hedges_g or improvement_index)",
    "estimate": "the estimate",
    "ci_low": "lower end of the confidence interval",
    "ci_high": "upper end of the confidence interval",
    "ci_level": "the confidence level of the interval (the plan's ci, e.g. 0.95)",
    "method": "how the estimate and its interval were computed",
    "threshold": "the rating a respondent's mean must reach to count in share_at_least",
    "sd": "standard deviation of the scores behind the estimate",
    "se": "standard error",
    "df": "degrees of freedom of the test",
    "p_value": "two-sided p-value",
    "p_adjusted": "p-value adjusted for multiple subgroups (Benjamini-Hochberg)",
    "t": "t statistic ignoring clustering",
    "t_corrected": "t statistic corrected for clustering (Hedges 2007)",
    "df_corrected": "degrees of freedom after the clustering correction",
    "p_corrected": "p-value after the clustering correction",
    "deff": "design effect of the clustered observations",
    "log_odds": "the trend in log odds per month",
    "log_odds_per_hour": "the dose-response slope in log odds per PL hour",
    "se_per_hour": "standard error of log_odds_per_hour",
    "working_correlation": "GEE working correlation structure",
    "spearman_rho": "Spearman rank correlation",
    "hedges_g": "the effect in standard-deviation units (Hedges' g)",
    "g": "standardized difference (Hedges' g)",
    "g_ci_low": "lower end of the interval of g",
    "g_ci_high": "upper end of the interval of g",
    "improvement_index": "the WWC improvement index (percentile points)",
    "model": "the model fitted",
    "se_type": "the standard errors (CR2, CR1, HC1, model-based)",
    "outcome": "the outcome column of students.csv",
    "raw": "a school's unshrunk difference from prediction (points)",
    "target": "the plan's target for the estimate",
    "met": "True when the point estimate reaches the target (the status judges the interval)",
    "status": "the judgement against the target: met, not met, not conclusive, no target, ...",
    "at_least": "True when the school's rating is at or above the plan's rating",
    "finding": "a finding in words",
    "suppressed": "True when the row's estimate is not published (fewer than the plan's min_n people)",
    "complementary": "True when the row is hidden to protect a smaller group that could be worked out from it",
    "coded": "a share of people shown only as a bound: 'below' (fewer than min_n of n), 'above' (all but fewer "
    "than min_n), or 'protecting' (hidden so that a coded share is not the district's minus the others')",
    "bound": "the bound of a coded share: under it ('below') or over it ('above')",
    "coded_treatment": "the program group's yes/no baseline share, coded as 'coded' is (its mean then blank)",
    "coded_comparison": "the comparison group's yes/no baseline share, coded as 'coded' is (its mean then blank)",
    # how many
    "n": "how many units the estimate rests on; n_unit says which (answers, educators, observations, schools, ...)",
    "n_unit": "what n counts",
    "n_people": "distinct people behind the estimate (educators; students at level 5)",
    "n_missing": "units left out for a missing value",
    "records": "distinct records (survey responses, observations, ratings)",
    "count": "answers in the category",
    "share": "share of the answers (or of the cost) in the category",
    "respondents": "educators who answered the survey",
    "k": "items in the construct",
    "n_treatment": "units in the program group",
    "n_comparison": "units in the comparison group",
    "n_clusters": "schools in the model",
    "n_ratings": "ratings averaged into the row",
    "n_matched": "educators with both a pre and a post score",
    "n_missing_post": "educators with a pre score and no post score",
    "n0": "average school size used for the ICC",
    "cluster_size": "average students per school",
    "principals": "principals listed for the school",
    "sessions_attended": "sessions the school's principal(s) attended (mean over principals)",
    "participants": "participating educators",
    "students": "students with an outcome",
    "observed": "observations where the practice was seen",
    "lines": "cost lines in the row",
    "counted": "how the denominator was counted",
    "denominator": "what the cost is divided by",
    "new_students": "students with no prior score (joined during the year)",
    # level-specific
    "pre_mean_matched": "mean pre score of educators with a post score",
    "pre_mean_missing": "mean pre score of educators with no post score",
    "difference_g": "standardized difference between those two means",
    "differs": "True when the educators with no post score differ at pre",
    "first_term": "the first term the indicator was rated",
    "latest_term": "the latest term the indicator was rated",
    "first_rating": "its rating in the first term",
    "latest_rating": "its rating in the latest term",
    "terms_rated": "terms in which the indicator was rated",
    "change": "latest rating minus first rating",
    "rating": "conditions rubric rating (1 not yet - 4 deepening)",
    "latest_mean": "the school's mean rating in its latest term",
    "indicators_below": "indicators rated below the plan's rating",
    "indicators": "indicators rated",
    "share_at_least": "share of indicators at or above the plan's rating",
    "flagged": "True when the school is flagged for support",
    "reason": "why, in words",
    "p0": "the district rate the funnel compares schools with",
    "low_95": "lower 95% control limit",
    "high_95": "upper 95% control limit",
    "low_998": "lower 99.8% control limit",
    "high_998": "upper 99.8% control limit",
    "z": "the school's z score against p0 (overdispersion-adjusted)",
    "position": "inside, above or below the control limits",
    "phi": "the overdispersion factor of the shown schools",
    "mean_treatment": "program group mean",
    "mean_comparison": "comparison group mean",
    "sd_pooled": "pooled standard deviation",
    "verdict": "the WWC baseline-equivalence verdict",
    "baseline_treatment": "program students at baseline",
    "baseline_comparison": "comparison students at baseline",
    "analytic_treatment": "program students in the analysis",
    "analytic_comparison": "comparison students in the analysis",
    "attrition_treatment": "attrition in the program group",
    "attrition_comparison": "attrition in the comparison group",
    "overall": "overall attrition",
    "differential": "differential attrition (percentage points)",
    "cautious": "the verdict under the WWC cautious boundary",
    "optimistic": "the verdict under the WWC optimistic boundary",
    "icc": "intraclass correlation of the outcome within schools (REML: tau00 / (tau00 + sigma2))",
    "tau00": "variance of the school intercepts (REML, random-intercept model)",
    "sigma2": "variance of students within schools (REML, random-intercept model)",
    "icc_anova": "the one-way ANOVA estimator of the intraclass correlation",
    "estimator": "how the statistic was estimated",
    # cost
    "amount": "the cost line's amount (dollars)",
    "hours": "PL hours",
    "charged": "the amount charged to this evaluation (annualized where the plan says)",
    "source": "where the line comes from (costs.csv or participants' time)",
    "allocated": "the amount allocated to the school",
    "rule": "how the line was allocated to schools",
    "cost": "cost in dollars",
    "cost_per_participant": "cost per participating educator",
    "cost_per_student": "cost per student with an outcome",
    "total_cost": "total cost of the program",
}


@dataclass(frozen=True)
class TableSpec:
    """One result table's declaration.

    Attributes
    ----------
    kind : str
        ``measure``, ``model`` or ``diagnostic``.
    columns : tuple of str, or one string of names separated by spaces
        Its columns, in order (every name in `GLOSSARY`); a measure table's include `MEASURE_COLUMNS`.
    description : str
        What one row is, in words.
    n_unit : str
        Measure tables: what ``n`` counts (``answers``, ``educators``, ``observations``, ``schools``, ...).
    optional : tuple of str
        Columns present only with some data (a recorded Level of Use, students' subgroups, ...).
    """

    kind: str
    columns: tuple[str, ...] | str
    description: str
    n_unit: str = ""
    optional: tuple[str, ...] | str = ()

    def __post_init__(self) -> None:
        for name in ("columns", "optional"):  # "level breakdown school_id" reads as the table's header
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(value.split()) if isinstance(value, str) else tuple(value))
        unknown = [c for c in self.columns if c not in GLOSSARY]
        if unknown:
            raise ValueError(f"columns not in the glossary (plevaluate.schema.GLOSSARY): {unknown}")
        if self.kind == "measure":
            missing = [c for c in MEASURE_COLUMNS if c not in self.columns]
            if missing or not self.n_unit:
                raise ValueError(f"a measure table needs {missing or 'n_unit'}")


def conform(frame: pd.DataFrame, spec: TableSpec | None, ci: float) -> pd.DataFrame:
    """``frame`` with its declared constant columns filled: ``ci_level`` and ``n_unit`` of a measure table."""
    if spec is None or spec.kind != "measure":
        return frame
    out = frame.copy()
    for column, value in (("ci_level", float(ci)), ("n_unit", spec.n_unit)):
        if column in out:
            out[column] = value
        else:
            place = out.columns.get_loc("ci_high") + 1 if column == "ci_level" else out.columns.get_loc("n") + 1
            out.insert(place, column, value)
    return out


def check(frame: pd.DataFrame, spec: TableSpec) -> list[str]:
    """What in ``frame`` disagrees with ``spec`` (an empty list when nothing does)."""
    problems = []
    allowed = set(spec.columns) | set(PUBLISHING_COLUMNS)
    extra = [c for c in frame.columns if c not in allowed]
    missing = [c for c in spec.columns if c not in frame.columns and c not in spec.optional]
    if extra:
        problems.append(f"undeclared columns {extra}")
    if missing:
        problems.append(f"declared columns missing {missing}")
    for column in ("estimate", "ci_low", "ci_high", "ci_level", "n"):
        if (
            column in frame
            and column in spec.columns
            and len(frame)
            and not pd.api.types.is_numeric_dtype(frame[column])
        ):
            problems.append(f"{column} is not numeric ({frame[column].dtype})")
    if spec.kind == "measure" and "n_unit" in frame and len(frame) and set(frame["n_unit"].dropna()) != {spec.n_unit}:
        problems.append(f"n_unit is not '{spec.n_unit}'")
    return problems
