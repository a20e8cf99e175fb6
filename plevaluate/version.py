"""plevaluate's version: the installed distribution's, or ``0+unknown`` in a source tree that was not installed."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("plevaluate")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
