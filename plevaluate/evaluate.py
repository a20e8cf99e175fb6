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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .contract import District
from .cost import evaluate_cost
from .learning import evaluate_learning
from .organization import evaluate_organization
from .outcomes import evaluate_outcomes
from .practice import evaluate_practice, practice_users, prepare_observations
from .reactions import evaluate_reactions
from .results import LevelResult

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
    "not yet measured",
    "too few people to report",
    "hidden to protect a smaller group",
    "no target set",
    "not applicable",
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
    """

    levels: Mapping[int, LevelResult]
    chain: pd.DataFrame
    sentences: pd.DataFrame
    schools: pd.DataFrame
    plan: dict
    provenance: dict = field(default_factory=dict)

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
        """Write every table (CSV) and a manifest to ``folder``, replacing it atomically."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        manifest: dict = {"levels": {}, "plan": self.plan, "provenance": self.provenance}
        frames = {"chain": self.chain, "sentences": self.sentences, "schools": self.schools}
        manifest["frames"] = {name: _write(frame, staging / f"{name}.csv") for name, frame in frames.items()}
        for number, result in self.levels.items():
            entry = {"name": result.name, "notes": list(result.notes), "meta": _jsonable(result.meta),
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
            levels[int(number)] = LevelResult(int(number), entry["name"], tables, tuple(entry["notes"]), entry["meta"],
                                              entry["evidence"])  # fmt: skip
        return cls(levels, frames["chain"], frames["sentences"], frames["schools"], manifest["plan"],
                   manifest["provenance"])  # fmt: skip


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
    frame.to_csv(path, index=False, lineterminator="\n")
    return {"file": path.name, "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()}}


def _read(path: Path, spec: dict) -> pd.DataFrame:
    dtypes = spec["dtypes"]
    text = {c for c, t in dtypes.items() if t in ("object", "string", "str", "category")}
    frame = pd.read_csv(path, dtype={c: "string" for c in text}, keep_default_na=True)
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


def _status(detail: str) -> str:
    if detail.startswith("met"):
        return "met"
    if detail.startswith("not met"):
        return "not met"
    if detail == "suppressed":
        return "too few people to report"
    if detail == "no target":
        return "no target set"
    return detail


def _row(scope, level, evidence, measure, unit, estimate=np.nan, low=np.nan, high=np.nan, target=np.nan,
         status="not yet measured", detail="", n=np.nan):  # fmt: skip
    return {"scope": scope, "level": level, "level_name": LEVELS[level][0], "question": LEVELS[level][1],
            "evidence": evidence, "measure": measure, "unit": unit, "estimate": estimate, "ci_low": low,
            "ci_high": high, "target": target, "n": n, "status": status, "status_detail": detail or status}  # fmt: skip


def _from_target(scope, level, table, key, evidence, measure, unit):
    if table is None:
        return _row(scope, level, evidence, measure, unit)
    rows = table[table["breakdown"] == "district"] if key is None else table[table["school_id"] == key]
    if rows.empty:
        return None
    r = rows.iloc[0]
    n = r.get("n_people", r.get("n", np.nan))
    return _row(scope, level, evidence, measure, unit, r["estimate"], r.get("ci_low", np.nan), r.get("ci_high", np.nan),
                r["target"], _status(str(r["status"])), str(r["status"]), n)  # fmt: skip


def chain_of_evidence(levels: Mapping[int, LevelResult], schools: pd.DataFrame, plan: dict) -> pd.DataFrame:
    """One row per scope (the district, then each school) and Guskey level.

    Returns
    -------
    DataFrame
        scope, level, level_name, question, evidence (what was collected, in words), measure, unit
        (``share``, ``sd``, ``rating``, ``points``), estimate, ci_low, ci_high, target, n, status (one of
        `STATUSES`), status_detail (e.g. ``met, not conclusive`` when the interval straddles the target).
    """
    goals = plan.get("levels", {})
    words = {
        1: f"share of respondents rating '{goals.get('reactions', {}).get('construct', 'content')}' "
        f"{goals.get('reactions', {}).get('rating_at_least', 4):g} or higher",
        2: "gain from pre to post in SD units (g_av)",
        3: f"{goals.get('organization', {}).get('indicator') or goals.get('organization', {}).get('structure') or 'conditions'}"
        " rated developing or better",
        4: "share of classroom visits where the practice was seen",
        5: "effect on student outcomes in SD units (Hedges' g)",
    }
    units = {1: "share", 2: "sd", 3: "share", 4: "share", 5: "sd"}
    evidence = {}
    for level in range(1, 6):
        result = levels.get(level)
        if result is None or not result.evidence:
            evidence[level] = "no evidence collected"
        else:
            evidence[level] = {
                1: lambda r: f"{r.meta.get('respondents', 0):,} survey responses",
                2: lambda r: f"pre/post assessments of {r.meta.get('participants', 0):,} educators",
                3: lambda r: "conditions rubrics, principal participation, staff survey",
                4: lambda r: f"{r.meta.get('observations', 0):,} classroom observations",
                5: lambda r: "student assessment scores with prior scores",
            }[level](result)
    rows = []
    scopes = [("district", None)] + [(s, s) for s in schools["school_id"]]
    group = schools.set_index("school_id")["group"]
    cost = levels.get(0)
    for scope, key in scopes:
        comparison = key is not None and group.get(key) == "comparison"
        rows.append(_cost_row(scope, key, cost, comparison))
        for level in range(1, 6):
            result = levels.get(level)
            if result is None or not result.evidence:
                rows.append(_row(scope, level, evidence[level], words[level], units[level]))
                continue
            if comparison and level in (1, 2, 3, 4):
                rows.append(_row(scope, level, evidence[level], words[level], units[level], status="not applicable",
                                 detail="comparison school: not in the program"))  # fmt: skip
                continue
            table = result.tables.get("target")
            if level in (1, 2, 4):
                row = _from_target(scope, level, table, key, evidence[level], words[level], units[level])
            elif level == 3:
                row = _level3(scope, key, table, evidence[level], words[level])
            else:
                row = _level5(scope, key, result, evidence[level], words[level], comparison)
            rows.append(row or _row(scope, level, evidence[level], words[level], units[level]))
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
        total = float(match["cost"].iloc[0]) if len(match) else np.nan
    return _row(scope, 0, "costs.csv, attendance", measure, "dollars", total, status="reported",
                detail="district-level lines shared by participating educators" if key else "reported")  # fmt: skip


def _level3(scope, key, table, evidence, measure):
    if table is None:
        return _row(scope, 3, evidence, measure, "share")
    if key is None:
        r = table[table["breakdown"] == "district"].iloc[0]
        return _row(scope, 3, evidence, measure, "share", r["estimate"], r["ci_low"], r["ci_high"], r["target"],
                    _status(str(r["status"])), str(r["status"]), r["n"])  # fmt: skip
    rows = table[table["school_id"] == key]
    if rows.empty:
        return None
    r = rows.iloc[0]
    status = "met" if bool(r["at_least"]) else "not met"
    return _row(scope, 3, evidence, "latest rating (1 not yet - 4 deepening)", "rating", r["estimate"],
                target=r["target"], status=status, detail=str(r["status"]))  # fmt: skip


def _level5(scope, key, result, evidence, measure, comparison):
    if key is None:
        return _from_target(scope, 5, result.tables.get("target").assign(breakdown="district"), None, evidence, measure, "sd") \
            if "target" in result.tables else _row(scope, 5, evidence, measure, "sd", status="not yet measured",
                                                    detail="no comparison group: the effect cannot be estimated")  # fmt: skip
    schools = result.tables.get("schools")
    if comparison or schools is None or key not in set(schools["school_id"]):
        return _row(scope, 5, evidence, "students' scores against what prior scores predict", "points",
                    status="not applicable", detail="comparison school" if comparison else "not estimated")  # fmt: skip
    r = schools[schools["school_id"] == key].iloc[0]
    if bool(r["suppressed"]):
        return _row(scope, 5, evidence, "points above or below prediction", "points", status="too few people to report",
                    n=r["n"])  # fmt: skip
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


def _value(row) -> str:
    if row["unit"] == "share":
        return f"{row['estimate']:.0%}"
    if row["unit"] == "sd":
        return f"{row['estimate']:.2f} SD"
    if row["unit"] == "rating":
        return f"a rating of {row['estimate']:g}"
    return f"{row['estimate']:+.1f} points"


def _target(row) -> str:
    if row["unit"] == "share":
        return f"{row['target']:.0%}"
    if row["unit"] == "sd":
        return f"{row['target']:.2f} SD"
    return f"{row['target']:g}"


def chain_sentence(rows: pd.DataFrame) -> str:
    """Where the chain of evidence holds and where it first breaks, in one or two sentences."""
    rows = rows.sort_values("level")
    if (rows["status"] == "not applicable").sum() >= 4:
        return ("A comparison school: it did not take part in the program; its students are the comparison group "
                "for the student-outcome estimate.")  # fmt: skip
    held, small, broken = [], [], None
    for row in rows.itertuples():
        row = row._asdict()
        if row["status"] == "met":
            held.append(_MET[row["level"]])
        elif row["status"] in ("too few people to report", "hidden to protect a smaller group"):
            small.append(str(row["level"]))
        elif row["status"] in ("not met", "not yet measured"):
            broken = row
            break
    tail = ""
    if small:
        listed = ", ".join(small[:-1]) + (" and " if len(small) > 1 else "") + small[-1]
        tail = f" Level{'s' if len(small) > 1 else ''} {listed}: not shown (too few people, or protecting a smaller group)."
    if broken is None:
        if not held:
            return ("No level has a result to compare with a target yet." + tail).strip()
        return "Every level with a result met its target: " + _join(held) + "." + tail
    if broken["status"] == "not met":
        reason = _NOT_MET[broken["level"]].format(value=_value(broken), target=_target(broken))
        if "not conclusive" in str(broken["status_detail"]):
            reason += ", though the difference is within the margin of error"
    else:
        reason = f"there is no evidence yet ({broken['level_name'].lower()} not measured)"
    if not held:
        return f"The chain of evidence breaks at level {broken['level']}: {reason}.{tail}"
    text = _join(held)
    return f"{text[0].upper()}{text[1:]}, but at level {broken['level']} {reason}.{tail}"


def _join(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def evaluate(district: District) -> Evaluation:
    """Run all five levels for the district and every school, in one pass, and build the chain of evidence."""
    levels: dict[int, LevelResult] = {
        1: evaluate_reactions(district),
        2: evaluate_learning(district),
        3: evaluate_organization(district),
        4: evaluate_practice(district),
    }
    rates = None
    target = levels[4].tables.get("funnel")
    if target is not None:
        rates = target[~target["suppressed"]][["school_id", "estimate"]]
    levels[5] = evaluate_outcomes(district, implementation=rates)
    users = practice_users(prepare_observations(district)) if district.observations is not None else None
    effect = levels[5].tables["effect"].iloc[0] if "effect" in levels[5].tables else None
    levels[0] = evaluate_cost(district, practice_users=users, effect=effect)
    levels = {
        number: LevelResult(
            r.level, r.name, {k: _normalize(v) for k, v in r.tables.items()}, r.notes, r.meta, r.evidence
        )
        for number, r in levels.items()
    }
    plan = district.plan.model_dump(mode="json")
    schools = _normalize(district.schools)
    chain = _normalize(chain_of_evidence(levels, schools, plan))
    sentences = _normalize(
        pd.DataFrame(
            [{"scope": scope, "sentence": chain_sentence(rows)} for scope, rows in chain.groupby("scope", sort=False)]
        )
    )
    provenance = {
        "plevaluate_version": _version(),
        "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_folder": Path(district.path).name,
        "file_hashes": dict(district.file_hashes),
        "seed": district.plan.seed,
        "python_packages": _versions(),
    }
    return Evaluation(levels, chain, sentences, schools, plan, provenance)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "papermill", "nbconvert"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
