"""python -m services.slides: run the slides service alone."""

from common.server import run_service
from services.slides.service import SlidesService
from services.slides.settings import SlidesSettings

if __name__ == "__main__":
    run_service(SlidesService, SlidesSettings())
