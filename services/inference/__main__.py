"""python -m services.inference: run the inference service alone."""

from common.server import run_service
from services.inference.service import InferenceService
from services.inference.settings import InferenceSettings

if __name__ == "__main__":
    run_service(InferenceService, InferenceSettings())
