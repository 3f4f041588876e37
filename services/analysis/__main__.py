"""python -m services.analysis: run the analysis service alone."""

from common.server import run_service
from services.analysis.service import AnalysisService
from services.analysis.settings import AnalysisSettings

if __name__ == "__main__":
    run_service(AnalysisService, AnalysisSettings())
