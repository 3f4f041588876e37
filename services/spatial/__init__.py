"""The spatial service."""
