"""Settings of the inference service (prefix MICROGRAPHIA_INFERENCE_).

Which weights to load is the platform's `MICROGRAPHIA_INFERENCE_WEIGHTS`
(common.settings.PlatformSettings.inference_weights); everything here tunes
the model and the pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings
from services.inference.core import ModelSpec, SegmentationConfig
from services.inference.core.cellpose import FramesConfig

WEIGHTS_SETTING = "MICROGRAPHIA_INFERENCE_WEIGHTS"


class InferenceSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_INFERENCE_", extra="ignore")

    port: int = DEFAULT_PORTS["inference"]
    # HoVerNet mode and number of types (6: PanNuke's, with background).
    mode: Literal["fast", "original"] = "fast"
    num_types: int = Field(default=6, ge=0)
    # Microns per pixel the weights were trained at (PanNuke: 0.25).
    model_mpp: float = Field(default=0.25, gt=0)
    # Torch device; empty picks CUDA, then MPS, then CPU.
    device: str = ""
    # Patches per forward pass; 0 picks 64 on a GPU, 4 on a CPU.
    batch_size: int = Field(default=0, ge=0)
    # Autocast precision on CUDA (CPU always runs fp32).
    precision: Literal["fp32", "bf16", "fp16"] = "bf16"
    # How every model of the service runs (core/runtime.py): "auto" is OpenVINO on a
    # CPU (where installed), torch on a GPU; "torch" or "openvino" force one.
    runtime: Literal["auto", "torch", "openvino"] = "auto"
    # Precision of the OpenVINO runtime on the CPU, for every model: "auto" is each
    # network's own (HoVerNet fp32, Cellpose-SAM bf16), the fastest for each here
    # (AVX-512 BF16 without AMX: HoVerNet's convolutions were slower in bf16, Cellpose's
    # ViT twice as fast); fp32, bf16 or fp16 force one.
    cpu_precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    # Where converted graphs are kept between starts; empty: ~/.cache/micrographia.
    cache_dir: Path | None = None
    # Core edge of one stitched canvas and the margin of patches around it, model pixels.
    tile_size: int = Field(default=2048, ge=164)
    margin: int = Field(default=64, ge=0)
    # Largest region accepted, in model pixels (width x height at the model's resolution).
    max_region_pixels: int = Field(default=16384 * 16384, gt=0)
    # CPU threads post-processing stitched tiles while the device runs the next (the
    # sparse half is mostly OpenCV and NumPy, which release the GIL); 0 picks one per
    # core beside a GPU, 2 on a CPU (where the network itself needs the cores).
    postprocess_workers: int = Field(default=0, ge=0)
    # Worker processes for that instead (no faster than threads on an H200 box, see
    # benchmarks/RESULTS.md); 0 uses the threads.
    postprocess_processes: int = Field(default=0, ge=0)
    # Progress is sent at least this often, seconds.
    progress_interval_s: float = Field(default=0.3, gt=0)
    # Deadline of one call to the slides service.
    peer_timeout_s: float = Field(default=60.0, gt=0)
    # Cellpose: 256 px tiles per forward pass (0 picks 32 on a GPU, 8 on a CPU, Cellpose's
    # own default) and threads turning flows into masks beside the device (0: 2 beside a
    # GPU, 1 on a CPU).
    cellpose_batch_size: int = Field(default=0, ge=0)
    cellpose_postprocess_workers: int = Field(default=0, ge=0)
    # Frames one SegmentFrames request may carry.
    cellpose_max_frames: int = Field(default=256, ge=1)

    def spec(self) -> ModelSpec:
        return ModelSpec(mode=self.mode, num_types=self.num_types, mpp=self.model_mpp)

    def segmentation_config(self, device: str) -> SegmentationConfig:
        gpu = device.startswith(("cuda", "mps"))
        batch = self.batch_size or (64 if device.startswith("cuda") else 4)
        workers = self.postprocess_workers or ((os.cpu_count() or 2) if gpu else 2)
        return SegmentationConfig(
            batch_size=batch,
            tile_size=self.tile_size,
            margin=self.margin,
            max_region_pixels=self.max_region_pixels,
            postprocess_workers=workers,
        )

    def frames_config(self, device: str) -> FramesConfig:
        gpu = device.startswith(("cuda", "mps"))
        return FramesConfig(
            batch_size=self.cellpose_batch_size or (32 if gpu else 8),
            postprocess_workers=self.cellpose_postprocess_workers or (2 if gpu else 1),
            max_frame_pixels=self.max_region_pixels,
            max_frames=self.cellpose_max_frames,
        )
