from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetModelInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CellType(_message.Message):
    __slots__ = ("id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class GetModelInfoResponse(_message.Message):
    __slots__ = ("model_name", "weights", "loaded", "device", "patch_input_size", "patch_output_size", "cell_types", "batch_size", "error", "mpp", "mode")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    PATCH_INPUT_SIZE_FIELD_NUMBER: _ClassVar[int]
    PATCH_OUTPUT_SIZE_FIELD_NUMBER: _ClassVar[int]
    CELL_TYPES_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MPP_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    weights: str
    loaded: bool
    device: str
    patch_input_size: int
    patch_output_size: int
    cell_types: _containers.RepeatedCompositeFieldContainer[CellType]
    batch_size: int
    error: str
    mpp: float
    mode: str
    def __init__(self, model_name: _Optional[str] = ..., weights: _Optional[str] = ..., loaded: _Optional[bool] = ..., device: _Optional[str] = ..., patch_input_size: _Optional[int] = ..., patch_output_size: _Optional[int] = ..., cell_types: _Optional[_Iterable[_Union[CellType, _Mapping]]] = ..., batch_size: _Optional[int] = ..., error: _Optional[str] = ..., mpp: _Optional[float] = ..., mode: _Optional[str] = ...) -> None: ...

class SegmentRegionRequest(_message.Message):
    __slots__ = ("slide_id", "x", "y", "width", "height", "level", "include_contours")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CONTOURS_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    x: int
    y: int
    width: int
    height: int
    level: int
    include_contours: bool
    def __init__(self, slide_id: _Optional[str] = ..., x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., level: _Optional[int] = ..., include_contours: _Optional[bool] = ...) -> None: ...

class Point(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class Nucleus(_message.Message):
    __slots__ = ("x", "y", "cell_type", "cell_type_name", "probability", "contour", "area_um2", "perimeter_um", "area_px", "x_min", "y_min", "x_max", "y_max")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    CELL_TYPE_FIELD_NUMBER: _ClassVar[int]
    CELL_TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    CONTOUR_FIELD_NUMBER: _ClassVar[int]
    AREA_UM2_FIELD_NUMBER: _ClassVar[int]
    PERIMETER_UM_FIELD_NUMBER: _ClassVar[int]
    AREA_PX_FIELD_NUMBER: _ClassVar[int]
    X_MIN_FIELD_NUMBER: _ClassVar[int]
    Y_MIN_FIELD_NUMBER: _ClassVar[int]
    X_MAX_FIELD_NUMBER: _ClassVar[int]
    Y_MAX_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    cell_type: int
    cell_type_name: str
    probability: float
    contour: _containers.RepeatedCompositeFieldContainer[Point]
    area_um2: float
    perimeter_um: float
    area_px: float
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., cell_type: _Optional[int] = ..., cell_type_name: _Optional[str] = ..., probability: _Optional[float] = ..., contour: _Optional[_Iterable[_Union[Point, _Mapping]]] = ..., area_um2: _Optional[float] = ..., perimeter_um: _Optional[float] = ..., area_px: _Optional[float] = ..., x_min: _Optional[float] = ..., y_min: _Optional[float] = ..., x_max: _Optional[float] = ..., y_max: _Optional[float] = ...) -> None: ...

class SegmentationProgress(_message.Message):
    __slots__ = ("current", "total", "percentage", "message")
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    current: int
    total: int
    percentage: float
    message: str
    def __init__(self, current: _Optional[int] = ..., total: _Optional[int] = ..., percentage: _Optional[float] = ..., message: _Optional[str] = ...) -> None: ...

class NucleusBatch(_message.Message):
    __slots__ = ("nuclei",)
    NUCLEI_FIELD_NUMBER: _ClassVar[int]
    nuclei: _containers.RepeatedCompositeFieldContainer[Nucleus]
    def __init__(self, nuclei: _Optional[_Iterable[_Union[Nucleus, _Mapping]]] = ...) -> None: ...

class SegmentationSummary(_message.Message):
    __slots__ = ("total_nuclei", "patches", "duration_s", "x", "y", "width", "height", "mpp", "read_level", "scale", "notes", "tiles")
    TOTAL_NUCLEI_FIELD_NUMBER: _ClassVar[int]
    PATCHES_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MPP_FIELD_NUMBER: _ClassVar[int]
    READ_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TILES_FIELD_NUMBER: _ClassVar[int]
    total_nuclei: int
    patches: int
    duration_s: float
    x: int
    y: int
    width: int
    height: int
    mpp: float
    read_level: int
    scale: float
    notes: _containers.RepeatedScalarFieldContainer[str]
    tiles: int
    def __init__(self, total_nuclei: _Optional[int] = ..., patches: _Optional[int] = ..., duration_s: _Optional[float] = ..., x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., mpp: _Optional[float] = ..., read_level: _Optional[int] = ..., scale: _Optional[float] = ..., notes: _Optional[_Iterable[str]] = ..., tiles: _Optional[int] = ...) -> None: ...

class SegmentRegionResponse(_message.Message):
    __slots__ = ("progress", "nuclei", "summary")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    NUCLEI_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    progress: SegmentationProgress
    nuclei: NucleusBatch
    summary: SegmentationSummary
    def __init__(self, progress: _Optional[_Union[SegmentationProgress, _Mapping]] = ..., nuclei: _Optional[_Union[NucleusBatch, _Mapping]] = ..., summary: _Optional[_Union[SegmentationSummary, _Mapping]] = ...) -> None: ...

class GetCellposeInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCellposeInfoResponse(_message.Message):
    __slots__ = ("model", "weights", "available", "loaded", "device", "batch_size", "error", "setting")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SETTING_FIELD_NUMBER: _ClassVar[int]
    model: str
    weights: str
    available: bool
    loaded: bool
    device: str
    batch_size: int
    error: str
    setting: str
    def __init__(self, model: _Optional[str] = ..., weights: _Optional[str] = ..., available: _Optional[bool] = ..., loaded: _Optional[bool] = ..., device: _Optional[str] = ..., batch_size: _Optional[int] = ..., error: _Optional[str] = ..., setting: _Optional[str] = ...) -> None: ...

class CellposeOptions(_message.Message):
    __slots__ = ("model", "diameter", "flow_threshold", "cellprob_threshold", "min_size")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DIAMETER_FIELD_NUMBER: _ClassVar[int]
    FLOW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CELLPROB_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    model: str
    diameter: float
    flow_threshold: float
    cellprob_threshold: float
    min_size: int
    def __init__(self, model: _Optional[str] = ..., diameter: _Optional[float] = ..., flow_threshold: _Optional[float] = ..., cellprob_threshold: _Optional[float] = ..., min_size: _Optional[int] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("height", "width", "dtype", "data")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    height: int
    width: int
    dtype: str
    data: bytes
    def __init__(self, height: _Optional[int] = ..., width: _Optional[int] = ..., dtype: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class SegmentFramesRequest(_message.Message):
    __slots__ = ("options", "frames")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    options: CellposeOptions
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    def __init__(self, options: _Optional[_Union[CellposeOptions, _Mapping]] = ..., frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ...) -> None: ...

class FrameLabels(_message.Message):
    __slots__ = ("index", "height", "width", "dtype", "data", "count")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    index: int
    height: int
    width: int
    dtype: str
    data: bytes
    count: int
    def __init__(self, index: _Optional[int] = ..., height: _Optional[int] = ..., width: _Optional[int] = ..., dtype: _Optional[str] = ..., data: _Optional[bytes] = ..., count: _Optional[int] = ...) -> None: ...

class FramesSummary(_message.Message):
    __slots__ = ("frames", "tiles", "cells", "duration_s", "device")
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    TILES_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    frames: int
    tiles: int
    cells: int
    duration_s: float
    device: str
    def __init__(self, frames: _Optional[int] = ..., tiles: _Optional[int] = ..., cells: _Optional[int] = ..., duration_s: _Optional[float] = ..., device: _Optional[str] = ...) -> None: ...

class SegmentFramesResponse(_message.Message):
    __slots__ = ("progress", "labels", "summary")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    progress: SegmentationProgress
    labels: FrameLabels
    summary: FramesSummary
    def __init__(self, progress: _Optional[_Union[SegmentationProgress, _Mapping]] = ..., labels: _Optional[_Union[FrameLabels, _Mapping]] = ..., summary: _Optional[_Union[FramesSummary, _Mapping]] = ...) -> None: ...
