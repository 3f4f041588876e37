"""The microscopy service."""
