"""What is installed: plevaluate's version (the installed distribution's, or ``0+unknown`` in a source tree that was
not installed), and the entry-point group through which other installed packages add levels. A Dask worker must have
both as this process has them (`plevaluate.cluster.check_workers`)."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["ENTRY_POINTS", "__version__"]

#: The entry-point group through which other packages add levels (`plevaluate.registry`).
ENTRY_POINTS = "plevaluate.levels"

try:
    __version__ = version("plevaluate")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
