"""One module per area of the API; each adds its commands with `register(app)`."""
