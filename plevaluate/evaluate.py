"""Evaluate once: every registered level for the district and every school, and the chain of evidence.

`evaluate` runs each level of `plevaluate.registry` (each computes every school in one pass) in
the order their ``needs`` allow, handing each the results of the levels it needs (level 4's
implementation rates feed level 5's dose-response), and builds the chain of evidence
(`plevaluate.chain`): for the district and each school, one row per level with the evidence
collected, the headline estimate and interval, the plan's target and a status, plus a sentence
naming the first level where the chain breaks.

`Evaluation.save` writes every table as CSV with a manifest (dtypes, notes, provenance) and
`Evaluation.load` reads it back exactly, so reports never recompute a statistic.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import registry
from ._outputs import is_ours, mark, neutralize, restore
from .chain import chain_of_evidence, chain_sentences
from .contract import District
from .privacy import publish_levels
from .results import Level, LevelResult, Note
from .schema import conform
from .version import __version__

__all__ = ["Evaluation", "evaluate"]

MANIFEST = "manifest.json"


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
        plevaluate version, data file SHA-256 hashes, evaluation date, package versions.
    published : bool
        False for the internal store (`evaluate`: every statistic on the full data); True once
        `publish` has applied suppression, as everything that leaves the machine must be.
    extras : Mapping[str, DataFrame]
        Tables that span more than this evaluation, already published: a multi-year program's year-by-year
        trend, level 4 in event time and the staggered level-5 effects (`plevaluate.years.publishable`).
    """

    levels: Mapping[int, LevelResult]
    chain: pd.DataFrame
    sentences: pd.DataFrame
    schools: pd.DataFrame
    plan: dict
    provenance: dict = field(default_factory=dict)
    published: bool = False
    extras: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def publish(self) -> Evaluation:
        """The evaluation as it may leave the machine: small-cell and complementary suppression applied once,
        to every table, with the chain of evidence, its sentences and the notes rebuilt from what is shown
        (`plevaluate.privacy.publish_levels`). Statistics are not recomputed."""
        if self.published:
            return self
        levels = _published(dict(self.levels), self.plan)
        chain, sentences = _chain(levels, self.schools, self.plan)
        return replace(self, levels=levels, chain=chain, sentences=sentences, published=True)

    def notes(self, scope: str = "district", levels: Iterable[int] | None = None) -> pd.DataFrame:
        """The notes a report about ``scope`` prints: level, scope, kind, text.

        ``"district"``: every note, a school's own notes named by the school; a school_id: the
        district-wide notes and that school's own, never another school's.
        """
        rows = []
        for level in sorted(self.levels) if levels is None else levels:
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
        """One result table, or None when the level has no such table (no evidence collected).

        A name the level does not declare (`plevaluate.results.Level.tables`) is a `KeyError`: a typo such as
        ``ev.table(4, "funnnel")`` must fail, not silently remove a section."""
        declared = next((lvl.tables for lvl in registry.levels() if lvl.number == level), None)
        if declared and name not in declared:
            raise KeyError(f"level {level} declares no table {name!r}; its tables: {', '.join(sorted(declared))}")
        result = self.levels.get(level)
        return None if result is None else result.tables.get(name)

    def school_name(self, school_id: str) -> str:
        return str(_names(self.schools).get(school_id, school_id))

    @property
    def min_n(self) -> int:
        return _min_n(self.plan)

    def save(self, folder: str | Path) -> Path:
        """Write every table (CSV) and a manifest to ``folder``, replacing it atomically.

        An existing ``folder`` is replaced only when plevaluate wrote it (its marker or manifest);
        anything else is refused, never removed. Text cells that a spreadsheet would run as a
        formula are neutralized in the CSVs (`plevaluate._outputs.neutralize`) and restored by `load`.
        """
        folder = Path(folder)
        if folder.is_symlink() or folder.exists() and not is_ours(folder):
            raise ValueError(
                f"{folder} exists and was not written by plevaluate: it is never replaced or "
                "removed; choose another folder"
            )
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = mark(Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent)))
        staging.chmod(0o755)  # readable like the reports beside it (mkdtemp makes it private)
        manifest: dict = {"levels": {}, "plan": self.plan, "provenance": self.provenance, "published": self.published}
        frames = {"chain": self.chain, "sentences": self.sentences, "schools": self.schools}
        manifest["frames"] = {name: write_table(frame, staging / f"{name}.csv") for name, frame in frames.items()}
        manifest["extras"] = {
            name: write_table(frame, staging / f"extra_{name}.csv") for name, frame in self.extras.items()
        }
        for number, result in self.levels.items():
            entry = {
                "name": result.name,
                "notes": [n.as_dict() for n in result.notes],
                "meta": _jsonable(result.meta),
                "evidence": result.evidence,
                "tables": {},
            }
            for name, frame in result.tables.items():
                entry["tables"][name] = write_table(frame, staging / f"level{number}_{name}.csv")
            manifest["levels"][str(number)] = entry
        # keys in their own order, not sorted: a report from saved results lists the plan as a fresh evaluation does
        (staging / MANIFEST).write_text(json.dumps(_jsonable(manifest), indent=1))
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
        frames = {name: read_table(folder / f"{name}.csv", spec) for name, spec in manifest["frames"].items()}
        extras = {name: read_table(folder / spec["file"], spec) for name, spec in manifest.get("extras", {}).items()}
        levels = {}
        for number, entry in manifest["levels"].items():
            tables = {
                name: read_table(folder / f"level{number}_{name}.csv", spec) for name, spec in entry["tables"].items()
            }
            notes = tuple(Note.from_value(n, int(number)) for n in entry["notes"])
            levels[int(number)] = LevelResult(
                int(number), entry["name"], tables, notes, entry["meta"], entry["evidence"]
            )
        return cls(
            levels,
            frames["chain"],
            frames["sentences"],
            frames["schools"],
            manifest["plan"],
            manifest["provenance"],
            bool(manifest.get("published", False)),
            extras,
        )


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


_NAMES: dict[int, tuple] = {}


def _names(schools: pd.DataFrame) -> dict:
    """school_id -> school_name, built once per schools table (reports look a name up for each row; building
    it per lookup made a listing of every school quadratic). Keyed like `plevaluate.chain.school_row`."""
    key = id(schools)
    entry = _NAMES.get(key)
    if entry is None or entry[0]() is not schools or entry[1] != len(schools):
        names = dict(zip(schools["school_id"], schools["school_name"]))
        entry = _NAMES[key] = (weakref.ref(schools, lambda _, k=key: _NAMES.pop(k, None)), len(schools), names)
    return entry[2]


def _normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every column a dtype that survives a CSV round trip: object columns holding only booleans
    become ``boolean``; other object columns become ``string`` with empty strings as missing."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or str(values.dtype) in ("str", "string"):
            if pd.api.types.infer_dtype(values, skipna=True) == "boolean":  # every value present is a bool
                out[column] = values.astype("boolean")
            else:
                text = values.astype("string")
                out[column] = _shared(text.mask(text == ""))
    return out


def _shared(text: pd.Series) -> pd.Series:
    """``text`` with one string object for each distinct value: a column written row by row (a method's name on each
    of 266,680 rows at 20,000 schools) holds a copy on every row, kept as long as the evaluation is, and pickled
    once for each row when the evaluation travels (a cluster's year: -120 MB held at 20,000 schools)."""
    codes, uniques = pd.factorize(text)
    return pd.Series(uniques.take(codes, allow_fill=True), index=text.index, name=text.name)


def write_table(frame: pd.DataFrame, path: Path) -> dict:
    neutralize(frame).to_csv(path, index=False, lineterminator="\n")
    return {"file": path.name, "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()}}


def read_table(path: Path, spec: dict) -> pd.DataFrame:
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


def evaluate(district: District, *, publish: bool = False) -> Evaluation:
    """Run all five levels for the district and every school, in one pass, and build the chain of evidence.

    Every statistic is computed on the full data, so each has one answer whichever way it is reached
    (``evaluate(district)[5]`` equals ``evaluate_outcomes(district)``). The result is the internal
    store: call `Evaluation.publish` before anything leaves the machine (`plevaluate.render` does).

    ``publish``: the published evaluation instead, equal to ``evaluate(district).publish()``, each level's internal
    tables let go as soon as its published ones exist and no chain built for the internal store (the latest year
    of 20,000 schools, a Dask worker's year task (`plevaluate.years`): peak 1,411 -> 1,028 MB with `_shared`).
    """
    if district.schools.empty:
        raise ValueError("schools.csv lists no schools yet: fill in schools.csv and educators.csv first")
    district = district.here()  # students held on a cluster (`load(..., client=)`): brought here to be evaluated here
    computed: dict[int, LevelResult] = {}
    for level in registry.run_order():
        upstream = {number: computed[number] for number in level.needs if number in computed}
        computed[level.number] = _isolated(level, district, upstream)
    levels = _normalized({number: computed.pop(number) for number in sorted(computed)}, district.plan.ci)
    plan = district.plan.model_dump(mode="json")
    if publish:
        levels = _published(levels, plan)
    schools = _normalize(district.schools)
    chain, sentences = _chain(levels, schools, plan)
    provenance = {
        "plevaluate_version": __version__,
        "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_folder": Path(district.path).name,
        "file_hashes": dict(district.file_hashes),
        "python_packages": _versions(),
    }
    return Evaluation(levels, chain, sentences, schools, plan, provenance, published=publish)


def _isolated(level: Level, district: District, upstream: dict[int, LevelResult]) -> LevelResult:
    """Run one level; a problem in its data never stops the other levels: the level then reports, in words,
    what it could not compute (shown in every report in place of its results). Only data conditions count
    (`ValueError`, a singular or empty system); a programming error (`KeyError`, `IndexError`, ...) fails loudly."""
    try:
        return level.run(district, upstream)
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as error:
        reason = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        return LevelResult(
            level.number,
            level.name.lower(),
            notes=(f"could not be computed: {reason}",),
            meta={"error": reason},
            evidence=False,
        )


def _normalized(levels: dict[int, LevelResult], ci: float) -> dict[int, LevelResult]:
    """Every table with CSV-safe dtypes and its declared constant columns (`plevaluate.schema.conform`).

    ``levels`` is handed over and emptied, a level at a time: each level's tables as they were are let go once
    normalized, not kept beside every level's normalized copy."""
    declared = {level.number: level.tables for level in registry.levels()}
    out = {}
    for number in list(levels):
        r = levels.pop(number)
        specs = declared.get(number, {})
        tables = {name: _normalize(conform(frame, specs.get(name), ci)) for name, frame in r.tables.items()}
        out[number] = LevelResult(r.level, r.name, tables, r.notes, r.meta, r.evidence)
    return out


def _published(levels: dict[int, LevelResult], plan: dict) -> dict[int, LevelResult]:
    """Every level published (`plevaluate.privacy.publish_levels`: suppression, once) and normalized. ``levels`` is
    handed over and emptied, a level at a time, so a level's internal tables are let go as soon as its published
    ones exist."""
    out = {}
    registered = registry.levels()
    for number in list(levels):
        published, _ = publish_levels({number: levels.pop(number)}, _min_n(plan), registered)
        out.update(_normalized(published, float(plan.get("ci", 0.95))))
    return out


def _min_n(plan: dict) -> int:
    return int(plan.get("min_n", 10))


def _chain(levels: Mapping[int, LevelResult], schools: pd.DataFrame, plan: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    registered = registry.levels()
    chain = _normalize(chain_of_evidence(levels, schools, plan, registered))
    return chain, _normalize(chain_sentences(chain, registered))


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "papermill", "nbconvert"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
