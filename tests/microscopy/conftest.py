"""Fixtures of the microscopy core tests: the real instrument files."""

from __future__ import annotations

from pathlib import Path

import pytest

# Real files by role; their facts are in ../shared/data/README.md.
ARCADIA_TIMELAPSE = "nd2/arcadia-example-timelapse.nd2"
ARCADIA_MULTICHANNEL = "nd2/arcadia-example-multichannel.nd2"
CLUSTER_ND2 = "nd2/cluster.nd2"
CZI_TIMELAPSE = "czi/aicspylibczi-CD_s_1_t_3_c_2_z_5.czi"
CZI_SCENES = "czi/czitools-S3_1Pos_2Mosaic_T1_Z1_CH1.czi"
OME_TIMELAPSE = "tiff/derived-arcadia-timelapse.ome.tif"
IMAGEJ_CLUSTER = "tiff/derived-cluster-TZCYX.imagej.tif"

REAL_FILES = (
    ARCADIA_TIMELAPSE,
    ARCADIA_MULTICHANNEL,
    CLUSTER_ND2,
    CZI_TIMELAPSE,
    CZI_SCENES,
    OME_TIMELAPSE,
    IMAGEJ_CLUSTER,
)


@pytest.fixture(scope="session")
def real_file(shared_data: Path):
    """Path of a real instrument file, by its path under shared/data."""

    def find(relative: str) -> Path:
        path = shared_data / relative
        if not path.is_file():
            pytest.skip(f"{relative} not found in {shared_data}")
        return path

    return find
