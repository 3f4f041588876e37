"""`micrographia`: the platform from a terminal or a script, over the edge's REST/SSE API."""
