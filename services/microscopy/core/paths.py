"""The data-root guard and safe opening live in common (services share them);
re-exported for the core."""

from common.paths import OUTSIDE_ROOTS_MESSAGE, DataRoots, open_regular_file

__all__ = ["OUTSIDE_ROOTS_MESSAGE", "DataRoots", "open_regular_file"]
