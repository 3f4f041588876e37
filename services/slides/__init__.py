"""The slides service."""
