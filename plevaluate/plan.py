"""The evaluation plan: ``plan.yml`` in a district's data folder.

Guskey plans backward: decide the student outcome first (level 5), then the
classroom practice that produces it (level 4), the organizational support it
needs (level 3), what educators must learn (level 2) and the experience that
gets them there (level 1). The plan records, for each level, the intended
result, the measure and a numeric target, plus the options every analysis
shares (``min_n`` for small-cell suppression, the comparison design, the
educator hourly rate used to cost participants' time).

Example ``plan.yml``::

    program: Math Talk
    school_year: 2025-26
    observable_practice: Students explain their reasoning to a partner
    min_n: 10
    ci: 0.95
    comparison_design: matched
    educator_hourly_rate: 48.50
    levels:
      reactions:    {result: ..., measure: ..., construct: content, rating_at_least: 4, target: 0.80}
      learning:     {result: ..., measure: ..., target: 0.50, mastery_share: 0.80}
      organization: {result: ..., measure: ..., indicator: protected_time, rating_at_least: 3, target: 1.0}
      practice:     {result: ..., measure: ..., target: 0.60, by_month: 5}
      outcomes:     {result: ..., measure: ..., target: 0.10}
    rationale:
      summary: Coaching cycles and PLCs turn the workshops' talk moves into classroom routines ...
      references:
        - citation: "Kraft, M. A., Blazar, D., & Hogan, D. (2018). The effect of teacher coaching ..."
          supports: coaching cycles -> classroom use
          url: https://doi.org/10.3102/0034654318759268

The ``rationale`` (why the activities should lead to the outcomes, and the research that says so) and the
levels' results, measures and targets are what `plevaluate.logic_model` draws the program's logic model from
(ESSA Tier 4, "demonstrates a rationale").
"""

from __future__ import annotations

import difflib
import functools
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from .errors import ContractError, ContractWarning, PlanError, Problem
from .gates import read_yaml

if TYPE_CHECKING:
    from .results import Level

__all__ = [
    "DesignOptions",
    "CommentsOptions",
    "EvidenceOptions",
    "LearningTarget",
    "Levels",
    "OrganizationTarget",
    "OutcomesTarget",
    "Plan",
    "PracticeTarget",
    "Rationale",
    "ReactionsTarget",
    "Reference",
    "for_year",
    "plan_model",
    "plan_years",
    "read_plan",
]


class _Strict(BaseModel):
    # numbers are finite (.inf and .nan are refused), and true/false is not a number (min_n: true is not 1)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value, info):
        annotation = cls.model_fields[info.field_name].annotation
        if _holds_bool(value, annotation) and not _allows_bool(annotation):
            raise ValueError("expected a number, not true/false")
        return value


def _holds_bool(value, annotation) -> bool:
    if isinstance(value, bool):
        return True
    # a mapping of numbers (targets: {2024-25: true}); a nested settings block checks its own fields
    return (
        get_origin(annotation) is dict and isinstance(value, dict) and any(isinstance(v, bool) for v in value.values())
    )


def _allows_bool(annotation) -> bool:
    if annotation is bool:
        return True
    return any(_allows_bool(arg) for arg in getattr(annotation, "__args__", ()) if arg is not type(None))


class _Target(_Strict):
    result: str = Field("", description="The intended result, in words.")
    measure: str = Field("", description="How the result is measured, in words.")
    targets: dict[str, float] = Field(
        default_factory=dict,
        description="A multi-year program's target for each school year (2024-25: 0.40), in the target's units; "
        "a year not listed uses target.",
    )

    @field_validator("targets")
    @classmethod
    def _targets_like_target(cls, targets: dict[str, float]) -> dict[str, float]:
        """Each year's target obeys the same range as ``target`` (a share stays within 0 to 1)."""
        field = cls.model_fields["target"]
        if not field.metadata:
            return targets
        check = TypeAdapter(Annotated[(field.annotation, *field.metadata)])
        wrong = []
        for year, value in targets.items():
            try:
                check.validate_python(value)
            except ValidationError as error:
                wrong.append(f"{year}: {value!r}, {error.errors()[0]['msg'].lower()}")
        if wrong:
            raise ValueError("; ".join(wrong))
        return targets

    def for_year(self, school_year: str):
        """This target as it applies in ``school_year``: ``targets[school_year]`` when given, else ``target``."""
        if school_year in self.targets:
            return self.model_copy(update={"target": self.targets[school_year]})
        return self


with warnings.catch_warnings():
    # pydantic warns that a field named "construct" shadows BaseModel.construct (a deprecated v1 method);
    # "construct" is the word the data contract uses, and the field value is what attribute access returns.
    warnings.filterwarnings("ignore", message='Field name "construct"', category=UserWarning)

    class ReactionsTarget(_Target):
        """Level 1: the share of respondents whose mean rating on ``construct`` is at least ``rating_at_least``."""

        construct: str = Field("content", description="The survey_items.csv construct the target is about.")
        rating_at_least: float = Field(4.0, description="A respondent's mean rating at or above this is favourable.")
        target: float | None = Field(None, ge=0, le=1, description="Share of respondents, 0 to 1.")


class LearningTarget(_Target):
    """Level 2: mean pre-to-post gain in SD units (g_av), and the mastery threshold as a share of the maximum score."""

    target: float | None = Field(None, description="Mean gain in standard-deviation units (g_av).")
    mastery_share: float = Field(0.8, gt=0, le=1, description="Mastery = score >= this share of max_score.")


class OrganizationTarget(_Target):
    """Level 3: the share of participant schools rated at least ``rating_at_least`` on an indicator or structure."""

    indicator: str | None = Field(None, description="The conditions.csv indicator_id the target is about.")
    structure: str | None = Field(None, description="Or a whole structure of conditions.csv (its indicators' mean).")
    rating_at_least: float = Field(3.0, ge=1, le=4, description="1 not yet, 2 emerging, 3 developing, 4 deepening.")
    target: float | None = Field(None, ge=0, le=1, description="Share of participant schools, 0 to 1.")


class PracticeTarget(_Target):
    """Level 4: the share of observed classrooms showing the practice, by a month of the school year."""

    target: float | None = Field(None, ge=0, le=1, description="Share of observations showing the practice.")
    by_month: int | None = Field(None, ge=1, le=12, description="Calendar month by which the target applies.")


class OutcomesTarget(_Target):
    """Level 5: the effect on student outcomes, in standard-deviation units (Hedges' g)."""

    target: float | None = Field(None, description="Effect size in SD units.")


class Levels(_Strict):
    reactions: ReactionsTarget = ReactionsTarget()
    learning: LearningTarget = LearningTarget()
    organization: OrganizationTarget = OrganizationTarget()
    practice: PracticeTarget = PracticeTarget()
    outcomes: OutcomesTarget = OutcomesTarget()


class Reference(_Strict):
    """A piece of research the program's logic model rests on: its citation, the link of the logic model it
    supports, and where to read it."""

    citation: str = Field(description="The reference as it is cited (author, year, title, journal or publisher).")
    supports: str = Field(
        "", description="Which link of the logic model it supports, in words, e.g. 'coaching cycles -> classroom use'."
    )
    url: str = Field(
        "", description="Where to read it (a DOI as https://doi.org/...); http:// or https:// only; empty: no link."
    )

    @field_validator("citation")
    @classmethod
    def _citation_given(cls, citation: str) -> str:
        if not citation.strip():
            raise ValueError("a citation is required: write the reference as it is cited (author, year, title)")
        return citation.strip()

    @field_validator("url")
    @classmethod
    def _web_link(cls, url: str) -> str:
        """A link a report can show as a link: http or https, a host, no spaces (never javascript:, data:, file:)."""
        url = url.strip()
        if not url:
            return url
        scheme, _, rest = url.partition("://")
        if (
            scheme.lower() not in ("http", "https")
            or not rest
            or not rest.split("/")[0]
            or re.search(r"[\s\x00-\x1f\x7f]", url)
        ):
            shown = url if len(url) <= 60 else url[:57] + "..."
            raise ValueError(
                f"{shown!r} is not a web link: a url starts with http:// or https:// and a host, with no spaces "
                "(a DOI as https://doi.org/10...); leave it empty when there is none"
            )
        return url


class Rationale(_Strict):
    """Why the program's activities should lead to its outcomes, and the research that says so (ESSA Tier 4)."""

    summary: str = Field(
        "", description="Why the activities should lead to the outcomes, in words: the program's theory of action."
    )
    references: list[Reference] = Field(
        default_factory=list,
        description="The research the logic model rests on, each with citation (required), supports (the link of "
        "the logic model it supports) and url (optional, http:// or https://).",
    )


class EvidenceOptions(_Strict):
    """How the evidence statement (`plevaluate.levels.outcomes.evidence`) reviews the level-5 study."""

    attrition_boundary: Literal["cautious", "optimistic"] = Field(
        "cautious",
        description="The WWC attrition boundary a randomized study is judged against (most WWC review protocols use "
        "the cautious one).",
    )
    sites: int = Field(
        1,
        ge=1,
        description="Sites the study covers, as 34 CFR 77.1 defines them (an LEA, a locality or a State): a "
        "district's own study is one LEA; more only when its schools are in different localities or it is pooled "
        "with another district's study.",
    )


class CommentsOptions(_Strict):
    """How open-ended answers are redacted, coded and quoted (`plevaluate.comments`)."""

    redact: list[str] = Field(
        [],
        description="Words and phrases the redaction removes from every comment besides names, e-mail addresses, "
        "phone numbers and URLs (a building's nickname, a vendor's name).",
    )
    primary_coder: str | None = Field(
        None,
        description="The coder in comment_codes.csv whose codes the reports count (by default the coder who coded "
        "the most comments); the codebook's rules code the rest.",
    )
    quotes_per_theme: int = Field(2, ge=0, le=10, description="Approved quotes shown at most per theme and report.")


class CostOptions(_Strict):
    """How the cost analysis values resources (Levin & McEwan's ingredients method)."""

    include_participant_time: bool = Field(
        True, description="Value participants' PL hours at educator_hourly_rate; false gives a budget-only view."
    )
    discount_rate: float = Field(
        0.0, ge=0, le=0.2, description="Annual rate for present values of multi-year costs (e.g. 0.03); 0: none."
    )


class DesignOptions(_Strict):
    """What `plevaluate.design.check_design` assumes about the planned evidence (``design:`` in plan.yml)."""

    assignment: Literal["cluster", "blocked"] = Field(
        "cluster",
        description="cluster: schools assigned (or matched) as a whole; blocked: within schools.csv's grade_band.",
    )
    icc: float = Field(
        0.20, gt=0, lt=1, description="Share of the outcome's variance between schools (Hedges & Hedberg 2007: ~0.2)."
    )
    r2_school: float = Field(0.0, ge=0, lt=1, description="Share of school-level variance school covariates explain.")
    r2_student: float = Field(0.0, ge=0, lt=1, description="Share of student-level variance covariates explain.")
    covariates: int = Field(0, ge=0, description="Number of school-level covariates in the outcome model.")
    students_per_school: float | None = Field(
        None, gt=0, description="Tested students per school; default: the students.csv roster."
    )
    power: float = Field(0.80, gt=0.5, lt=1, description="The chance of detecting a true effect the check asks for.")
    response_rate: float = Field(0.70, gt=0, le=1, description="Expected share of participants answering surveys.")
    pre_post_correlation: float = Field(0.5, ge=0, lt=1, description="Correlation of learning pre and post scores.")
    visits_per_teacher: int = Field(3, ge=1, le=40, description="Planned walkthroughs of each teacher.")
    visit_icc: float = Field(
        0.3, ge=0, le=1, description="Correlation of one teacher's walkthroughs (1: every visit of a teacher alike)."
    )
    margin: float = Field(
        0.10, gt=0, lt=1, description="For share targets: how far above the target the program expects to land."
    )

    def source(self, name: str) -> str:
        """Where a setting came from: the plan, or the default."""
        return f"plan: design.{name}" if name in self.model_fields_set else "default"


class ImportOptions(_Strict):
    """How ``plevaluate import`` treats partial and repeated survey responses (reported by every import)."""

    partial_responses: Literal["keep", "drop"] = Field(
        "keep",
        description="A response the respondent did not finish (Qualtrics Finished = False): keep the answers given, "
        "or drop the whole response.",
    )
    resubmissions: Literal["latest", "first", "error"] = Field(
        "latest",
        description="One person's second response to one session's survey: keep the latest, keep the first, or stop "
        "the import naming the rows.",
    )


class Plan(_Strict):
    """A validated evaluation plan. Every field but ``program`` and ``school_year`` has a default."""

    program: str = Field(description="The program's name, as reports print it.")
    school_year: str = Field(description="The school year evaluated, e.g. 2026-27.")
    description: str = Field("", description="What the program is, in a sentence or two for the board.")
    observable_practice: str = Field(
        "", description="The one practice walkthroughs look for in every classroom (level 4), in words."
    )
    min_n: int = Field(10, ge=1, description="Statistics about fewer people than this are suppressed.")
    ci: float = Field(0.95, ge=0.5, lt=1, description="Level of every confidence interval, e.g. 0.90 or 0.95.")
    date_format: Literal["auto", "MM/DD/YYYY", "DD/MM/YYYY"] = Field(
        "auto", description="How to read dates written with slashes; auto: from each column's unambiguous dates."
    )
    comparison_design: Literal["randomized", "matched", "none"] = Field(
        "matched",
        description="randomized: schools were assigned by lottery; matched: a comparison group chosen to resemble "
        "participants; none: no comparison group.",
    )
    educator_hourly_rate: float = Field(0.0, ge=0, description="Used to value participants' time in the cost analysis.")
    levels: Levels = Field(Levels(), description="Each level's intended result, its measure and its target.")
    rationale: Rationale = Field(
        Rationale(),
        description="Why the activities should lead to the outcomes, and the research behind it (the logic model's "
        "rationale, ESSA Tier 4).",
    )
    cost: CostOptions = Field(CostOptions(), description="How the cost analysis values resources.")
    comments: CommentsOptions = Field(
        CommentsOptions(), description="How open-ended answers are redacted, coded and quoted."
    )
    evidence: EvidenceOptions = Field(
        EvidenceOptions(), description="How the ESSA evidence statement reviews the student-outcome study."
    )
    imports: ImportOptions = Field(
        ImportOptions(), description="How plevaluate import treats partial and repeated survey responses."
    )

    @model_validator(mode="after")
    def _targets_in_plan_years(self):
        """A year's target names one of the plan's school years (a typo such as 2024-5 is not silently unused)."""
        years = plan_years(self.school_year)
        wrong = [
            f"levels.{key}.targets: {year}"
            for key in type(self.levels).model_fields
            for year in getattr(getattr(self.levels, key), "targets", {})  # a plugin's target model may have none
            if year not in years
        ]
        if wrong:
            raise ValueError(
                f"{'; '.join(wrong)} is not a school year of the plan (school_year {self.school_year}: "
                f"{', '.join(years)}); write the years like {years[0]}"
            )
        return self

    design: DesignOptions = Field(
        DesignOptions(), description="Assumptions of the design check (plevaluate design) before the program starts."
    )


def for_year(plan: Plan, school_year: str) -> Plan:
    """The plan as it applies in ``school_year``: that school year, and each level's target for it
    (``targets:``; a plugin level whose target model has no ``targets`` keeps its target)."""
    levels = plan.levels
    update = {
        key: getattr(levels, key).for_year(school_year)
        for key in type(levels).model_fields
        if hasattr(getattr(levels, key), "for_year")
    }
    return plan.model_copy(update={"school_year": school_year, "levels": levels.model_copy(update=update)})


def plan_years(school_year: str) -> list[str]:
    """The school years a plan's ``school_year`` names, in order: ``"2023-24 to 2025-26"`` gives three,
    ``"2025-26"`` one (the same reading as the contract's check of dates against the plan).

    >>> plan_years("2023-24 to 2025-26"), plan_years("2025-26")
    (['2023-24', '2024-25', '2025-26'], ['2025-26'])
    """
    numbers = [int(y) for y in re.findall(r"\d{4}|(?<=-)\d{2}\b", school_year)]
    if not numbers:
        return [school_year]
    first = numbers[0]
    last = max(first + 1, *(y if y > 100 else 2000 + y for y in numbers[1:]))
    return [f"{y}-{(y + 1) % 100:02d}" for y in range(first, last)]


def plan_model(levels: Iterable[Level] = ()) -> type[Plan]:
    """`Plan`, with an entry under ``levels:`` for each of ``levels`` (those a plugin added,
    `plevaluate.registry.levels`, handed in) that declares a ``target_model``; every other key there is still
    refused, with a did-you-mean."""
    added = tuple(
        (level.key, level.target_model)
        for level in levels
        if level.target_model is not None and level.key not in Levels.model_fields
    )
    return _extended(added)


@functools.lru_cache(maxsize=8)
def _extended(added: tuple) -> type[Plan]:
    if not added:
        return Plan
    fields = {key: (model, model()) for key, model in added}
    levels = create_model("Levels", __base__=Levels, **fields)
    return create_model("Plan", __base__=Plan, levels=(levels, levels()))


def _fix_for(loc: tuple, kind: str, model: type[BaseModel]) -> str:
    if kind == "extra_forbidden":
        allowed: list[str] = list(model.model_fields)
        target: type[BaseModel] = model
        for part in loc[:-1]:
            if isinstance(part, int):  # an entry of a list (rationale.references.0.cite)
                continue
            field = target.model_fields.get(str(part))
            annotation = field.annotation if field is not None else None
            if get_origin(annotation) is list:  # a list of settings blocks: its entries' keys
                annotation = annotation.__args__[0]
            if not isinstance(annotation, type) or not issubclass(annotation, BaseModel):
                break
            target = annotation
            allowed = list(target.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"{hint}Allowed here: {', '.join(allowed)}."
    if kind == "missing":
        return f"add '{loc[-1]}' to plan.yml."
    return "correct the value in plan.yml."


def read_plan(path: str | Path, levels: Iterable[Level] = ()) -> Plan:
    """Read and validate ``plan.yml``; the targets of ``levels`` added by a plugin are read too (`plan_model`).
    `plevaluate.read_plan` hands in every registered level.

    Raises
    ------
    PlanError
        Listing every problem: unknown keys (with did-you-mean), missing entries, values of the wrong type or range.
    """
    path = Path(path)
    try:
        raw = read_yaml(path, what="settings")  # the read gate: a regular file, bounded, expanded bytes too
    except PlanError:
        raise
    except ContractError as exc:
        raise PlanError(list(exc.problems), str(path.parent)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PlanError(
            [Problem(path.name, "a mapping of keys to values", "start with 'program: ...'.")], str(path.parent)
        )
    if "seed" in raw:  # plans written before 0.2 carry a seed; nothing in an evaluation is random
        raw = {k: v for k, v in raw.items() if k != "seed"}
        warnings.warn(
            ContractWarning(
                f"{path.name}: 'seed' is no longer used (no step of the evaluation is random, "
                "so every run gives the same results); remove it"
            ),
            stacklevel=2,
        )
    # YAML reads 2025-26 as a string but 2025 as an int; a school year is text either way.
    if isinstance(raw.get("school_year"), int):
        raw = {**raw, "school_year": str(raw["school_year"])}
    model = plan_model(levels)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(
                path.name,
                err["msg"].rstrip("."),
                _fix_for(tuple(err["loc"]), err["type"], model),
                column=".".join(str(p) for p in err["loc"]),
                value=None if err["type"] == "missing" or not err["loc"] else repr(err.get("input"))[:80],
            )
            for err in exc.errors()
        ]
        raise PlanError(problems, str(path.parent)) from None
