"""The data-root guard lives in common (services share it); re-exported for the core."""

from common.paths import OUTSIDE_ROOTS_MESSAGE, DataRoots

__all__ = ["OUTSIDE_ROOTS_MESSAGE", "DataRoots"]
