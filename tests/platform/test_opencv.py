"""tiatoolbox (opencv-python) and Cellpose (opencv-python-headless) share one `cv2`:
both libraries' OpenCV calls work in one process, and `make setup`'s check agrees."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_both_opencv_distributions_are_one_version():
    assert metadata.version("opencv-python") == metadata.version("opencv-python-headless")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_cv2.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "reinstalling" not in result.stderr


def test_tiatoolbox_opencv_calls():
    from tiatoolbox.models.architecture.hovernet import HoVerNet
    from tiatoolbox.utils.transforms import imresize

    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert imresize(image, scale_factor=0.5).shape == (32, 32, 3)  # cv2.resize, INTER_AREA
    assert imresize(image, scale_factor=2.0).shape == (128, 128, 3)  # INTER_CUBIC
    # HoVerNet's post-processing: cv2.normalize, cv2.Sobel, cv2.GaussianBlur, contours.
    nuclear = np.zeros((64, 64), np.float32)
    nuclear[10:30, 10:30] = 1
    nuclear[35:55, 35:55] = 1
    yy, xx = np.mgrid[:64, :64].astype(np.float32)
    hv = np.stack([(xx - 32) / 32, (yy - 32) / 32], axis=-1)
    labels = HoVerNet._proc_np_hv(nuclear[..., None], hv)
    assert labels.max() >= 2


def test_cellpose_opencv_calls():
    from cellpose import transforms, utils

    masks = np.zeros((64, 64), np.uint16)
    masks[10:30, 10:30] = 1
    masks[35:55, 35:55] = 2
    outlines = utils.outlines_list(masks, multiprocessing=False)  # cv2.findContours
    assert len(outlines) == 2
    image = np.random.default_rng(0).random((64, 64, 1)).astype(np.float32)
    assert transforms.resize_image(image, rsz=[0.5, 0.5]).shape[:2] == (32, 32)  # cv2.resize
