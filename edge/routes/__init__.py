"""REST routes, one module per documented area."""
