"""The read and write gates every command passes through.

Every file any command reads (tables, workbooks, survey exports, ``.sav`` files, ``plan.yml``, mapping
files, secret files) goes through the **read gate**, and every file or folder any command writes
(reports, the portfolio, the design check's CSV, a sample, a starter folder, an import) through the
**write gate**, so a new command inherits the promises instead of rediscovering them:

read gate (`read_bytes`, `read_yaml`, `open_template`, `check_file`, `check_workbook`)
    regular files only (a folder, a named pipe or a device is refused by name: reading ``/dev/zero``
    never ends, a pipe blocks); a size bound for each kind of file, and for a workbook bounds on
    what its zip expands to and on its rows (Excel's own limit); YAML bounded in the nodes *and the
    bytes* its aliases expand to; every operating-system error turned into a `Problem` naming the
    file and the fix.

write gate (`Inputs`, `fresh_folder`, `check_target_file`, `check_target_folder`, `Ledger`, `write_file`)
    checked before any work starts: never write into, over or through an input (files are compared by
    device and inode, so a hard link or a symbolic link to an input counts as the input, and a
    workbook's own folder counts as the data folder); never replace a file plevaluate did not write
    (each folder it writes files into keeps a ledger, `Ledger`, of what it wrote: a file changed or put
    there since is never replaced); a folder that must be new (a sample, a starter folder) is absent
    or empty; a file is written whole or not at all (a temporary file beside it, then renamed), so a
    refusal or a full disk leaves nothing behind.

`os_problem` words an ``OSError`` for a person; the command line uses it for any OSError that gets
that far, so no command ends in a traceback because a disk is full or a folder is read-only.
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ContractError, OutputError, Problem

__all__ = [
    "LEDGER",
    "LIMITS",
    "Inputs",
    "Ledger",
    "check_file",
    "check_target_file",
    "check_target_folder",
    "check_workbook",
    "fresh_folder",
    "open_template",
    "os_problem",
    "read_blocks",
    "read_bytes",
    "read_yaml",
    "replace_file",
    "write_file",
]

MB = 1024 * 1024

#: The most each kind of file may hold (bytes). Tables are bounded generously (a state's student table
#: runs to gigabytes); everything a person writes by hand is small.
LIMITS = {
    "table": 64 * 1024 * MB,
    "export": 1024 * MB,
    "workbook": 1024 * MB,  # what the workbook's zip expands to, in all
    "yaml": 256 * 1024,
    "secret": 4096,
}
#: Rows in one sheet of a workbook: Excel's own limit (a "workbook" with more was not made by Excel).
MAX_SHEET_ROWS = 1_048_576
#: YAML nodes and bytes of text once aliases (``*name``) are expanded: a few KB of nested aliases (the
#: "billion laughs") would otherwise expand to gigabytes.
MAX_YAML_NODES = 100_000
MAX_YAML_BYTES = 1 * MB

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


# ----------------------------------------------------------------------------------------------------------------
# Operating-system errors, for a person
# ----------------------------------------------------------------------------------------------------------------

_FIXES = {
    errno.ENOENT: "check the path; nothing is there",
    errno.EACCES: "give yourself permission (ls -l shows who may read and write it), or choose another place",
    errno.EPERM: "give yourself permission (ls -l shows who may read and write it), or choose another place",
    errno.EROFS: "the disk is read-only: choose a place on a writable disk",
    errno.ENOSPC: "the disk is full: free some space, or choose a place on another disk",
    errno.EDQUOT: "your disk quota is used up: free some space, or choose a place on another disk",
    errno.EISDIR: "name a file, not a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder: check the path",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.EEXIST: "something is already there: choose another name",
    errno.EIO: "the disk reported an input/output error: copy the file elsewhere and try again",
}


def os_problem(error: OSError, path: str | Path | None = None, doing: str = "read") -> Problem:
    """An operating-system error as a `Problem`: the file, what went wrong in words, and the fix.

    >>> print(os_problem(PermissionError(13, "Permission denied", "/x/plan.yml")))
    /x/plan.yml: a file plevaluate can read (Permission denied). Fix: Give yourself permission (ls -l shows ...
    """
    where = str(path if path is not None else (error.filename or "a file"))
    reason = error.strerror or str(error)
    fix = _FIXES.get(error.errno or -1, "check the path and try again")
    return Problem(where, f"a file plevaluate can {doing} ({reason})", fix)


# ----------------------------------------------------------------------------------------------------------------
# The read gate
# ----------------------------------------------------------------------------------------------------------------


def check_file(path: str | Path, *, kind: str = "table", label: str | None = None) -> Problem | None:
    """None when ``path`` is a regular file within the size bound of its ``kind``; else the problem.

    Follows symbolic links (a link to a regular file is read as that file).
    """
    path = Path(path)
    label = label or path.name or str(path)
    try:
        info = path.stat()
    except OSError as error:
        return os_problem(error, label)
    if not stat.S_ISREG(info.st_mode):
        return Problem(
            label,
            f"a file, but this is {_kind(info.st_mode)}",
            "give the path of the file itself"
            + (" (plevaluate never reads pipes or devices)" if not stat.S_ISDIR(info.st_mode) else ""),
        )
    limit = LIMITS[kind]
    if info.st_size > limit:
        return Problem(
            label,
            f"a file of at most {_size(limit)}, but it holds {_size(info.st_size)}",
            "check that this is the right file"
            + ("; plan.yml and mapping files hold settings only" * (kind == "yaml")),
        )
    return None


def read_bytes(path: str | Path, *, kind: str = "table", label: str | None = None) -> bytes:
    """The bytes of a regular file within its bound; a `ContractError` naming the file and the fix otherwise."""
    problem = check_file(path, kind=kind, label=label)
    if problem is not None:
        raise ContractError([problem], str(path))
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ContractError([os_problem(error, label or Path(path).name)], str(path)) from None


def read_blocks(path: str | Path, size: int, *, kind: str = "table", label: str | None = None) -> Iterator[bytes]:
    """The bytes of a regular file within its bound (`check_file`), a block of whole lines at a time: each block
    ends after a line break (the last one at the file's end) and holds about ``size`` bytes (more for a longer
    line), so that a large table is read without being held whole. A `ContractError` naming the file and the fix,
    as `read_bytes` raises, before the first block or where the reading failed."""
    problem = check_file(path, kind=kind, label=label)
    if problem is not None:
        raise ContractError([problem], str(path))
    try:
        with open(path, "rb") as handle:
            pending: list[bytes] = []  # the start of a line not yet ended: each chunk is searched once
            while chunk := handle.read(size):
                cut = chunk.rfind(b"\n") + 1
                if not cut:  # a line longer than the block: read on
                    pending.append(chunk)
                    continue
                yield b"".join([*pending, chunk[:cut]]) if pending else chunk[:cut]
                pending = [chunk[cut:]] if cut < len(chunk) else []
            if pending:
                yield b"".join(pending)
    except OSError as error:
        raise ContractError([os_problem(error, label or Path(path).name)], str(path)) from None


def _size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:,.0f} MB" if n >= 10 * MB else f"{n / MB:,.1f} MB"
    return f"{n / 1024:,.0f} KB" if n >= 1024 else f"{n} bytes"


def check_workbook(path: str | Path, *, label: str | None = None) -> Problem | None:
    """None when ``path`` is a readable ``.xlsx`` within bounds; else the problem, said before it is opened.

    A workbook is a zip of XML files: it must be a zip (a CSV renamed ``.xlsx`` is named as such), expand
    to at most ``LIMITS["workbook"]`` bytes, and hold at most Excel's 1,048,576 rows per sheet (counted
    while streaming each sheet, without building it).
    """
    path = Path(path)
    label = label or path.name
    problem = check_file(path, kind="export", label=label)
    if problem is not None:
        return problem
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as error:
        return os_problem(error, label)
    if not zipfile.is_zipfile(path):
        looks = (
            "text (a CSV file renamed .xlsx?)" if head and all(32 <= b < 127 or b in b"\r\n\t" for b in head) else ""
        )
        return Problem(
            label,
            "an .xlsx workbook (a zip of sheets), but the file is " + (looks or "not a workbook"),
            "give the file its real extension (.csv for a CSV file), or open it in Excel and save it as .xlsx",
        )
    try:
        with zipfile.ZipFile(path) as book:
            members = book.infolist()
            expanded = sum(m.file_size for m in members)
            if expanded > LIMITS["workbook"]:
                return Problem(
                    label,
                    f"a workbook that expands to at most {_size(LIMITS['workbook'])}, but it expands to "
                    f"{_size(expanded)}",
                    "save large tables as CSV files (File > Save As > CSV UTF-8) and put those in the data folder",
                )
            for member in members:
                if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                    rows = _count_rows(book, member)
                    if rows > MAX_SHEET_ROWS:
                        sheet = member.filename.rsplit("/", 1)[-1].removesuffix(".xml")
                        return Problem(
                            label,
                            f"at most {MAX_SHEET_ROWS:,} rows in a sheet (Excel's limit), but {sheet} holds more "
                            "than that: the file was not made by Excel",
                            "save large tables as CSV files and put those in the data folder",
                        )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError) as error:
        return Problem(label, f"a readable .xlsx workbook ({error})", "open it in Excel and save it again as .xlsx")
    return None


def _count_rows(book: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    rows, tail = 0, b""
    with book.open(member) as stream:
        while True:
            chunk = stream.read(4 * MB)
            if not chunk:
                return rows
            block = tail + chunk
            rows += block.count(b"<row ") + block.count(b"<row>")
            tail = block[-5:]
            rows -= tail.count(b"<row ") + tail.count(b"<row>")  # counted again with the next chunk
            if rows > MAX_SHEET_ROWS:
                return rows


def open_template(template, opener, *, label: str, what: str, error: type[Exception] = ValueError):
    """``(document, path)``: an Office template read through the read gate and opened by ``opener`` (python-pptx's
    ``Presentation``, python-docx's ``Document``), or the library's own default and None without one; ``error``
    naming the file when it does not open as ``what``."""
    if not template:
        return opener(), None
    source = Path(template)
    content = read_bytes(source, kind="workbook", label=label)
    try:
        return opener(io.BytesIO(content)), source
    except Exception as problem:  # noqa: BLE001 - the Office libraries raise several kinds for a file of another kind
        raise error(f"{source} is not {what} ({problem})") from None


def read_yaml(path: str | Path, *, label: str | None = None, what: str = "settings"):
    """A YAML file of settings, read through the gate: bounded in size, nodes and expanded bytes.

    Returns what ``yaml.safe_load`` returns. Raises `ContractError` for a file that is not a regular
    file, too large, not UTF-8, not valid YAML (with its line) or expanding past the bounds.
    """
    path = Path(path)
    label = label or path.name
    raw = read_bytes(path, kind="yaml", label=label)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ContractError([Problem(label, "a UTF-8 text file", f"save {label} as UTF-8")], str(path)) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None:
            nodes, size = _expansion(root)
            if nodes > MAX_YAML_NODES or size > MAX_YAML_BYTES:
                raise ContractError(
                    [
                        Problem(
                            label,
                            f"at most {MAX_YAML_NODES:,} values and {_size(MAX_YAML_BYTES)} of text once YAML "
                            f"aliases (*name) are expanded",
                            f"write the {what} out plainly, without nested aliases",
                        )
                    ],
                    str(path),
                )
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContractError(
            [
                Problem(
                    label,
                    f"valid YAML ({getattr(exc, 'problem', None) or exc})",
                    "check indentation and colons",
                    row=mark.line + 1 if mark is not None else None,
                )
            ],
            str(path),
        ) from None
    except RecursionError:
        raise ContractError([Problem(label, "YAML nested at most a few hundred levels deep", "flatten it")]) from None


def _expansion(root) -> tuple[int, int]:
    """The nodes and bytes of scalar text ``root`` expands to, aliases included, without expanding it."""
    sizes: dict[int, tuple[int, int]] = {}
    cap = (MAX_YAML_NODES + 1, MAX_YAML_BYTES + 1)

    def size(node) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = (1, 0)  # a recursive alias counts once here, and PyYAML's safe loader refuses it later
        if isinstance(node, yaml.SequenceNode):
            parts = [size(child) for child in node.value]
        elif isinstance(node, yaml.MappingNode):
            parts = [size(k) for k, _ in node.value] + [size(v) for _, v in node.value]
        else:
            parts = [(0, len(str(node.value).encode("utf-8")))]
        total = (1 + sum(p[0] for p in parts), sum(p[1] for p in parts))
        sizes[key] = (min(total[0], cap[0]), min(total[1], cap[1]))
        return sizes[key]

    return size(root)


# ----------------------------------------------------------------------------------------------------------------
# The write gate
# ----------------------------------------------------------------------------------------------------------------


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


@dataclass
class Inputs:
    """Everything a command reads: files by device and inode, folders by resolved path.

    ``Inputs.of(data, mapping, ...)`` takes files and folders; a folder's files (one level down, and the
    folders of a portfolio's programs) are inputs too, and a workbook's own folder counts as a data folder.
    """

    folders: list[Path] = field(default_factory=list)
    files: dict[tuple[int, int], Path] = field(default_factory=dict)

    @classmethod
    def of(cls, *paths: str | Path | None, depth: int = 1) -> Inputs:
        found = cls()
        for path in paths:
            if path is None:
                continue
            found.add(Path(path), depth)
        return found

    def add(self, path: Path, depth: int = 1) -> None:
        if path.is_dir():
            self.folders.append(path.resolve())
            try:
                entries = list(path.iterdir())
            except OSError:
                return
            for entry in entries:
                if entry.is_dir() and depth > 1:
                    self.add(entry, depth - 1)
                elif entry.is_file():
                    identity = _identity(entry)
                    if identity is not None:
                        self.files.setdefault(identity, entry)
        elif path.exists():
            identity = _identity(path)
            if identity is not None:
                self.files.setdefault(identity, path)
            if path.suffix.lower() in (".xlsx", ".xlsm"):  # plan.yml sits beside a workbook district
                self.add(path.parent, 1)

    def which(self, path: Path) -> Path | None:
        """The input ``path`` is (the same file through a link or a hard link), or None."""
        identity = _identity(path)
        return self.files.get(identity) if identity is not None else None

    def overlapping(self, folder: Path) -> tuple[Path, str] | None:
        """An input folder that ``folder`` is, lies inside, or contains; with how."""
        target = folder.resolve()
        for source in self.folders:
            if target == source:
                return source, "is"
            if source in target.parents:
                return source, "is inside"
            if target in source.parents:
                return source, "contains"
        return None


def _refuse(flag: str, expected: str, fix: str) -> OutputError:
    return OutputError([Problem(flag, expected, fix)], flag)


def _resolvable(path: Path, label: str) -> None:
    """Refuse a path that leads nowhere: a loop of symbolic links."""
    try:
        path.resolve()
    except (RuntimeError, OSError) as error:
        raise _refuse(label, f"a path that leads to a file or folder, but it does not ({error})",
                      "check the path and its symbolic links") from None  # fmt: skip


def check_target_file(path: str | Path, inputs: Inputs, *, flag: str) -> Path:
    """Check, before any work, that ``path`` may be written as a new file or replace one plevaluate wrote.

    Refused: a folder, a pipe or device; an input, through any link; a file in or under an input folder;
    a file that exists and was not written by plevaluate (not in its folder's `Ledger`, or changed since);
    a path whose folder does not exist.
    """
    path = Path(path)
    label = f"{flag} {path}"
    if path.name.startswith(".plevaluate"):
        raise _refuse(label, f"a file of your own, but {path.name} is a name plevaluate keeps for itself",
                      "choose another file name")  # fmt: skip
    _resolvable(path, label)
    ledger = path.absolute().parent / LEDGER
    if ledger.is_symlink() or ledger.exists() and not ledger.is_file():
        raise _refuse(label, f"a folder whose {LEDGER} is plevaluate's own plain file, but it is "
                      f"{'a link' if ledger.is_symlink() else 'not a file'}", f"remove {ledger}, then run again")  # fmt: skip
    if path.exists() or path.is_symlink():
        try:
            info = path.stat()
        except OSError as error:
            raise OutputError([os_problem(error, label, "write")], label) from None
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(
                label, f"a file to write, but this is {_kind(info.st_mode)}", "name a new file (design.csv, say)"
            )
        same = inputs.which(path)
        if same is not None:
            raise _refuse(
                label,
                f"a file that is not one of the command's inputs, but it is {same}"
                + (" (the same file through a link)" if same.absolute() != path.absolute() else ""),
                "write to a new file outside the data folder",
            )
    parent = path.resolve().parent if not path.is_symlink() else path.parent.resolve()
    overlap = inputs.overlapping(parent)
    if overlap is not None and overlap[1] != "contains":
        raise _refuse(
            label,
            f"a file outside the data folder, but it is inside the data folder {overlap[0]}, which plevaluate "
            "never writes to",
            "write to a file in another folder",
        )
    if not parent.is_dir():
        raise _refuse(label, f"a file in an existing folder, but {parent} is not a folder", "create the folder first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _refuse(label, f"a file in a folder plevaluate can write to, but {parent} cannot be written to",
                      "choose a folder you can write to")  # fmt: skip
    if (path.exists() or path.is_symlink()) and not Ledger(parent).wrote(path.name):
        raise _refuse(
            label,
            "a new file, or one plevaluate wrote there itself; this file exists and plevaluate did not write it "
            "(or it was changed since), so it is never replaced",
            "choose a new file name, or move the file away first",
        )
    return path


def check_target_folder(path: str | Path, inputs: Inputs, *, flag: str) -> Path:
    """Check, before any work, that ``path`` may hold a command's outputs: not an input folder, not inside
    one, not containing one, not a file."""
    path = Path(path)
    label = f"{flag} {path}"
    _resolvable(path, label)
    overlap = inputs.overlapping(path)
    if overlap is not None:
        source, how = overlap
        if how == "contains":
            raise _refuse(
                label,
                f"a folder apart from the data, but the data folder {source} is inside {flag} {path}: a run writes "
                "and replaces files there and could overwrite your data",
                "choose an output folder that does not contain the data folder",
            )
        raise _refuse(
            label,
            f"a folder apart from the data, but it is {'the data folder' if how == 'is' else 'inside the data folder'}"
            f" {source}: the data folder is never written to",
            "choose an output folder outside the data folder",
        )
    if path.exists() and not path.is_dir():
        raise _refuse(label, "a folder, but it is a file, not a folder", "choose a folder for the outputs")
    return path


def fresh_folder(path: str | Path, *, flag: str, inputs: Inputs | None = None) -> Path:
    """Check that ``path`` is absent or an empty folder (a new data folder: a sample, a starter folder), and
    that its parent exists and is writable, so nothing is ever written over a user's own files."""
    path = Path(path)
    label = f"{flag} {path}" if flag else str(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir() or path.is_symlink():
            kind = "a link" if path.is_symlink() else _kind(path.stat().st_mode) if path.exists() else "a link"
            raise _refuse(label, f"a new folder, but this is {kind if kind != 'not a regular file' else 'a file'}",
                          "choose a new folder name")  # fmt: skip
        try:
            held = sorted(p.name for p in path.iterdir())
        except OSError as error:
            raise OutputError([os_problem(error, label, "write")], label) from None
        if held:
            shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
            raise _refuse(
                label,
                f"a new or empty folder, but it holds {shown}; nothing there is ever replaced",
                "choose a new folder name",
            )
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise _refuse(label, f"a folder plevaluate can create, but {parent} cannot be written to",
                      "choose a folder you can write to")  # fmt: skip
    if inputs is not None:
        check_target_folder(path, inputs, flag=flag)
    return path


#: The ledger a folder keeps of the files plevaluate wrote into it (name: size and modification time).
LEDGER = ".plevaluate-written.json"


class Ledger:
    """What plevaluate wrote into a folder: each file's name with its size and modification time then.

    A file is plevaluate's to replace only while it is listed and unchanged (same size and time); a
    file a person put there, or edited since, is never replaced.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LEDGER

    def _read(self) -> dict[str, list[int]]:
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        files = content.get("files") if isinstance(content, dict) else None
        return files if isinstance(files, dict) else {}

    def wrote(self, name: str) -> bool:
        """Whether ``name`` in the folder is a file plevaluate wrote and nobody changed since."""
        entry = self._read().get(name)
        try:
            info = (self.folder / name).lstat()
        except OSError:
            return False
        return isinstance(entry, list) and stat.S_ISREG(info.st_mode) and entry == [info.st_size, info.st_mtime_ns]

    def record(self, names: Iterable[str], forget: Iterable[str] = ()) -> None:
        """Record ``names`` (files now in the folder) as written by plevaluate; drop ``forget``."""
        files = self._read()
        for name in forget:
            files.pop(name, None)
        for name in names:
            try:
                info = (self.folder / name).lstat()
            except OSError:
                files.pop(name, None)
                continue
            if stat.S_ISREG(info.st_mode):
                files[name] = [info.st_size, info.st_mtime_ns]
        text = json.dumps({"about": "files plevaluate wrote here; it replaces only these", "files": files}, indent=0)
        replace_file(self.path, text.encode("utf-8"))


def replace_file(path: Path, content: bytes) -> None:
    """Write ``path`` whole: a temporary file beside it, renamed over it (a link under that name is replaced, never
    written through); a failure leaves the old file, or none, and no temporary file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # as an ordinary new file would be (mkstemp makes it private)
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_file(path: str | Path, content: bytes | str) -> Path:
    """Write a file whole or not at all (a temporary file beside it, renamed over it), and record it in its
    folder's `Ledger`. A full disk or a stop leaves the old file, or none, and no temporary file."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    replace_file(path, data)
    Ledger(path.parent).record([path.name])
    return path
