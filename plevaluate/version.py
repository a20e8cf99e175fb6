"""What is installed: plevaluate's version (the installed distribution's, or ``0+unknown`` in a source tree that was
not installed), and the entry-point group through which other installed packages add levels. A Dask worker must have
both as this process has them (`plevaluate.cluster.check_workers`), and the same code: its files' digest as this process
found them when it started (`SOURCE`)."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["ENTRY_POINTS", "SOURCE", "__version__"]

#: The entry-point group through which other packages add levels (`plevaluate.registry`).
ENTRY_POINTS = "plevaluate.levels"

try:
    __version__ = version("plevaluate")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"


def _source(root=None) -> str:
    """A digest of plevaluate's own files (its code, notebooks and templates), read as this process starts: the files a
    wheel installs, so that an editable install and a wheel of the same code agree."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parent if root is None else Path(root)
    # as a wheel installs them (pyproject.toml's package data: the report's styles and the slides' files too, which a
    # hostile review changed on a worker unseen), not a notebook's checkpoints or another hidden copy
    files = [
        *root.rglob("*.py"),
        *root.glob("notebooks/*.ipynb"),
        *root.rglob("templates/**/*"),
        *root.rglob("assets/**/*"),
    ]
    digest = hashlib.sha256()
    for path in sorted(set(files)):
        name = path.relative_to(root)
        if path.is_file() and not any(part.startswith((".", "__pycache__")) for part in name.parts):
            # the same file checked out with Windows line endings is the same code
            digest.update(name.as_posix().encode() + b"\0" + path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:16]


#: plevaluate's files as this process found them when it started: a Dask worker started before an editable install
#: changed runs the old code under the same version number (a hostile review), which a digest of the files tells.
SOURCE = _source()
