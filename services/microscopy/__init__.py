"""The microscopy service: time-lapse readers, file explorer, processing workflows."""
