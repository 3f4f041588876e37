"""The processing workflow: time-lapse movies to single-cell traces (see README.md)."""
