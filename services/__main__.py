"""python -m services: every service in one process (development and tests).

Each service keeps its own port and settings, exactly as when run alone;
`python -m services slides spatial` runs just those.
"""

from __future__ import annotations

import asyncio
import sys

from common.logs import configure_logging
from common.server import ServiceRunner, ignore_late_signals, serve_until_signalled
from common.settings import PlatformSettings
from services.registry import SERVICES


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(SERVICES))
    if unknown:
        raise SystemExit(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    platform = PlatformSettings()
    configure_logging(platform.log_level, platform.log_format)
    runners = [
        ServiceRunner(service, settings(), platform)
        for name, (service, settings) in SERVICES.items()
        if not names or name in names
    ]
    asyncio.run(serve_until_signalled(runners))
    ignore_late_signals()


if __name__ == "__main__":
    main(sys.argv[1:])
