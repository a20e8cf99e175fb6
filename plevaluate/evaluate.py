"""Evaluate once: all five levels for the district and every school, and the chain of evidence.

`evaluate` runs each level's runner (which already computes every school in one pass), links the
levels (level 4's implementation rates feed level 5's dose-response), and builds the chain of
evidence: for the district and each school, one row per Guskey level with the evidence collected,
the headline estimate and interval, the plan's target and a status, plus a sentence naming the
first level where the chain breaks.

`Evaluation.save` writes every table as CSV with a manifest (dtypes, notes, provenance) and
`Evaluation.load` reads it back exactly, so reports never recompute a statistic.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ._outputs import is_ours, mark, neutralize, restore
from .contract import District
from .cost import evaluate_cost
from .learning import evaluate_learning
from .organization import evaluate_organization
from .outcomes import evaluate_outcomes
from .practice import evaluate_practice, practice_users, prepare_observations
from .privacy import format_n, publish_levels
from .reactions import evaluate_reactions
from .results import HIDDEN_STATUSES, LevelResult, Note

__all__ = ["LEVELS", "STATUSES", "Evaluation", "chain_of_evidence", "chain_sentence", "evaluate"]

#: Guskey's five levels: number -> (short name, the question the level answers).
LEVELS = {
    0: ("Resources", "What did the program cost, and who paid for it?"),
    1: ("Reactions", "Did participants find the learning useful and well run?"),
    2: ("Learning", "Did participants gain the intended knowledge and skills?"),
    3: ("Organization support", "Did the organization support the change?"),
    4: ("Use of the practice", "Are educators using the practice in classrooms?"),
    5: ("Student outcomes", "Did students benefit?"),
}

#: The status a chain-of-evidence row can have.
STATUSES = (
    "met",
    "not met",
    "not conclusive",
    "not yet measured",
    "too few people to report",
    "hidden to protect a smaller group",
    "no target set",
    "not applicable",
    "not estimable",
    "reported",
)

MANIFEST = "manifest.json"


def _version() -> str:
    from . import __version__

    return __version__


@dataclass(frozen=True)
class Evaluation:
    """Every result of one evaluation run, ready to save and to render.

    Attributes
    ----------
    levels : Mapping[int, LevelResult]
        Levels 1-5 (and ``0`` for cost when computed).
    chain : DataFrame
        `chain_of_evidence`: scope (``district`` or a school_id), level, ... , status.
    sentences : DataFrame
        scope, sentence: where each chain breaks, in words.
    schools : DataFrame
        school_id, school_name, group and the other schools.csv columns (names of organizations).
    plan : dict
        The plan as evaluated.
    provenance : dict
        plevaluate version, data file SHA-256 hashes, evaluation date, seed.
    published : bool
        False for the internal store (`evaluate`: every statistic on the full data); True once
        `publish` has applied suppression, as everything that leaves the machine must be.
    """

    levels: Mapping[int, LevelResult]
    chain: pd.DataFrame
    sentences: pd.DataFrame
    schools: pd.DataFrame
    plan: dict
    provenance: dict = field(default_factory=dict)
    published: bool = False

    def publish(self) -> Evaluation:
        """The evaluation as it may leave the machine: small-cell and complementary suppression applied once,
        to every table, with the chain of evidence, its sentences and the notes rebuilt from what is shown
        (`plevaluate.privacy.publish_levels`). Statistics are not recomputed."""
        if self.published:
            return self
        levels, _ = publish_levels(self.levels, self.min_n)
        levels = _normalized(levels)
        chain, sentences = _chain(levels, self.schools, self.plan)
        return replace(self, levels=levels, chain=chain, sentences=sentences, published=True)

    def notes(self, scope: str = "district", levels: Iterable[int] = (0, 1, 2, 3, 4, 5)) -> pd.DataFrame:
        """The notes a report about ``scope`` prints: level, scope, kind, text.

        ``"district"``: every note, a school's own notes named by the school; a school_id: the
        district-wide notes and that school's own, never another school's.
        """
        rows = []
        for level in levels:
            result = self.levels.get(level)
            if result is None:
                continue
            for note in result.notes:
                if scope == "district" or note.scope in ("district", scope):
                    text = str(note)
                    if scope == "district" and note.scope != "district":
                        text = f"{self.school_name(note.scope)}: {text}"
                    rows.append({"level": level, "scope": note.scope, "kind": note.kind, "text": text})
        return pd.DataFrame(rows, columns=["level", "scope", "kind", "text"])

    def __getitem__(self, level: int) -> LevelResult:
        return self.levels[level]

    def table(self, level: int, name: str) -> pd.DataFrame | None:
        """One result table, or None when the level has no such table (no evidence collected)."""
        result = self.levels.get(level)
        return None if result is None else result.tables.get(name)

    def school_name(self, school_id: str) -> str:
        names = self.schools.set_index("school_id")["school_name"]
        return str(names.get(school_id, school_id))

    @property
    def min_n(self) -> int:
        return int(self.plan.get("min_n", 10))

    def save(self, folder: str | Path) -> Path:
        """Write every table (CSV) and a manifest to ``folder``, replacing it atomically.

        An existing ``folder`` is replaced only when plevaluate wrote it (its marker or manifest);
        anything else is refused, never removed. Text cells that a spreadsheet would run as a
        formula are neutralized in the CSVs (`plevaluate._outputs.neutralize`) and restored by `load`.
        """
        folder = Path(folder)
        if folder.is_symlink() or folder.exists() and not is_ours(folder):
            raise ValueError(f"{folder} exists and was not written by plevaluate: it is never replaced or "
                             "removed; choose another folder")  # fmt: skip
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = mark(Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent)))
        staging.chmod(0o755)  # readable like the reports beside it (mkdtemp makes it private)
        manifest: dict = {"levels": {}, "plan": self.plan, "provenance": self.provenance, "published": self.published}
        frames = {"chain": self.chain, "sentences": self.sentences, "schools": self.schools}
        manifest["frames"] = {name: _write(frame, staging / f"{name}.csv") for name, frame in frames.items()}
        for number, result in self.levels.items():
            entry = {"name": result.name, "notes": [n.as_dict() for n in result.notes], "meta": _jsonable(result.meta),
                     "evidence": result.evidence, "tables": {}}  # fmt: skip
            for name, frame in result.tables.items():
                entry["tables"][name] = _write(frame, staging / f"level{number}_{name}.csv")
            manifest["levels"][str(number)] = entry
        (staging / MANIFEST).write_text(json.dumps(_jsonable(manifest), indent=1, sort_keys=True))
        if folder.exists():
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old)
        else:
            staging.rename(folder)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Evaluation:
        """Read an evaluation written by `save` (dtypes restored: IDs stay strings)."""
        folder = Path(folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        frames = {name: _read(folder / f"{name}.csv", spec) for name, spec in manifest["frames"].items()}
        levels = {}
        for number, entry in manifest["levels"].items():
            tables = {name: _read(folder / f"level{number}_{name}.csv", spec) for name, spec in entry["tables"].items()}
            notes = tuple(Note.from_value(n, int(number)) for n in entry["notes"])
            levels[int(number)] = LevelResult(int(number), entry["name"], tables, notes, entry["meta"],
                                              entry["evidence"])  # fmt: skip
        return cls(levels, frames["chain"], frames["sentences"], frames["schools"], manifest["plan"],
                   manifest["provenance"], bool(manifest.get("published", False)))  # fmt: skip


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path | datetime):
        return str(value)
    return value


def _normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every column a dtype that survives a CSV round trip: object columns holding only booleans
    become ``boolean``; other object columns become ``string`` with empty strings as missing."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or str(values.dtype) in ("str", "string"):
            present = values.dropna()
            if len(present) and present.map(lambda v: isinstance(v, bool | np.bool_)).all():
                out[column] = values.astype("boolean")
            else:
                text = values.astype("string")
                out[column] = text.mask(text == "")
    return out


def _write(frame: pd.DataFrame, path: Path) -> dict:
    neutralize(frame).to_csv(path, index=False, lineterminator="\n")
    return {"file": path.name, "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()}}


def _read(path: Path, spec: dict) -> pd.DataFrame:
    dtypes = spec["dtypes"]
    text = {c for c, t in dtypes.items() if t in ("object", "string", "str", "category")}
    frame = restore(pd.read_csv(path, dtype={c: "string" for c in text}, keep_default_na=True))
    for column, dtype in dtypes.items():
        if column not in frame or column in text:
            continue
        if dtype == "bool":
            frame[column] = (
                frame[column].astype(bool) if frame[column].notna().all() else frame[column].astype("boolean")
            )
        elif dtype in ("boolean", "Int64", "Float64"):
            frame[column] = frame[column].astype(dtype)
        elif dtype.startswith(("int", "float")):
            frame[column] = frame[column].astype(dtype) if frame[column].notna().all() else frame[column].astype(float)
    return frame


# ---- chain of evidence ----

#: Conditions rubric ratings in words.
RATING_WORDS = {1: "not yet", 2: "emerging", 3: "developing", 4: "deepening"}

#: What each status means, in plain words (reports print these beside the badges).
STATUS_MEANINGS = {
    "met": "the whole interval is at or above the target",
    "not met": "the whole interval is below the target",
    "not conclusive": "the interval includes the target: the data cannot tell whether it was met",
    "too few people to report": "fewer people than the reporting minimum",
    "hidden to protect a smaller group": "hidden so that a smaller group's result cannot be worked out",
    "no target set": "the plan sets no target for this level",
    "not yet measured": "no evidence was collected",
    "not applicable": "not part of the program",
    "not estimable": "too little data for an estimate",
    "reported": "reported without a target",
}


def _status(status: str) -> str:
    return {"no target": "no target set"}.get(status, status)


def _row(scope, level, evidence, measure, unit, estimate=np.nan, low=np.nan, high=np.nan, target=np.nan,
         status="not yet measured", detail="", n=np.nan):  # fmt: skip
    return {"scope": scope, "level": level, "level_name": LEVELS[level][0], "question": LEVELS[level][1],
            "evidence": evidence, "measure": measure, "unit": unit, "estimate": estimate, "ci_low": low,
            "ci_high": high, "target": target, "n": n, "status": status, "status_detail": detail or status}  # fmt: skip


def _detail(status: str, level: int, low: float, high: float) -> str:
    detail = STATUS_MEANINGS.get(status, status)
    if level == 5 and status in ("met", "not met", "not conclusive") and pd.notna(low) and low <= 0 <= high:
        detail += "; the interval also includes zero: the data cannot tell a benefit from no difference"
    return detail


def _from_target(scope, level, table, key, evidence, measure, unit):
    if table is None:
        return _row(scope, level, evidence, measure, unit)
    rows = table[table["breakdown"] == "district"] if key is None else table[table["school_id"] == key]
    if rows.empty:
        return None
    r = rows.iloc[0]
    n = r.get("n_people", r.get("n", np.nan))
    status = _status(str(r["status"]))
    low, high = r.get("ci_low", np.nan), r.get("ci_high", np.nan)
    return _row(scope, level, evidence, measure, unit, r["estimate"], low, high, r["target"], status,
                _detail(status, level, low, high), n)  # fmt: skip


#: What each level's evidence is, in words, with a scope's counts (`_evidence`).
_EVIDENCE_WORDS = {
    1: "{records} survey responses from {people} educators",
    2: "pre/post assessments of {people} educators",
    3: "{records} conditions ratings, with principal participation and the staff survey",
    4: "{records} classroom observations of {people} educators",
    5: "scores of {people} students, with prior scores",
}
_EVIDENCE_HIDDEN = {
    1: "survey responses: how many, and from how many educators, not shown (protects a smaller group)",
    2: "pre/post assessments: the number of educators not shown (protects a smaller group)",
    4: "classroom observations: how many, and of how many educators, not shown (protects a smaller group)",
    5: "student scores: the number of students not shown (protects a smaller group)",
}


def _evidence(level: int, result: LevelResult | None, key: str | None, min_n: int) -> str:
    """What a scope's evidence at ``level`` rests on, with that scope's own counts."""
    if result is None or not result.evidence:
        return "no evidence collected"
    table = result.tables.get("coverage")
    if table is None:
        return "no evidence collected"
    rows = table[table["breakdown"] == "district"] if key is None else table[table["school_id"] == key]
    if rows.empty:
        return "no evidence collected at this school"
    r = rows.iloc[0]
    if bool(r.get("suppressed", False)) and bool(r.get("complementary", False)):
        return _EVIDENCE_HIDDEN[level]
    people = format_n(r["n_people"], min_n) if pd.notna(r["n_people"]) else f"<{min_n}"
    records = "some" if pd.isna(r["records"]) else f"{int(r['records']):,}"  # hidden with a small group's count
    return _EVIDENCE_WORDS[level].format(records=records, people=people)


def chain_of_evidence(levels: Mapping[int, LevelResult], schools: pd.DataFrame, plan: dict) -> pd.DataFrame:
    """One row per scope (the district, then each school) and Guskey level.

    Each row carries its own scope's evidence: a school's row counts that school's responses,
    educators, observations and students (`_tidy.coverage` of each level).

    Returns
    -------
    DataFrame
        scope, level, level_name, question, evidence (what was collected, in words, with the scope's
        counts), measure, unit (``share``, ``sd``, ``rating``, ``points``), estimate, ci_low, ci_high,
        target, n, status (one of `STATUSES`), status_detail (what the status means, in words).
    """
    goals = plan.get("levels", {})
    min_n = int(plan.get("min_n", 10))
    reactions, organization = goals.get("reactions", {}), goals.get("organization", {})
    at_least = organization.get("rating_at_least", 3)
    words = {
        1: f"share of respondents rating '{reactions.get('construct', 'content')}' "
        f"{reactions.get('rating_at_least', 4):g} or higher",
        2: "gain from pre to post in SD units (g_av)",
        3: f"{(organization.get('indicator') or organization.get('structure') or 'conditions').replace('_', ' ')}"
        f" rated {RATING_WORDS.get(int(at_least), f'{at_least:g}')} ({at_least:g}) or better: share of schools",
        4: "share of classroom visits where the practice was seen",
        5: "effect on student outcomes in SD units (Hedges' g)",
    }
    units = {1: "share", 2: "sd", 3: "share", 4: "share", 5: "sd"}
    rows = []
    scopes = [("district", None)] + [(s, s) for s in schools["school_id"]]
    group = schools.set_index("school_id")["group"]
    cost = levels.get(0)
    for scope, key in scopes:
        comparison = key is not None and group.get(key) == "comparison"
        rows.append(_cost_row(scope, key, cost, comparison))
        for level in range(1, 6):
            result = levels.get(level)
            evidence = _evidence(level, result, key, min_n)
            if result is not None and result.meta.get("error"):
                rows.append(_row(scope, level, "data collected, but the level could not be computed", words[level],
                                 units[level], status="not estimable", detail=str(result.meta["error"])))  # fmt: skip
                continue
            if result is None or not result.evidence:
                rows.append(_row(scope, level, evidence, words[level], units[level]))
                continue
            if comparison and level in (1, 2, 3, 4):
                rows.append(_row(scope, level, evidence, words[level], units[level], status="not applicable",
                                 detail="comparison school: not in the program"))  # fmt: skip
                continue
            table = result.tables.get("target")
            if level in (1, 2, 4):
                row = _from_target(scope, level, table, key, evidence, words[level], units[level])
            elif level == 3:
                row = _level3(scope, key, table, evidence, words[level], at_least)
            else:
                row = _level5(scope, key, result, evidence, words[level], comparison)
            rows.append(row or _row(scope, level, evidence, words[level], units[level]))
    return pd.DataFrame(rows)


def _cost_row(scope, key, cost, comparison):
    measure = "cost: budget lines and participants' time"
    if cost is None or not cost.evidence:
        return _row(scope, 0, "no costs recorded", measure, "dollars")
    if comparison:
        return _row(scope, 0, "costs.csv, attendance", measure, "dollars", status="not applicable",
                    detail="comparison school: not in the program")  # fmt: skip
    if key is None:
        total = cost.meta.get("total", np.nan)
    else:
        schools = cost.tables.get("schools")
        match = schools[schools["school_id"] == key] if schools is not None else pd.DataFrame()
        if len(match) and bool(match.iloc[0].get("suppressed", False)):
            status = HIDDEN_STATUSES[1] if bool(match.iloc[0].get("complementary", False)) else HIDDEN_STATUSES[0]
            return _row(scope, 0, "costs.csv, attendance", measure, "dollars", status=status)
        total = float(match["cost"].iloc[0]) if len(match) else np.nan
    return _row(scope, 0, "costs.csv, attendance", measure, "dollars", total, status="reported",
                detail="district-level lines shared by participating educators" if key else "reported")  # fmt: skip


def _level3(scope, key, table, evidence, measure, at_least):
    if table is None:
        return _row(scope, 3, evidence, measure, "share")
    if key is None:
        r = table[table["breakdown"] == "district"].iloc[0]
        status = _status(str(r["status"]))
        return _row(scope, 3, evidence, measure, "share", r["estimate"], r["ci_low"], r["ci_high"], r["target"],
                    status, _detail(status, 3, r["ci_low"], r["ci_high"]), r["n"])  # fmt: skip
    rows = table[table["school_id"] == key]
    if rows.empty:
        return None
    r = rows.iloc[0]
    status = "met" if bool(r["at_least"]) else "not met"
    label = RATING_WORDS.get(int(at_least), f"{at_least:g}")
    return _row(scope, 3, evidence, "latest rating (1 not yet - 4 deepening)", "rating", r["estimate"],
                target=r["target"], status=status,
                detail=f"a rubric rating, {'at or above' if status == 'met' else 'below'} {label} ({at_least:g})")  # fmt: skip


def _level5(scope, key, result, evidence, measure, comparison):
    if key is None:
        if "target" not in result.tables:
            return _row(scope, 5, evidence, measure, "sd", status="not yet measured",
                        detail="no comparison group: the effect cannot be estimated")  # fmt: skip
        return _from_target(scope, 5, result.tables["target"].assign(breakdown="district"), None, evidence, measure,
                            "sd")  # fmt: skip
    schools = result.tables.get("schools")
    if comparison or schools is None or key not in set(schools["school_id"]):
        return _row(scope, 5, evidence, "students' scores against what prior scores predict", "points",
                    status="not applicable", detail="comparison school" if comparison else "not estimated")  # fmt: skip
    r = schools[schools["school_id"] == key].iloc[0]
    if bool(r.get("suppressed", False)):
        status = HIDDEN_STATUSES[1] if bool(r.get("complementary", False)) else HIDDEN_STATUSES[0]
        return _row(scope, 5, evidence, "points above or below prediction", "points", status=status)
    detail = "above prediction" if r["ci_low"] > 0 else "below prediction" if r["ci_high"] < 0 else "as predicted"
    return _row(scope, 5, evidence, "points above or below what prior scores predict", "points", r["estimate"],
                r["ci_low"], r["ci_high"], status="no target set", detail=detail, n=r["n"])  # fmt: skip


_MET = {
    1: "participants valued the sessions",
    2: "they learned the practice",
    3: "the organization supported it",
    4: "teachers used it in classrooms",
    5: "students benefited",
}
_NOT_MET = {
    1: "participants did not rate the sessions highly enough ({value} against a target of {target})",
    2: "assessment gains fell short of the target ({value} against {target})",
    3: "support lagged ({value} against a target of {target})",
    4: "classroom use stayed below the target ({value} against {target})",
    5: "students' gains did not reach the target ({value} against {target})",
}
_UNSURE = {
    1: "participants' ratings",
    2: "assessment gains",
    3: "support",
    4: "classroom use",
    5: "students' gains",
}


def _value(row) -> str:
    if row["unit"] == "share":
        return f"{row['estimate']:.0%}"
    if row["unit"] == "sd":
        return f"{row['estimate']:.2f} SD"
    if row["unit"] == "rating":
        return f"a rating of {row['estimate']:g}"
    return f"{row['estimate']:+.1f} points"


def _target(row, key: str = "target") -> str:
    if row["unit"] == "share":
        return f"{row[key]:.0%}"
    if row["unit"] == "sd":
        return f"{row[key]:.2f} SD"
    return f"{row[key]:g}"


def chain_sentence(rows: pd.DataFrame) -> str:
    """Where the chain of evidence holds, where it first breaks, and which levels cannot be judged yet.

    A level is called met or not met only when its whole interval is on one side of the target; a
    level whose interval includes the target is named as not conclusive, with its numbers (and, at
    level 5, whether the interval also includes zero).
    """
    rows = rows.sort_values("level")
    if (rows["status"] == "not applicable").sum() >= 4:
        return ("A comparison school: it did not take part in the program; its students are the comparison group "
                "for the student-outcome estimate.")  # fmt: skip
    held, small, unsure, broken = [], [], [], None
    for row in rows.itertuples():
        row = row._asdict()
        if row["level"] not in _MET:
            continue
        if row["status"] == "met" and broken is None:
            held.append(_MET[row["level"]])
        elif row["status"] in HIDDEN_STATUSES:
            small.append(str(row["level"]))
        elif row["status"] == "not conclusive":
            unsure.append(row)
        elif row["status"] in ("not met", "not yet measured") and broken is None:
            broken = row
    if broken is not None and broken["status"] == "not met":
        reason = _NOT_MET[broken["level"]].format(value=_value(broken), target=_target(broken))
    elif broken is not None:
        reason = f"there is no evidence yet ({broken['level_name'].lower()} not measured)"
    if broken is None:
        if held and not unsure:
            text = "Every level with a result met its target: " + _join(held) + "."
        elif held:
            text = f"{_join(held)[0].upper()}{_join(held)[1:]}."
        elif not unsure:
            text = "No level has a result to compare with a target yet."
        else:
            text = ""
    elif held:
        text = f"{_join(held)[0].upper()}{_join(held)[1:]}, but at level {broken['level']} {reason}."
    else:
        text = f"The chain of evidence breaks at level {broken['level']}: {reason}."
    if unsure:
        levels = _join([str(r["level"]) for r in unsure])
        details = []
        for r in unsure:
            detail = (
                f"{_UNSURE[r['level']]} {_value(r)} against {_target(r)}, interval {_target(r, 'ci_low')} to "
                f"{_target(r, 'ci_high')}"
            )
            if r["level"] == 5 and r["ci_low"] <= 0 <= r["ci_high"]:
                detail += ", which also includes zero"
            details.append(detail)
        plural = len(unsure) > 1
        text += (f" Level{'s' if plural else ''} {levels} {'are' if plural else 'is'} not conclusive: "
                 f"{'their intervals include' if plural else 'the interval includes'} the target "
                 f"({'; '.join(details)}).")  # fmt: skip
    if small:
        listed = _join(small)
        text += f" Level{'s' if len(small) > 1 else ''} {listed}: not shown (too few people, or protecting a smaller group)."
    return text.strip()


def _join(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def evaluate(district: District) -> Evaluation:
    """Run all five levels for the district and every school, in one pass, and build the chain of evidence.

    Every statistic is computed on the full data, so each has one answer whichever way it is reached
    (``evaluate(district)[5]`` equals ``evaluate_outcomes(district)``). The result is the internal
    store: call `Evaluation.publish` before anything leaves the machine (`plevaluate.render` does).
    """
    runners = {1: evaluate_reactions, 2: evaluate_learning, 3: evaluate_organization, 4: evaluate_practice,
               5: evaluate_outcomes}  # fmt: skip
    levels: dict[int, LevelResult] = {number: _isolated(number, runner, district) for number, runner in runners.items()}
    users = practice_users(prepare_observations(district)) if district.observations is not None else None
    effect = levels[5].tables["effect"].iloc[0] if "effect" in levels[5].tables else None
    levels[0] = _isolated(0, lambda d: evaluate_cost(d, practice_users=users, effect=effect), district)
    levels = _normalized(levels)
    plan = district.plan.model_dump(mode="json")
    schools = _normalize(district.schools)
    chain, sentences = _chain(levels, schools, plan)
    provenance = {
        "plevaluate_version": _version(),
        "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_folder": Path(district.path).name,
        "file_hashes": dict(district.file_hashes),
        "seed": district.plan.seed,
        "python_packages": _versions(),
    }
    return Evaluation(levels, chain, sentences, schools, plan, provenance)


def _isolated(number: int, runner, district: District) -> LevelResult:
    """Run one level; a problem in its data never stops the other levels: the level then reports, in words,
    what it could not compute (shown in every report in place of its results)."""
    try:
        return runner(district)
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError, KeyError, IndexError) as error:
        reason = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        name = LEVELS[number][0].lower()
        return LevelResult(number, name, notes=(f"could not be computed: {reason}",), meta={"error": reason},
                           evidence=False)  # fmt: skip


def _normalized(levels: Mapping[int, LevelResult]) -> dict[int, LevelResult]:
    return {
        number: LevelResult(
            r.level, r.name, {k: _normalize(v) for k, v in r.tables.items()}, r.notes, r.meta, r.evidence
        )  # fmt: skip
        for number, r in levels.items()
    }


def _chain(levels: Mapping[int, LevelResult], schools: pd.DataFrame, plan: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    chain = _normalize(chain_of_evidence(levels, schools, plan))
    sentences = pd.DataFrame(
        [{"scope": scope, "sentence": chain_sentence(rows)} for scope, rows in chain.groupby("scope", sort=False)]
    )
    return chain, _normalize(sentences)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "papermill", "nbconvert"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
