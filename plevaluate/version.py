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


def _source() -> str:
    """A digest of plevaluate's own files (its code, notebooks and templates), read as this process starts: the files a
    wheel installs, so that an editable install and a wheel of the same code agree."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parent
    files = [*root.rglob("*.py"), *root.glob("notebooks/*.ipynb"), *root.rglob("templates/**/*.j2")]
    digest = hashlib.sha256()
    for path in sorted(files):  # as a wheel installs them: not a notebook's checkpoints or another hidden copy
        name = path.relative_to(root)
        if path.is_file() and not any(part.startswith((".", "__pycache__")) for part in name.parts):
            digest.update(name.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


#: plevaluate's files as this process found them when it started: a Dask worker started before an editable install
#: changed runs the old code under the same version number (a hostile review), which a digest of the files tells.
SOURCE = _source()
