"""python -m services.microscopy: run the microscopy service alone."""

from common.server import run_service
from services.microscopy.service import MicroscopyService
from services.microscopy.settings import MicroscopySettings

if __name__ == "__main__":
    run_service(MicroscopyService, MicroscopySettings())
