"""python -m services.spatial: run the spatial service alone."""

from common.server import run_service
from services.spatial.service import SpatialService
from services.spatial.settings import SpatialSettings

if __name__ == "__main__":
    run_service(SpatialService, SpatialSettings())
