"""The import history of a data folder: every import recorded, listed, and undone exactly.

``.plevaluate-imports/history.json`` in the data folder records each import: its id, time, file (name and
SHA-256), source, session, mapping (SHA-256), the rows it wrote (by key) and removed (whole, a person's older
submission replaced), each response's submission time and keys, the scale each item was coded on, and the
SHA-256 of every table it changed as it left it. Beside it, ``<id>/`` keeps each changed table as it was
before the import (gzip), so undoing the latest import restores the folder byte for byte; undoing an
earlier one removes exactly its rows (and restores those it replaced), keeping later imports. Undoing the
only import removes the history too. Nothing in it is personal: responses are known by their keyed IDs.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ContractError, Problem

__all__ = ["FOLDER", "History", "sha256"]

#: The hidden folder in a data folder that holds its import history.
FOLDER = ".plevaluate-imports"
_FORMAT = 1


def sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class History:
    folder: Path  # the data folder (or workbook) imported into
    records: list[dict] = field(default_factory=list)
    home_dir: Path | None = None  # where the history is kept (default: FOLDER in the data folder)

    @property
    def home(self) -> Path:
        return self.home_dir if self.home_dir is not None else self.folder / FOLDER

    @classmethod
    def load(cls, folder: Path, home: Path | None = None) -> History:
        home = home if home is not None else folder / FOLDER
        path = home / "history.json"
        if not path.is_file():
            return cls(folder, [], home)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            records = list(data["imports"])
            assert data.get("format") == _FORMAT and all(isinstance(r, dict) and "id" in r for r in records)
        except (OSError, ValueError, KeyError, TypeError, AssertionError):
            raise ContractError(
                [
                    Problem(
                        str(path),
                        "the import history as plevaluate wrote it, but it cannot be read",
                        "restore it from a backup of the data folder; the tables themselves are intact",
                    )
                ],
                str(path),
            ) from None
        return cls(folder, records, home)

    def next_id(self) -> int:
        return max((int(r["id"]) for r in self.records), default=0) + 1

    def get(self, import_id: int) -> dict:
        found = next((r for r in self.records if int(r["id"]) == import_id), None)
        if found is None:
            ids = ", ".join(str(r["id"]) for r in self.records) or "none"
            raise ContractError(
                [
                    Problem(
                        str(self.home / "history.json"),
                        f"an import numbered {import_id}",
                        f"imports recorded: {ids} (plevaluate import --list --into {self.folder})",
                    )
                ],
                str(self.folder),
                doing="undo",
            )
        return found

    def same_file(self, digest: str, source: str, scope: str) -> dict | None:
        """The import of this very file (same bytes, source and session), if there was one."""
        return next(
            (r for r in self.records if r["file_sha256"] == digest and r["source"] == source and r["scope"] == scope),
            None,
        )

    def scales(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for record in self.records:
            out.update(record.get("scales", {}))
        return out

    def responses(self) -> dict[str, dict]:
        """response_id -> {submitted, minute, person, scope, import}."""
        out: dict[str, dict] = {}
        for record in self.records:
            for rid, info in record.get("responses", {}).items():
                out[rid] = {**info, "import": record["id"]}
        return out

    def before_path(self, import_id: int, filename: str) -> Path:
        return self.home / str(import_id) / (filename + ".gz")

    def keep_before(self, import_id: int, path: Path) -> None:
        """Keep ``path`` as it is now (or that it does not exist) before an import changes it."""
        target = self.before_path(import_id, path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            with (
                path.open("rb") as src,
                target.open("wb") as raw,
                gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as dst,
            ):
                shutil.copyfileobj(src, dst)
        else:
            target.with_suffix(".absent").touch()

    def restore_before(self, import_id: int, path: Path) -> None:
        kept = self.before_path(import_id, path.name)
        if kept.with_suffix(".absent").exists():
            path.unlink(missing_ok=True)
            return
        staged = path.with_name(f".{path.name}.undoing")
        with gzip.open(kept, "rb") as src, staged.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        shutil.copystat(kept, staged)
        os.replace(staged, path)

    def add(self, record: dict) -> None:
        record.setdefault("time", datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
        self.records.append(record)

    def drop(self, import_id: int) -> None:
        self.records = [r for r in self.records if int(r["id"]) != import_id]
        shutil.rmtree(self.home / str(import_id), ignore_errors=True)

    def save(self) -> None:
        if not self.records:
            shutil.rmtree(self.home, ignore_errors=True)
            return
        self.home.mkdir(exist_ok=True)
        path = self.home / "history.json"
        staged = path.with_name(".history.json.writing")
        staged.write_text(json.dumps({"format": _FORMAT, "imports": self.records}, indent=1) + "\n", encoding="utf-8")
        os.replace(staged, path)

    def listing(self) -> str:
        if not self.records:
            return f"no imports recorded in {self.folder}"
        lines = [f"imports into {self.folder} (undo one with: plevaluate import --undo ID --into {self.folder}):"]
        for r in self.records:
            written = ", ".join(f"{n} row(s) to {t}.csv" for t, n in r.get("written", {}).items() if n) or "nothing"
            removed = sum(len(v) for v in r.get("removed", {}).values())
            extra = f"; removed {removed} older row(s)" if removed else ""
            extra += f"; replaced import {r['replaces']}" if r.get("replaces") else ""
            lines.append(
                f"  {r['id']:>3}  {r['time']}  {r['source']:<12} {r['file']}  {r['scope']}: wrote {written}{extra}"
            )
        return "\n".join(lines)
