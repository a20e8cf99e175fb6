"""The publication gate: everything a run publishes, checked together, so no count of fewer than ``min_n``
people can be worked out by any arithmetic across it.

The property test builds districts with small subgroups and small groups at mastery (from the sample,
changed in memory), publishes them, writes down every sum the published tables obey (a breakdown's rows
add up to the district's; a flag's values add up to the effect's sample; a share of people times its n is a
count), and checks by linear algebra that no hidden count of fewer than ``min_n`` people is determined by
what is shown. The sums are taken from the full (unsuppressed) evaluation and each is checked to hold
there, so the test cannot pass on a wrong equation.
"""

from __future__ import annotations

import dataclasses
import warnings
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plevaluate
from plevaluate.privacy import SHARE_MEASURES, code_shares, publish_meta
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sample() -> plevaluate.District:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plevaluate.load(SAMPLE)


def _with(district: plevaluate.District, **tables: pd.DataFrame) -> plevaluate.District:
    return dataclasses.replace(district, tables=MappingProxyType({**district.tables, **tables}))


def _evaluate(district: plevaluate.District) -> tuple[plevaluate.Evaluation, plevaluate.Evaluation]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = plevaluate.evaluate(district)
        return full, full.publish()


# ---- the linear algebra ----


class System:
    """Unknowns (hidden counts) and equations (sums the published tables obey)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.truth: list[float] = []
        self.small: list[bool] = []
        self.rows: list[dict[int, float]] = []
        self.constants: list[float] = []
        self.shown_small: list[str] = []

    def value(self, name: str, true: float, shown: float | None, small: bool) -> tuple[int | None, float]:
        """A term: (unknown index, 0) when hidden, (None, value) when shown (a small count shown is a leak too)."""
        if shown is not None and not pd.isna(shown):
            if small:
                self.shown_small.append(f"{name} = {float(shown):g} (shown)")
            return None, float(shown)
        self.names.append(name)
        self.truth.append(float(true))
        self.small.append(bool(small))
        return len(self.names) - 1, 0.0

    def equation(self, terms: list[tuple[tuple[int | None, float], float]], truth: list[float], *, label: str) -> None:
        """sum(coefficient x term) = 0, checked on the true values first (a sum with a value the full evaluation
        does not have either, such as the share of a group with no one, is no equation)."""
        if any(pd.isna(t) for t in truth):
            return
        assert abs(sum(c * t for c, t in zip([c for _, c in terms], truth))) < 1e-6, label
        row: dict[int, float] = {}
        constant = 0.0
        for (index, known), coefficient in terms:
            if index is None:
                constant -= coefficient * known
            else:
                row[index] = row.get(index, 0.0) + coefficient
        self.rows.append(row)
        self.constants.append(constant)

    def determined(self) -> list[int]:
        """The unknowns whose value the equations fix: their unit vector lies in the row space, that is, every
        vector of the null space is 0 there (one SVD for all unknowns)."""
        if not self.names or not self.rows:
            return []
        a = np.zeros((len(self.rows), len(self.names)))
        for i, row in enumerate(self.rows):
            for j, c in row.items():
                a[i, j] = c
        _, singular, vt = np.linalg.svd(a, full_matrices=True)
        rank = int((singular > 1e-9 * max(1.0, singular.max(initial=0.0))).sum())
        null = vt[rank:].T  # columns span the null space
        if null.size == 0:
            return list(range(len(self.names)))
        return [j for j in range(len(self.names)) if np.abs(null[j]).max() < 1e-9]


def _share_count(row: pd.Series, n: str) -> float:
    return float(row["estimate"]) * float(row[n])


def _gains_equations(system: System, full: pd.DataFrame, pub: pd.DataFrame, min_n: int) -> None:
    """Level 2: a breakdown's rows add up to the district's educators, and to its educators at mastery."""
    for (assessment, measure), part in full[full["measure"].isin(["mastery_post", "mastery_pre"])].groupby(
        ["assessment_id", "measure"]
    ):
        district = part[part["breakdown"] == "district"]
        if district.empty:
            continue
        d = district.index[0]
        for breakdown, rows in part[part["breakdown"] != "district"].groupby("breakdown"):
            n_terms, k_terms, n_truth, k_truth = [], [], [], []
            for i in [d, *rows.index]:
                true_n, true_k = float(full.at[i, "n"]), _share_count(full.loc[i], "n")
                shown_n = pub.at[i, "n"]
                shown_k = pub.at[i, "estimate"] * shown_n if pd.notna(pub.at[i, "estimate"]) else None
                sign = 1.0 if i == d else -1.0
                small_k = true_k < min_n or true_n - true_k < min_n
                n_terms.append((system.value(f"gains n {breakdown} {i}", true_n, shown_n, 0 < true_n < min_n), sign))
                k_terms.append((system.value(f"gains k {measure} {breakdown} {i}", true_k, shown_k, small_k), sign))
                n_truth.append(true_n)
                k_truth.append(true_k)
            if abs(n_truth[0] - sum(n_truth[1:])) < 1e-6:  # a breakdown that covers everyone (roles may not)
                system.equation(n_terms, n_truth, label=f"{assessment} {breakdown} n")
                system.equation(k_terms, k_truth, label=f"{assessment} {measure} {breakdown} k")


def _subgroup_equations(system: System, full: plevaluate.Evaluation, pub: plevaluate.Evaluation, min_n: int):
    """Level 5: a flag's values add up to the effect's sample; a yes/no baseline mean times n is a count."""
    effect_f, effect_p = full.table(5, "effect"), pub.table(5, "effect")
    sub_f, sub_p = full.table(5, "subgroups"), pub.table(5, "subgroups")
    base_f, base_p = full.table(5, "baseline"), pub.table(5, "baseline")
    if effect_f is None or "model_term" not in effect_f or sub_f.empty or "model_term" not in sub_f:
        return
    head = effect_f.index[(effect_f["model_term"] == "treatment") & (effect_f["measure"] == "points")][0]
    rows = sub_f[(sub_f["model_term"] == "treatment") & (sub_f["measure"] == "points")]
    for flag, part in rows.groupby("subgroup"):
        for group in ("n_treatment", "n_comparison"):
            terms = [(system.value(f"effect {group}", effect_f.at[head, group], effect_p.at[head, group], False), 1.0)]
            truth = [float(effect_f.at[head, group])]
            for i in part.index:
                true = float(sub_f.at[i, group])
                name = f"subgroup {flag}={sub_f.at[i, 'value']} {group}"
                terms.append((system.value(name, true, sub_p.at[i, group], 0 < true < min_n), -1.0))
                truth.append(true)
            rest = truth[0] - sum(truth[1:])
            if abs(rest) > 1e-6:  # a value that could not be estimated has no row: its count is what is left
                terms.append((system.value(f"subgroup {flag} values without a row {group}", rest, None,
                                           0 < rest < min_n), -1.0))  # fmt: skip
                truth.append(rest)
            system.equation(terms, truth, label=f"{flag} {group}")
            yes = part[part["value"].astype(str).str.lower() == "true"]
            binary = base_f[(base_f["covariate"] == flag) & base_f["sd_pooled"].isna()]
            if len(yes) and len(binary):
                b, i = binary.index[0], yes.index[0]
                side = group.removeprefix("n_")
                true = float(base_f.at[b, f"mean_{side}"] * base_f.at[b, group])
                shown_mean = base_p.at[b, f"mean_{side}"]
                shown = shown_mean * base_p.at[b, group] if pd.notna(shown_mean) else None
                total = float(base_f.at[b, group])
                small = true < min_n or total - true < min_n
                terms = [
                    (system.value(f"baseline {flag} {side} count", true, shown, small), 1.0),
                    (
                        system.value(f"subgroup {flag}=True {group}", sub_f.at[i, group], sub_p.at[i, group], small),
                        -1.0,
                    ),
                ]
                if abs(true - float(sub_f.at[i, group])) < 1e-6:
                    system.equation(terms, [true, float(sub_f.at[i, group])], label=f"baseline {flag} {side}")


def _rates_equations(system: System, full: pd.DataFrame, pub: pd.DataFrame, min_n: int) -> None:
    """Level 4: a school's months add up to its year, its terms too; a month's schools add up to the group's
    month; a group's schools to the group. Counts: observations (n) and observations seeing the practice."""
    full = full.assign(k=(full["estimate"] * full["n"]).round())
    shown_k = pub["estimate"] * pub["n"]

    def term(i, column: str):
        true = float(full.at[i, column])
        shown = pub.at[i, "n"] if column == "n" else shown_k.get(i)
        small = float(full.at[i, "n_people"]) < min_n
        return system.value(f"rates {column} {full.at[i, 'breakdown']} {full.at[i, 'school_id']} "
                            f"{full.at[i, 'month']} {full.at[i, 'term']} {full.at[i, 'group']}", true, shown, small)  # fmt: skip

    def add(total: pd.Index, parts: pd.Index, label: str) -> None:
        if len(total) != 1 or not len(parts):
            return
        for column in ("n", "k"):
            truth = [float(full.at[total[0], column])] + [float(full.at[i, column]) for i in parts]
            if abs(truth[0] - sum(truth[1:])) < 1e-6:
                system.equation([(term(total[0], column), 1.0)] + [(term(i, column), -1.0) for i in parts], truth,
                                label=f"{label} {column}")  # fmt: skip

    by = full.groupby("breakdown")
    school = by.get_group("school_id") if "school_id" in by.groups else full.iloc[:0]
    months = by.get_group("school_id+month") if "school_id+month" in by.groups else full.iloc[:0]
    terms = by.get_group("school_id+term") if "school_id+term" in by.groups else full.iloc[:0]
    for school_id, rows in months.groupby("school_id"):
        add(school.index[school["school_id"] == school_id], rows.index, f"{school_id} months")
    for school_id, rows in terms.groupby("school_id"):
        add(school.index[school["school_id"] == school_id], rows.index, f"{school_id} terms")
    group_month = by.get_group("group+month") if "group+month" in by.groups else full.iloc[:0]
    for (group, month), rows in months.groupby(["group", "month"]):
        add(group_month.index[(group_month["group"] == group) & (group_month["month"] == month)], rows.index,
            f"{group} {month}")  # fmt: skip
    groups = by.get_group("group") if "group" in by.groups else full.iloc[:0]
    for group, rows in school.groupby("group"):
        add(groups.index[groups["group"] == group], rows.index, f"{group} schools")


def _cost_equations(system: System, full: plevaluate.Evaluation, pub: plevaluate.Evaluation, min_n: int) -> None:
    """Cost: the program schools' participants add up to the district's (the denominator of cost per participant,
    which is the total cost divided by the ratio)."""
    schools_f, schools_p = full.table(0, "schools"), pub.table(0, "schools")
    ratios_f, ratios_p = full.table(0, "ratios"), pub.table(0, "ratios")
    if schools_f is None or ratios_f is None:
        return
    r = ratios_f.index[ratios_f["measure"] == "cost_per_participant"][0]
    total = float(ratios_f.at[r, "denominator"])
    shown_ratio = ratios_p.at[r, "estimate"]
    shown_total = ratios_p.at[r, "total_cost"] / shown_ratio if pd.notna(shown_ratio) and shown_ratio else None
    terms = [(system.value("district participants", total, shown_total, 0 < total < min_n), 1.0)]
    truth = [total]
    for i in schools_f.index:
        true = float(schools_f.at[i, "participants"])
        name = f"participants {schools_f.at[i, 'school_id']}"
        terms.append((system.value(name, true, schools_p.at[i, "participants"], 0 < true < min_n), -1.0))
        truth.append(true)
    system.equation(terms, truth, label="participants")


def _float(value) -> float:
    return float(value) if pd.notna(value) else float("nan")


_KEYS = ("construct", "item_id", "measure", "assessment_id", "session_id", "format", "role", "category")


def _school_partition_equations(system: System, full: plevaluate.Evaluation, pub: plevaluate.Evaluation, min_n: int):
    """Every table with a district row and school rows: the schools' people add up to the district's (checked on
    the full data: a person counted in two schools makes no equation)."""
    for level, result in full.levels.items():
        for name, table in result.tables.items():
            people = "n_people" if "n_people" in table else None
            if people is None or not {"breakdown", "school_id"} <= set(table.columns):
                continue
            published = pub.levels[level].tables.get(name)
            if published is None or len(published) != len(table):
                continue
            keys = [c for c in _KEYS if c in table]
            rows = table[table["breakdown"].isin(["district", "school_id"])]
            for key, part in rows.groupby(keys, dropna=False, sort=False) if keys else [((), rows)]:
                district = part.index[part["breakdown"] == "district"]
                schools = part.index[part["breakdown"] == "school_id"]
                if len(district) != 1 or not len(schools):
                    continue
                truth = [_float(table.at[i, people]) for i in (district[0], *schools)]
                if any(pd.isna(t) for t in truth) or abs(truth[0] - sum(truth[1:])) > 1e-6:
                    continue
                terms = [
                    (
                        system.value(
                            f"{name} {people} {key} {table.at[i, 'school_id']}",
                            truth[j],
                            published.at[i, people],
                            0 < truth[j] < min_n,
                        ),  # fmt: skip
                        1.0 if j == 0 else -1.0,
                    )
                    for j, i in enumerate((district[0], *schools))
                ]
                system.equation(terms, truth, label=f"level {level} {name} {key}")


def _leaks(full: plevaluate.Evaluation, pub: plevaluate.Evaluation, min_n: int) -> list[str]:
    system = System()
    _school_partition_equations(system, full, pub, min_n)
    if full.table(2, "gains") is not None:  # a year with no assessment has no gains
        _gains_equations(system, full.table(2, "gains"), pub.table(2, "gains"), min_n)
    if full.table(5, "subgroups") is not None:
        _subgroup_equations(system, full, pub, min_n)
    if full.table(4, "rates") is not None:
        _rates_equations(system, full.table(4, "rates"), pub.table(4, "rates"), min_n)
    _cost_equations(system, full, pub, min_n)
    solved = [f"{system.names[j]} = {system.truth[j]:g}" for j in system.determined() if system.small[j]]
    return sorted(set(system.shown_small)) + solved


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    learners=st.integers(0, 6),
    flag=st.sampled_from(["english_learner", "disability"]),
    group=st.sampled_from(["comparison", "participant"]),
    at_mastery=st.integers(0, 6),
    school=st.sampled_from(["S01", "S02", "S05"]),
    thin=st.integers(1, 6),
    pilot=st.one_of(st.none(), st.integers(1, 14)),
    seed=st.integers(0, 2**16),
)
def test_no_hidden_count_of_people_is_solvable(sample, learners, flag, group, at_mastery, school, thin, pilot, seed):
    rng = np.random.default_rng(seed)
    students = sample.students.copy()
    in_group = students["school_id"].map(sample.schools.set_index("school_id")["group"]).eq(group)
    students.loc[in_group, flag] = False
    analysed = in_group & students["period"].eq("post") & students["outcome"].notna()  # in the effect's sample
    chosen = rng.choice(np.flatnonzero(analysed.to_numpy()), size=learners, replace=False)
    students.loc[students.index[chosen], flag] = True
    learning = sample.learning.copy()
    staff = set(sample.educators.loc[sample.educators["school_id"] == school, "educator_id"])
    post = learning["occasion"].eq("post") & learning["educator_id"].isin(staff)
    ceiling = learning["max_score"].astype(float)
    learning.loc[post, "score"] = np.minimum(learning.loc[post, "score"].astype(float), 0.5 * ceiling[post])
    picked = rng.choice(np.flatnonzero(post.to_numpy()), size=min(at_mastery, int(post.sum())), replace=False)
    learning.loc[learning.index[picked], "score"] = ceiling.iloc[picked].to_numpy()
    # a thin month: only ``thin`` of the school's teachers observed in its second month
    observations = sample.observations.copy()
    month = observations["date"].dt.strftime("%Y-%m")
    second = sorted(month[observations["school_id"] == school].unique())[1]
    cell = (observations["school_id"] == school) & (month == second)
    keep = set(rng.permutation(observations.loc[cell, "educator_id"].unique())[:thin])
    observations = observations[~cell | observations["educator_id"].isin(keep)]
    tables = {"students": students, "learning": learning, "observations": observations}
    if pilot is not None:  # a small program: ``pilot`` participating educators in two schools
        educators = sample.educators.copy()
        educators["participant"] = pd.array([False] * len(educators), dtype="boolean")
        chosen = rng.permutation(np.flatnonzero(educators["school_id"].isin([school, "S03"]).to_numpy()))[:pilot]
        educators.loc[educators.index[chosen], "participant"] = True
        tables["educators"] = educators
    full, pub = _evaluate(_with(sample, **tables))
    assert _leaks(full, pub, pub.min_n) == []


@pytest.mark.slow
def test_the_old_subgroup_leak_is_closed(sample):
    """3 English learners in the comparison sample: n_comparison of the effect minus the shown 'False' row gave 3,
    and the baseline table's share times n gave 3 again."""
    students = sample.students.copy()
    comparison = students["school_id"].map(sample.schools.set_index("school_id")["group"]).eq("comparison")
    students.loc[comparison, "english_learner"] = False
    analysed = comparison & students["period"].eq("post") & students["outcome"].notna()
    students.loc[students.index[np.flatnonzero(analysed.to_numpy())[:3]], "english_learner"] = True
    full, pub = _evaluate(_with(sample, students=students))
    assert full.table(5, "effect")["n_comparison"].iloc[0] - full.table(5, "subgroups").query(
        "subgroup == 'english_learner' and value == 'False'"
    )["n_comparison"].iloc[0] in (0, 3)
    subgroups = pub.table(5, "subgroups")
    learners = subgroups[subgroups["subgroup"] == "english_learner"]
    assert learners["suppressed"].all() and learners["n_comparison"].isna().all()
    assert learners["complementary"].any()  # the 'False' row is hidden to protect the 'True' row
    baseline = pub.table(5, "baseline").set_index("covariate").loc["english_learner"]
    assert pd.isna(baseline["mean_comparison"]) and pd.isna(baseline["g"]) and baseline["coded_comparison"] == "below"
    assert _leaks(full, pub, pub.min_n) == []


@pytest.mark.slow
def test_a_small_program_has_no_cost_per_participant(sample):
    """A 6-person pilot: "$397,063 ... $66,177 per participating educator" was 6 people; the ratio's denominator
    printed it too. Both are hidden; the total cost stays."""
    educators = sample.educators.copy()
    educators["participant"] = pd.array([False] * len(educators), dtype="boolean")
    pilot = educators.index[educators["school_id"].eq("S01")][:6]
    educators.loc[pilot, "participant"] = True
    _, pub = _evaluate(_with(sample, educators=educators))
    ratios = pub.table(0, "ratios").set_index("measure")
    row = ratios.loc["cost_per_participant"]
    assert bool(row["suppressed"]) and pd.isna(row["estimate"]) and pd.isna(row["denominator"])
    assert row["total_cost"] > 0
    schools = pub.table(0, "schools")
    assert schools["participants"].isna().all() and schools["cost_per_participant"].isna().all()


@pytest.mark.slow
def test_shares_with_fewer_than_min_n_on_one_side_are_coded(sample):
    """NCES SLDS Technical Brief 3 (2010), top and bottom coding of percentages, with bounds from min_n:
    no published share of people times its n is a count below min_n, on either side."""
    _, pub = _evaluate(sample)
    min_n = pub.min_n
    checked = 0
    for number, result in pub.levels.items():
        for name, table in result.tables.items():
            if "measure" not in table or "estimate" not in table:
                continue
            n = "n_people" if "n_people" in table else "n" if "n" in table else None
            if n is None:
                continue
            rows = table[table["measure"].isin(SHARE_MEASURES) & table["estimate"].notna() & table[n].notna()]
            count = rows["estimate"] * rows[n]
            whole = (count - count.round()).abs() < 1e-6
            k, size = count[whole].round(), rows.loc[whole.index[whole], n]
            assert not ((k < min_n) | (size - k < min_n)).any(), (
                number,
                name,
                rows[whole][(k < min_n) | (size - k < min_n)],
            )
            checked += int(whole.sum())
            if "coded" in table:
                coded = table[table["coded"].isin(["below", "above"])]
                assert coded["estimate"].isna().all() and coded["ci_low"].isna().all()
    assert checked > 20  # the check saw real shares of people


def test_one_coded_share_in_a_breakdown_is_never_alone():
    """A school's count would be the district's minus the others': a second row is hidden with it."""
    table = pd.DataFrame(
        {
            "breakdown": ["district", "school_id", "school_id", "school_id"],
            "measure": "mastery_post",
            "estimate": [0.3, 0.05, 0.5, 0.4],
            "ci_low": 0.0,
            "ci_high": 1.0,
            "n": [100.0, 20.0, 40.0, 40.0],
        }
    )
    out = code_shares(table, "n", 10, within=("breakdown",))
    assert out["coded"].tolist()[1:] == ["below", "protecting", pd.NA] or out["coded"].tolist()[1:3] == [
        "below",
        "protecting",
    ]
    assert out["estimate"].isna().tolist() == [False, True, True, False]


@pytest.mark.slow
def test_a_target_month_hidden_in_the_rates_is_hidden_in_the_target(sample):
    """Level 4: S05's May was hidden in the rates (to protect a smaller group) and printed in the target."""
    _, pub = _evaluate(sample)
    rates, target = pub.table(4, "rates"), pub.table(4, "target")
    months = rates[rates["breakdown"] == "school_id+month"].set_index(["school_id", "month"])["suppressed"]
    for row in target[target["breakdown"] == "school_id"].itertuples():
        if (row.school_id, row.window) in months.index and bool(months.loc[(row.school_id, row.window)]):
            assert bool(row.suppressed) and pd.isna(row.estimate), row.school_id


@pytest.mark.slow
def test_a_count_of_educators_without_a_post_score_hidden_in_the_gains_is_hidden_in_the_target(sample):
    """Level 2: the count of educators with no post score was blanked below min_n in the gains and the missing-data
    table, and printed in the target (S01: 4; a reader's review of a three-year sample: 5 at the district)."""
    _, pub = _evaluate(sample)
    for name in ("gains", "target"):
        shown = pub.table(2, name)["n_missing"].dropna()
        assert not ((shown >= 1) & (shown < pub.min_n)).any(), (name, shown.tolist())


@pytest.mark.slow
def test_the_principals_mean_is_shown_as_each_principal_is(sample):
    """Every principal's participation is published school by school; the mean of the program's principals was
    hidden (too few people) yet equal to the mean of the published values. It is shown, and agrees."""
    _, pub = _evaluate(sample)
    roles = pub.table(3, "roles")
    row = roles[(roles["role"] == "principal") & roles["participant"].astype(bool)].iloc[0]
    principals = pub.table(3, "principals")
    program = sample.schools.loc[sample.schools["group"] == "participant", "school_id"]
    mine = principals[principals["school_id"].isin(program)]
    assert not bool(row["suppressed"])
    assert row["estimate"] == pytest.approx(mine["estimate"].mean())


def test_counts_in_a_levels_meta_are_published_only_at_min_n():
    assert publish_meta({"answers": 60, "respondents": 6, "ci": 0.95}, 10) == {
        "answers": None,
        "respondents": None,
        "ci": 0.95,
    }
    assert publish_meta({"answers": 600, "respondents": 60}, 10) == {"answers": 600, "respondents": 60}


@pytest.mark.slow
def test_no_hidden_count_is_solvable_in_any_year_of_a_multi_year_program():
    """Each school year of a multi-year program is published as its own evaluation (the year-by-year tables are
    built from those published years): the same sums, year by year, with a thin month planted in each year."""
    from plevaluate.years import evaluated_years, year_view

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        district = plevaluate.load(SAMPLE.parent / "sample-years")
    observations = district.observations.copy()
    month = observations["date"].dt.strftime("%Y-%m")
    for first in sorted(month.str[:4].unique()):  # one thin month in every year: two teachers observed
        cell = (observations["school_id"] == "S01") & (month == f"{first}-10")
        keep = set(observations.loc[cell, "educator_id"].unique()[:2])
        observations = observations[~cell | observations["educator_id"].isin(keep)]
        month = observations["date"].dt.strftime("%Y-%m")
    district = _with(district, observations=observations)
    years = evaluated_years(district)
    assert len(years) == 3
    for year in years:
        full, pub = _evaluate(year_view(district, year))
        assert _leaks(full, pub, pub.min_n) == [], year


@pytest.mark.slow
def test_the_portfolio_publishes_nothing_its_programs_do_not(sample):
    """The portfolio is built from each program's published results: every cost figure it shows is one of the
    program's published cost figures, every chain estimate one of the program's published chain estimates, and its
    funding sums the program's published lines. So it adds no sum to solve from: a pilot's hidden cost per
    participant stays hidden in the portfolio."""
    from pathlib import Path

    from plevaluate.portfolio import portfolio_from

    educators = sample.educators.copy()
    educators["participant"] = pd.array([False] * len(educators), dtype="boolean")
    educators.loc[educators.index[educators["school_id"].eq("S01")][:6], "participant"] = True
    _, pilot = _evaluate(_with(sample, educators=educators))
    _, whole = _evaluate(sample)
    portfolio = portfolio_from([(Path("pilot"), pilot), (Path("whole"), whole)])
    for program, ev in (("pilot", pilot), ("whole", whole)):
        costs = portfolio.costs[portfolio.costs["program_id"] == program].set_index("measure")
        published = pd.concat([ev.table(0, "ratios"), ev.table(0, "effectiveness")]).set_index("measure")
        for measure, row in costs.iterrows():
            mine = published.loc[measure, "estimate"]
            assert (pd.isna(row["estimate"]) and pd.isna(mine)) or row["estimate"] == pytest.approx(mine), measure
        chain = portfolio.chains[portfolio.chains["program_id"] == program]
        shown = set(ev.chain["estimate"].dropna().round(9))
        assert set(chain["estimate"].dropna().round(9)) <= shown
    pilot_costs = portfolio.costs[portfolio.costs["program_id"] == "pilot"].set_index("measure")
    assert pd.isna(pilot_costs.loc["cost_per_participant", "estimate"])


def test_the_solver_tells_determined_from_free_unknowns():
    """x + y = 5 fixes neither; x + y = 5 with x - y = 1 fixes both; z = 3 fixes z alone (the check above relies on it)."""
    system = System()
    x, y, z = (system.value(n, t, None, True) for n, t in (("x", 3), ("y", 2), ("z", 3)))
    system.equation([(x, 1.0), (y, 1.0), ((None, 5.0), -1.0)], [3, 2, 5], label="x + y")
    assert system.determined() == []
    system.equation([(z, 1.0), ((None, 3.0), -1.0)], [3, 3], label="z")
    assert system.determined() == [2]
    system.equation([(x, 1.0), (y, -1.0), ((None, 1.0), -1.0)], [3, 2, 1], label="x - y")
    assert system.determined() == [0, 1, 2]


@pytest.mark.parametrize("folder", ["sample", "sample-years"])
def test_evaluating_straight_to_published_equals_publishing_the_internal_store(folder):
    """``evaluate(district, publish=True)`` (each level's internal tables let go as its published ones exist: what a
    cluster's year task and every one-process year run) publishes exactly what ``evaluate(district).publish()``
    does: every table, note and meta, the chain and its sentences."""
    from plevaluate.years import evaluated_years, year_view

    district = plevaluate.load(SAMPLE.parent / folder)
    years = evaluated_years(district)
    view = year_view(district, years[-1]) if len(years) > 1 else district
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, straight = plevaluate.evaluate(view).publish(), plevaluate.evaluate(view, publish=True)
    assert straight.published and list(straight.levels) == list(expected.levels)
    for number, result in expected.levels.items():
        got = straight.levels[number]
        assert (got.notes, got.meta, list(got.tables)) == (result.notes, result.meta, list(result.tables))
        for name, table in result.tables.items():
            pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)
    for name in ("chain", "sentences", "schools"):
        pd.testing.assert_frame_equal(getattr(straight, name), getattr(expected, name), check_exact=True)
    assert straight.plan == expected.plan
