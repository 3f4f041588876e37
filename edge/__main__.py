"""python -m edge: serve the REST, SSE and MCP interfaces on port 8000."""

import uvicorn

from common.logs import configure_logging
from common.settings import PlatformSettings
from edge.app import create_app
from edge.listen import bind_sockets
from edge.settings import EdgeSettings


def main() -> None:
    platform = PlatformSettings()
    settings = EdgeSettings()
    configure_logging(platform.log_level, platform.log_format)
    config = uvicorn.Config(
        create_app(platform, settings),
        port=settings.port,
        log_config=None,  # keep the platform's log format
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=bind_sockets(settings.host, settings.port))


if __name__ == "__main__":
    main()
