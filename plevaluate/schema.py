"""The declared shape of every published table, and one glossary of the column names they use.

Each table is declared once, by its owner, as a `TableSpec`: each level its result tables (``Level.tables``, in
``plevaluate/levels/<key>/tables.py``), `plevaluate.chain` the chain of evidence and its sentences
(``chain.TABLES``), `plevaluate.portfolio` the portfolio's tables (``portfolio.TABLES``), `plevaluate.logic_model`
the logic model's (``logic_model.TABLES``), and this module the
tables shared modules build that have no declaration of their own (`SHARED_TABLES`: the multi-year ``extras``
that span every level, built by `plevaluate.years`, and the design check of `plevaluate.design`); a level's own
multi-year tables (``Level.years``) are declared in its ``tables.py`` as ``YEARS_TABLES``. Three kinds:

- ``measure``: one estimate per row, in a declared ``unit``, with its interval and what ``n`` counts. Every
  measure table has `MEASURE_COLUMNS` (``level, measure, unit, estimate, ci_low, ci_high, ci_level, n, n_unit,
  method``); breakdown tables add ``breakdown`` and their group columns (``school_id``, ``role``, ...), tables of
  people add ``n_people`` and ``n_missing``. `conform` fills ``unit`` (the declaration's: one for the table, or
  one per measure, `UNITS`), ``ci_level`` (the plan's interval level) and ``n_unit`` (the declaration's) so a
  reader of the CSV never has to guess what a number is in or what ``n`` counts; a table whose estimates have
  no interval (counted, not sampled) declares why (``no_interval``): its ``ci_low`` and ``ci_high`` are empty
  and its ``method`` says so.
- ``model``: a fitted comparison of the program group with the comparison group: level 2's program
  effect, and level 5's models, one estimate a row: each ``model_term`` on the ``points`` scale (with
  its se, df and p-value) and, for the treatment term, as ``hedges_g`` and ``improvement_index``; the
  counts of each group (``n_treatment``, ``n_comparison``).
- ``diagnostic``: tables with their own columns (baseline equivalence, attrition, ICC, funnel
  curve, cost lines, rubric ratings, the chain of evidence...), documented by their declaration.

Names for one concept, and one concept a name. Being in the program is a school's ``group`` (``participant`` or
``comparison``, schools.csv), an educator's ``participant`` flag (educators.csv; blank: their school's group,
`plevaluate.vocabulary.in_program`), and a student's ``treatment`` (a model term: the student's school is in the
program) -- three units, three columns, one rule. Level 4 is ``practice`` in code and in plan.yml (its package,
its plan key), "Use of the practice" to readers (``Level.name``: every heading and row uses the registry's
words), and what it measures is ``implementation_rate`` (the share of classroom visits where the practice was
seen); a report never calls the level by its measure's name.

`check` compares a table with its declaration; tests check every table of the sample evaluations, internal
and published (publishing adds ``suppressed`` and ``complementary`` to tables it protects), the chain, the
multi-year tables, the design check and a portfolio (``tests/test_schema_every_table.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = [
    "GLOSSARY",
    "MEASURE_COLUMNS",
    "PUBLISHING_COLUMNS",
    "SHARED_TABLES",
    "UNITS",
    "Copy",
    "TableSpec",
    "check",
    "conform",
]

#: The columns every measure table has.
MEASURE_COLUMNS = ("level", "measure", "unit", "estimate", "ci_low", "ci_high", "ci_level", "n", "n_unit", "method")

#: The units an estimate (with its interval and target) is in: the ``unit`` column of measure tables and of the
#: chain of evidence. The first five are the chain's headlines' (`plevaluate.results.Level.unit`).
UNITS: Mapping[str, str] = MappingProxyType(
    {
        "share": "a proportion from 0 to 1 (shown as a percentage)",
        "sd": "standard deviations: an effect size (Hedges' g, d_z, g_av) or a mean of standardized scores",
        "rating": "a rating on the instrument's own scale (a survey answer's Likert points, a rubric's 1-4)",
        "points": "score points of the assessment or student outcome",
        "dollars": "US dollars",
        "odds_ratio": "an odds ratio (1: no change; a GEE trend per month or per 10 PL hours)",
        "correlation": "a correlation coefficient, from -1 to 1",
        "coefficient": "a reliability coefficient with no unit, at most 1 (Cronbach's alpha)",
    }
)

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
    "school_name": "the school's name (schools.csv)",
    "grade_band": "the school's grade band (schools.csv: elementary, middle, high, ...)",
    "participant": "True for educators in the program (educators.csv, or their school's group)",
    "role": "the educator's role (teacher, coach, principal, ...)",
    "theme": "a theme of the codebook (codebook.yml) that open-ended answers raise",
    "theme_name": "the theme's name in words",
    "comment_id": "the comment (comments.csv) a quote comes from",
    "quote": "an approved comment's words as shown, redacted again before publishing",
    "coder_a": "the first coder compared (comment_codes.csv)",
    "coder_b": "the second coder compared",
    "agree": "decisions (comment and theme) on which the two coders agreed",
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
    "value": "the value of what the row names: a student subgroup flag's value (level 5), a design input's value "
    "(the design check)",
    "specification": "the alternative model the sensitivity row comes from",
    "covariate": "the baseline characteristic compared",
    "assumption": "the ICC assumed by the clustering correction",
    "funding_source": "who paid (Title I, Title II, general fund, ...)",
    "school_year": "the school year a cost falls in (August-July)",
    "item": "a cost line (costs.csv), or participants' time",
    # the estimate
    "measure": "what the estimate is: a code in result tables (share_at_least, mean_gain, implementation_rate; in "
    "model tables points, hedges_g or improvement_index); in the chain of evidence and the tables built from it "
    "(years_trend, the portfolio's chains) and the logic model the plan's measure in words",
    "unit": "the unit of the estimate, its interval and its target: "
    + "; ".join(f"{unit} ({meaning})" for unit, meaning in UNITS.items()),
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
    "status": "the row's judgement in words: against the target (met, not met, not conclusive, no target, ...; the "
    "chain's are plevaluate.chain.STATUSES), or, for a cost ratio, whether it is estimable ('estimable', "
    "'not estimable: ...')",
    "at_least": "True when the school's rating is at or above the plan's rating",
    "finding": "a finding in words",
    "criterion": "a criterion of the ESSA evidence review (design, attrition, baseline, confound, effect, sample, sites, "
    "setting, rationale), or tier: the tier the evidence supports",
    "number": "the criterion's number: the design's code (1 randomized, 2 comparison group, 3 correlational), "
    "overall attrition, the largest baseline difference (g), the fewest schools in a condition, the effect (points), "
    "students, sites, research references, or the tier (1-4; blank: none)",
    "requirement": "what the criterion requires, with its threshold",
    "satisfied": "whether the study satisfies the criterion: yes, no or not applicable",
    "tier": "the ESSA tier of evidence the planned design can reach at best, with the conditions it needs (level 5 of "
    "the design check; blank for the other levels)",
    "to_raise": "what would raise the tier the evidence supports (blank: nothing needed)",
    "reference": "where the criterion's threshold comes from (WWC handbook, ESSA, the Department's guidance, 34 CFR 77.1)",
    "sentence": "a sentence in words: where the scope's chain of evidence holds or breaks (sentences), or how a level "
    "changed from its first to its latest year (years_sentences)",
    "note": "a note in words",
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
    "counted": "what the denominator counts, in words (the cost ratios' n_unit in words)",
    "denominator": "the count the cost is divided by (the cost ratios' n)",
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
    "change": "latest rating minus first rating (level 3's change and flags); in the design check, what would "
    "change its verdict, in words (the same name for two things: see the design check's declaration)",
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
    "z": "the school's z score against p0 (binomial; phi is the schools' overdispersion)",
    "position": "inside, above or below the control limits",
    "phi": "the overdispersion factor of the shown schools",
    "mean_treatment": "program group mean",
    "mean_comparison": "comparison group mean",
    "sd_pooled": "pooled standard deviation",
    "verdict": "a judgement in words: the WWC baseline-equivalence verdict (level 5's baseline), whether the planned "
    "evidence can detect or confirm the target (the design check)",
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
    "source": "where the row's value comes from: a cost line's (costs.csv or participants' time), a design input's "
    "(plan.yml, a default, a roster), the logic model schedule's (the dated records read, or plan.yml)",
    "allocated": "the amount allocated to the school",
    "rule": "how the line was allocated to schools",
    "cost": "cost in dollars",
    "cost_per_participant": "cost per participating educator",
    "cost_per_student": "cost per student with an outcome",
    "total_cost": "total cost of the program",
    # the chain of evidence (plevaluate.chain)
    "scope": "what the chain row is about: 'district' or a school_id",
    "level_name": "the level's name (plevaluate.results.Level.name)",
    "question": "the level's question (Guskey), in words",
    "evidence": "what the level's evidence rests on, in words: in the chain, what was collected with the scope's "
    "counts; in the design check, what the plan expects to collect",
    "status_detail": "what the row's status means, in words (with the interval's relation to zero at level 5)",
    # over several school years (plevaluate.years) and the portfolio (plevaluate.portfolio)
    "year": "the school year the row is about ('2024-25', August to July); in years_effects_cell the spring that "
    "ends it (2025), as plevaluate.staggered counts years",
    "years": "the school years evaluated, listed ('2023-24, 2024-25'); in the logic model, as the plan names them "
    "('2023-24 to 2025-26')",
    "latest_year": "the latest school year evaluated",
    "cohort": "the school year a school's first program year is (schools.csv cohort: '2024-25')",
    "months_since_joining": "calendar months since the school joined (September of its first program year is 0; "
    "negative: its baseline)",
    "event_time": "school years since the cohort joined (0: its first program year; negative: before it)",
    "post": "True when the year is at or after the cohort's first program year",
    "schools": "schools counted in the row",
    "treated_schools": "schools already in the program that the staggered estimate uses",
    "control_schools": "schools the staggered estimate compares with (never in the program, or not yet)",
    "aggregation": "how the group-time effects are averaged (simple, cohort, event time)",
    "meaning": "what the aggregation means, in words",
    "control": "which schools the staggered estimator compares with: nevertreated or notyettreated",
    "program_id": "the program's id in the portfolio (its folder's name as a slug)",
    "program": "the program's name (plan.yml)",
    "folder": "the program's data folder in the portfolio",
    "participant_schools": "schools in the program",
    # the design check (plevaluate.design)
    "name": "the level's name, as the design check prints it",
    "target_text": "the plan's target, in words",
    "detectable": "the smallest true value the planned evidence would detect or confirm with the wanted power (a "
    "share, or an effect in SD)",
    "power": "the chance that the planned evidence detects the target (or confirms it, for a share, when the true "
    "share is the plan's margin above it)",
    "input": "a design-check input: a count from the rosters, a plan option or default, or an estimate",
    # the logic model (plevaluate.logic_model)
    "stage": "the logic model's column the box stands in: resources, activities, participants (reactions and "
    "learning), schools (organization support and classroom use) or students (student outcomes)",
    "stage_name": "the logic model's column heading, in words",
    "box": "the heading of a box of the logic model, in words (a level's, 'Budget', 'PL sessions', ...)",
    "result": "the plan's intended result of a level, in words",
    "detail": "what else a line of the logic model says, in words (the observable practice, a PL format, ...)",
    "sessions": "PL sessions (sessions.csv) in the row",
    "citation": "a reference the plan cites, as it is cited (plan.yml rationale.references)",
    "supports": "the link of the logic model the reference supports, in words",
    "url": "where to read the reference (http or https only); empty when the plan gives none",
    "when": "when the level's evidence is collected, in words",
    "first_collected": "the first month (2025-09) the level's evidence was collected, or for student outcomes the "
    "first test spring (2025); empty when only the plan says",
    "last_collected": "the last month the level's evidence was collected, or the last test spring; empty when only "
    "the plan says",
    "description": "the program's description (plan.yml)",
    "observable_practice": "the one practice walkthroughs look for in every classroom (plan.yml)",
    "summary": "the plan's rationale in words: why the activities should lead to the outcomes",
}


@dataclass(frozen=True)
class Copy:
    """A column `conform` fills with another column's values: the cost ratios' ``n`` is their ``denominator``."""

    column: str


@dataclass(frozen=True)
class TableSpec:
    """One published table's declaration.

    Attributes
    ----------
    kind : str
        ``measure``, ``model`` or ``diagnostic``.
    columns : tuple of str, or one string of names separated by spaces
        Its columns, in order (every name in `GLOSSARY`); a measure table's include `MEASURE_COLUMNS`.
    description : str
        What one row is, in words.
    n_unit : str, or a mapping measure -> str
        Measure tables: what ``n`` counts (``answers``, ``educators``, ``observations``, ``schools``, ...); a
        mapping where the table's measures count different things (the cost ratios).
    optional : tuple of str
        Columns present only with some data (a recorded Level of Use, students' subgroups, ...).
    unit : str, or a mapping measure -> str
        Measure tables: the unit of the estimates (`UNITS`): one for the table, or one per measure where the
        table holds measures on different scales (a mean rating and a share).
    filled : mapping column -> value
        Columns the computation does not write, added by `conform` with this value (a `Copy` of another
        column, or a constant: the level of a table that has no ``level`` column, its ``method``...).
    no_interval : str
        Why the table's estimates have no interval (counted, not sampled): `conform` adds ``ci_low`` and
        ``ci_high`` empty, leaves ``ci_level`` empty and ends every ``method`` with this reason.
    built_by : str
        The module that builds the table, for a table declared away from it (`SHARED_TABLES`).
    """

    kind: str
    columns: tuple[str, ...] | str
    description: str
    n_unit: str | Mapping[str, str] = ""
    optional: tuple[str, ...] | str = ()
    unit: str | Mapping[str, str] = ""
    filled: Mapping[str, object] = field(default_factory=dict)
    no_interval: str = ""
    built_by: str = ""

    def __post_init__(self) -> None:
        for name in ("columns", "optional"):  # "level breakdown school_id" reads as the table's header
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(value.split()) if isinstance(value, str) else tuple(value))
        for name in ("n_unit", "unit", "filled"):
            value = getattr(self, name)
            if not isinstance(value, str):
                object.__setattr__(self, name, MappingProxyType(dict(value)))
        if self.kind not in ("measure", "model", "diagnostic"):
            raise ValueError(f"kind {self.kind!r}: a table is a measure, model or diagnostic table")
        unknown = [c for c in self.columns if c not in GLOSSARY]
        if unknown:
            raise ValueError(f"columns not in the glossary (plevaluate.schema.GLOSSARY): {unknown}")
        if self.kind == "measure":
            missing = [c for c in MEASURE_COLUMNS if c not in self.columns]
            if missing or not self.n_unit or not self.unit:
                raise ValueError(f"a measure table needs {missing or ('n_unit' if not self.n_unit else 'unit')}")
        units = [self.unit] if isinstance(self.unit, str) else list(self.unit.values())
        strange = [u for u in units if u and u not in UNITS]
        if strange:
            raise ValueError(f"units not in plevaluate.schema.UNITS: {strange}")
        if self.unit and "unit" not in self.columns:
            raise ValueError("a table that declares a unit has a unit column")
        undeclared = [c for c in self.filled if c not in self.columns]
        undeclared += [v.column for v in self.filled.values() if isinstance(v, Copy) and v.column not in self.columns]
        if self.no_interval:
            undeclared += [c for c in ("ci_low", "ci_high", "method") if c not in self.columns]
        if undeclared:
            raise ValueError(f"filled from or into columns it does not declare: {undeclared}")

    def unit_of(self, measures: pd.Series, name: str = "unit") -> pd.Series | str:
        """The declared ``unit`` (or ``n_unit``) of each row, by its ``measures``; NaN for an undeclared measure."""
        declared = getattr(self, name)
        if isinstance(declared, str):
            return declared
        return measures.map(dict(declared)).astype(object)


def _put(frame: pd.DataFrame, spec: TableSpec, column: str, values) -> None:
    """Set ``column`` of ``frame`` (in place); a new column goes after the nearest column before it in ``spec``."""
    if column in frame:
        frame[column] = values
        return
    order = list(spec.columns)
    before = [c for c in order[: order.index(column)] if c in frame] if column in order else []
    frame.insert(frame.columns.get_loc(before[-1]) + 1 if before else 0, column, values)


def conform(frame: pd.DataFrame, spec: TableSpec | None, ci: float) -> pd.DataFrame:
    """``frame`` with its declared columns filled: the ``filled`` ones it lacks, an interval-less table's empty
    interval and its method's reason, and a measure table's ``unit``, ``ci_level`` and ``n_unit`` (set again
    on every row, hidden rows too: they say what a number is in, nothing about the people behind it).

    A table with no rows gets every declared column it lacks (a level with nothing to put in a table may hand
    over an empty frame). A value the computation wrote is never changed; conforming twice gives the same table."""
    if spec is None:
        return frame
    bare = not len(frame) and any(c not in frame for c in spec.columns if c not in spec.optional)
    if spec.kind != "measure" and not spec.filled and not spec.no_interval and not bare:
        return frame
    out = frame.copy()
    for column in spec.columns:
        if column in out:
            continue
        if column in spec.filled:
            value = spec.filled[column]
            _put(out, spec, column, out[value.column] if isinstance(value, Copy) else value)
        elif spec.no_interval and column in ("ci_low", "ci_high") or bare and column not in spec.optional:
            _put(out, spec, column, np.nan)
    if spec.no_interval and "method" in out:
        reason = f"; no interval: {spec.no_interval}"
        method = out["method"].astype(object)
        out["method"] = [m if pd.isna(m) or str(m).endswith(reason) else f"{m}{reason}" for m in method]
    if spec.kind == "measure":
        if spec.unit:
            _put(out, spec, "unit", spec.unit_of(out["measure"]))
        _put(out, spec, "ci_level", np.nan if spec.no_interval else float(ci))
        _put(out, spec, "n_unit", spec.unit_of(out["measure"], "n_unit"))
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
    if "unit" in frame and len(frame):
        strange = sorted(set(frame["unit"].dropna()) - set(UNITS))
        if strange:
            problems.append(f"units not in UNITS: {strange}")
    if spec.kind != "measure" or not len(frame) or "measure" not in frame:
        return problems
    for name in ("n_unit", "unit"):
        if not getattr(spec, name) or name not in frame:
            continue
        expected = pd.Series(spec.unit_of(frame["measure"], name), index=frame.index)
        wrong = frame[name].astype(object).ne(expected) | expected.isna()
        if wrong.any():
            found = sorted({f"{m}: {v}" for m, v in zip(frame.loc[wrong, "measure"], frame.loc[wrong, name])})
            problems.append(f"{name} is not the declared one ({', '.join(found)})")
    return problems


_YEARS = "plevaluate.years"
_DESIGN = "plevaluate.design"
_TREND = "year scope level level_name measure unit estimate ci_low ci_high target status"

#: The published tables built by shared modules that do not declare them themselves: a multi-year program's
#: ``Evaluation.extras`` that span every level (`plevaluate.years.publishable`; each level declares its own
#: multi-year tables beside its other tables, ``YEARS_TABLES`` of its ``tables.py``) and the design check's two
#: tables (`plevaluate.design.check_design`: ``DesignCheck.levels`` and ``DesignCheck.inputs``). Each names its
#: module (``built_by``).
SHARED_TABLES: Mapping[str, TableSpec] = MappingProxyType({
    "years_trend": TableSpec("diagnostic", _TREND,
                        "each level's district headline by school year, from that year's published chain of evidence",
                        built_by=_YEARS),
    "years_sentences": TableSpec("diagnostic", "level sentence",
                        "a level's change from its first to its latest year with an estimate, in words", built_by=_YEARS),
    "years_trend_schools": TableSpec("diagnostic", _TREND,
                        "each level's headline at each school by school year (years_trend for every school)",
                        built_by=_YEARS),
    "years_sentences_schools": TableSpec("diagnostic", "scope level sentence",
                        "a level's change at a school from its first to its latest year, in words", built_by=_YEARS),
    "years_about": TableSpec("diagnostic", "years",
                        "the school years evaluated (one row)", built_by=_YEARS),
    "design_levels": TableSpec("diagnostic",
                        "level name target target_text evidence detectable power verdict finding change tier",
                        "whether the planned evidence of a level can detect its target (change: what would change "
                        "the verdict, in words; tier: the ESSA tier the planned design can reach, level 5 only)",
                        built_by=_DESIGN),
    "design_inputs": TableSpec("diagnostic", "input value source",
                        "an input the design check used, and where it comes from", built_by=_DESIGN),
})  # fmt: skip
