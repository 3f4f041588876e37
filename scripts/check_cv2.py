"""One working `cv2` for tiatoolbox and Cellpose in the same environment.

tiatoolbox depends on `opencv-python`, Cellpose on `opencv-python-headless`.
Both wheels install the same `cv2` package, so two different versions leave a
mix of files (and uninstalling either removes `cv2` under the other). This
makes the headless wheel the same version as `opencv-python`, reinstalled
without dependencies, so both distributions own identical files, then checks
that `cv2` imports and runs.

Usage: python scripts/check_cv2.py    (exits non-zero when cv2 cannot be made to work)
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

PROBE = (
    "import cv2, numpy as np; "
    "a = cv2.resize(np.zeros((8, 8), np.uint8), (4, 4), interpolation=cv2.INTER_LINEAR); "
    "cv2.findContours(np.ones((4, 4), np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE); "
    "print(cv2.__version__)"
)


def version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def cv2_works() -> bool:
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True).returncode == 0


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)


def main() -> int:
    full, headless = version("opencv-python"), version("opencv-python-headless")
    if (full and headless and full != headless) or not cv2_works():
        wanted = full or headless
        if wanted is None:
            print("check_cv2: no OpenCV distribution is installed", file=sys.stderr)
            return 1
        print(
            f"check_cv2: opencv-python {full}, opencv-python-headless {headless}: "
            f"reinstalling opencv-python-headless=={wanted} without dependencies",
            file=sys.stderr,
        )
        pip("--no-deps", "--force-reinstall", f"opencv-python-headless=={wanted}")
        if full:  # its files are the same set; rewritten last, they are one version again
            pip("--no-deps", "--force-reinstall", f"opencv-python=={full}")
    if not cv2_works():
        print("check_cv2: cv2 still does not import; see `python -c 'import cv2'`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
