import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from micrographia.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Bounds(_message.Message):
    __slots__ = ("x_min", "y_min", "x_max", "y_max")
    X_MIN_FIELD_NUMBER: _ClassVar[int]
    Y_MIN_FIELD_NUMBER: _ClassVar[int]
    X_MAX_FIELD_NUMBER: _ClassVar[int]
    Y_MAX_FIELD_NUMBER: _ClassVar[int]
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    def __init__(self, x_min: _Optional[float] = ..., y_min: _Optional[float] = ..., x_max: _Optional[float] = ..., y_max: _Optional[float] = ...) -> None: ...

class Nucleus(_message.Message):
    __slots__ = ("id", "x", "y", "cell_type", "cell_type_name", "probability")
    ID_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    CELL_TYPE_FIELD_NUMBER: _ClassVar[int]
    CELL_TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    id: int
    x: float
    y: float
    cell_type: int
    cell_type_name: str
    probability: float
    def __init__(self, id: _Optional[int] = ..., x: _Optional[float] = ..., y: _Optional[float] = ..., cell_type: _Optional[int] = ..., cell_type_name: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class CellTypeCount(_message.Message):
    __slots__ = ("cell_type", "cell_type_name", "count", "fraction")
    CELL_TYPE_FIELD_NUMBER: _ClassVar[int]
    CELL_TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    cell_type: int
    cell_type_name: str
    count: int
    fraction: float
    def __init__(self, cell_type: _Optional[int] = ..., cell_type_name: _Optional[str] = ..., count: _Optional[int] = ..., fraction: _Optional[float] = ...) -> None: ...

class AnalysisBox(_message.Message):
    __slots__ = ("id", "slide_id", "label", "bounds", "total_nuclei", "area_mm2", "density_per_mm2", "neoplastic_ratio", "cell_type_counts", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    BOUNDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_NUCLEI_FIELD_NUMBER: _ClassVar[int]
    AREA_MM2_FIELD_NUMBER: _ClassVar[int]
    DENSITY_PER_MM2_FIELD_NUMBER: _ClassVar[int]
    NEOPLASTIC_RATIO_FIELD_NUMBER: _ClassVar[int]
    CELL_TYPE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    slide_id: str
    label: str
    bounds: Bounds
    total_nuclei: int
    area_mm2: float
    density_per_mm2: float
    neoplastic_ratio: float
    cell_type_counts: _containers.RepeatedCompositeFieldContainer[CellTypeCount]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., slide_id: _Optional[str] = ..., label: _Optional[str] = ..., bounds: _Optional[_Union[Bounds, _Mapping]] = ..., total_nuclei: _Optional[int] = ..., area_mm2: _Optional[float] = ..., density_per_mm2: _Optional[float] = ..., neoplastic_ratio: _Optional[float] = ..., cell_type_counts: _Optional[_Iterable[_Union[CellTypeCount, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BoxMetrics(_message.Message):
    __slots__ = ("shannon_h", "inflammatory_index", "immune_tumour_ratio", "ne_epithelial_ratio", "viability")
    SHANNON_H_FIELD_NUMBER: _ClassVar[int]
    INFLAMMATORY_INDEX_FIELD_NUMBER: _ClassVar[int]
    IMMUNE_TUMOUR_RATIO_FIELD_NUMBER: _ClassVar[int]
    NE_EPITHELIAL_RATIO_FIELD_NUMBER: _ClassVar[int]
    VIABILITY_FIELD_NUMBER: _ClassVar[int]
    shannon_h: float
    inflammatory_index: float
    immune_tumour_ratio: float
    ne_epithelial_ratio: float
    viability: float
    def __init__(self, shannon_h: _Optional[float] = ..., inflammatory_index: _Optional[float] = ..., immune_tumour_ratio: _Optional[float] = ..., ne_epithelial_ratio: _Optional[float] = ..., viability: _Optional[float] = ...) -> None: ...

class AnalyzeViewportRequest(_message.Message):
    __slots__ = ("slide_id", "x", "y", "width", "height", "level", "label")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    x: float
    y: float
    width: float
    height: float
    level: int
    label: str
    def __init__(self, slide_id: _Optional[str] = ..., x: _Optional[float] = ..., y: _Optional[float] = ..., width: _Optional[float] = ..., height: _Optional[float] = ..., level: _Optional[int] = ..., label: _Optional[str] = ...) -> None: ...

class ViewportProgress(_message.Message):
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

class ViewportComplete(_message.Message):
    __slots__ = ("box", "nuclei", "count")
    BOX_FIELD_NUMBER: _ClassVar[int]
    NUCLEI_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    box: AnalysisBox
    nuclei: _containers.RepeatedCompositeFieldContainer[Nucleus]
    count: int
    def __init__(self, box: _Optional[_Union[AnalysisBox, _Mapping]] = ..., nuclei: _Optional[_Iterable[_Union[Nucleus, _Mapping]]] = ..., count: _Optional[int] = ...) -> None: ...

class AnalyzeViewportResponse(_message.Message):
    __slots__ = ("progress", "complete")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    progress: ViewportProgress
    complete: ViewportComplete
    def __init__(self, progress: _Optional[_Union[ViewportProgress, _Mapping]] = ..., complete: _Optional[_Union[ViewportComplete, _Mapping]] = ...) -> None: ...

class GetRoiStatsRequest(_message.Message):
    __slots__ = ("slide_id", "bounds")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    BOUNDS_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    bounds: Bounds
    def __init__(self, slide_id: _Optional[str] = ..., bounds: _Optional[_Union[Bounds, _Mapping]] = ...) -> None: ...

class GetRoiStatsResponse(_message.Message):
    __slots__ = ("slide_id", "total_nuclei", "area_mm2", "density_per_mm2", "neoplastic_ratio", "cell_type_breakdown", "mpp", "bounds_l0")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_NUCLEI_FIELD_NUMBER: _ClassVar[int]
    AREA_MM2_FIELD_NUMBER: _ClassVar[int]
    DENSITY_PER_MM2_FIELD_NUMBER: _ClassVar[int]
    NEOPLASTIC_RATIO_FIELD_NUMBER: _ClassVar[int]
    CELL_TYPE_BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    MPP_FIELD_NUMBER: _ClassVar[int]
    BOUNDS_L0_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    total_nuclei: int
    area_mm2: float
    density_per_mm2: float
    neoplastic_ratio: float
    cell_type_breakdown: _containers.RepeatedCompositeFieldContainer[CellTypeCount]
    mpp: float
    bounds_l0: Bounds
    def __init__(self, slide_id: _Optional[str] = ..., total_nuclei: _Optional[int] = ..., area_mm2: _Optional[float] = ..., density_per_mm2: _Optional[float] = ..., neoplastic_ratio: _Optional[float] = ..., cell_type_breakdown: _Optional[_Iterable[_Union[CellTypeCount, _Mapping]]] = ..., mpp: _Optional[float] = ..., bounds_l0: _Optional[_Union[Bounds, _Mapping]] = ...) -> None: ...

class ListNucleiInViewportRequest(_message.Message):
    __slots__ = ("slide_id", "x", "y", "width", "height", "level", "limit")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    x: float
    y: float
    width: float
    height: float
    level: int
    limit: int
    def __init__(self, slide_id: _Optional[str] = ..., x: _Optional[float] = ..., y: _Optional[float] = ..., width: _Optional[float] = ..., height: _Optional[float] = ..., level: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListNucleiInViewportResponse(_message.Message):
    __slots__ = ("slide_id", "bounds_l0", "nuclei", "truncated")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    BOUNDS_L0_FIELD_NUMBER: _ClassVar[int]
    NUCLEI_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    bounds_l0: Bounds
    nuclei: _containers.RepeatedCompositeFieldContainer[Nucleus]
    truncated: bool
    def __init__(self, slide_id: _Optional[str] = ..., bounds_l0: _Optional[_Union[Bounds, _Mapping]] = ..., nuclei: _Optional[_Iterable[_Union[Nucleus, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class ListAnalysisBoxesRequest(_message.Message):
    __slots__ = ("slide_id",)
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    def __init__(self, slide_id: _Optional[str] = ...) -> None: ...

class ListAnalysisBoxesResponse(_message.Message):
    __slots__ = ("slide_id", "boxes")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    BOXES_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    boxes: _containers.RepeatedCompositeFieldContainer[AnalysisBox]
    def __init__(self, slide_id: _Optional[str] = ..., boxes: _Optional[_Iterable[_Union[AnalysisBox, _Mapping]]] = ...) -> None: ...

class GetAnalysisBoxRequest(_message.Message):
    __slots__ = ("box_id",)
    BOX_ID_FIELD_NUMBER: _ClassVar[int]
    box_id: str
    def __init__(self, box_id: _Optional[str] = ...) -> None: ...

class GetAnalysisBoxResponse(_message.Message):
    __slots__ = ("box", "metrics")
    BOX_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    box: AnalysisBox
    metrics: BoxMetrics
    def __init__(self, box: _Optional[_Union[AnalysisBox, _Mapping]] = ..., metrics: _Optional[_Union[BoxMetrics, _Mapping]] = ...) -> None: ...

class DeleteAnalysisBoxRequest(_message.Message):
    __slots__ = ("box_id",)
    BOX_ID_FIELD_NUMBER: _ClassVar[int]
    box_id: str
    def __init__(self, box_id: _Optional[str] = ...) -> None: ...

class DeleteAnalysisBoxResponse(_message.Message):
    __slots__ = ("deleted_nuclei",)
    DELETED_NUCLEI_FIELD_NUMBER: _ClassVar[int]
    deleted_nuclei: int
    def __init__(self, deleted_nuclei: _Optional[int] = ...) -> None: ...

class DeleteSlideAnalysesRequest(_message.Message):
    __slots__ = ("slide_id",)
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    def __init__(self, slide_id: _Optional[str] = ...) -> None: ...

class DeleteSlideAnalysesResponse(_message.Message):
    __slots__ = ("deleted_boxes", "deleted_nuclei")
    DELETED_BOXES_FIELD_NUMBER: _ClassVar[int]
    DELETED_NUCLEI_FIELD_NUMBER: _ClassVar[int]
    deleted_boxes: int
    deleted_nuclei: int
    def __init__(self, deleted_boxes: _Optional[int] = ..., deleted_nuclei: _Optional[int] = ...) -> None: ...

class SlideRegion(_message.Message):
    __slots__ = ("slide_id", "bounds")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    BOUNDS_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    bounds: Bounds
    def __init__(self, slide_id: _Optional[str] = ..., bounds: _Optional[_Union[Bounds, _Mapping]] = ...) -> None: ...

class ExportGeoJsonRequest(_message.Message):
    __slots__ = ("box_id", "region")
    BOX_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    box_id: str
    region: SlideRegion
    def __init__(self, box_id: _Optional[str] = ..., region: _Optional[_Union[SlideRegion, _Mapping]] = ...) -> None: ...

class ExportGeoJsonResponse(_message.Message):
    __slots__ = ("chunk",)
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    def __init__(self, chunk: _Optional[bytes] = ...) -> None: ...

class StartSlideAnalysisRequest(_message.Message):
    __slots__ = ("slide_id", "label", "region_size")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    REGION_SIZE_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    label: str
    region_size: int
    def __init__(self, slide_id: _Optional[str] = ..., label: _Optional[str] = ..., region_size: _Optional[int] = ...) -> None: ...

class StartSlideAnalysisResponse(_message.Message):
    __slots__ = ("job_id", "box_id", "regions", "tissue_mm2", "message", "estimated_duration_s", "job")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    BOX_ID_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    TISSUE_MM2_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    box_id: str
    regions: int
    tissue_mm2: float
    message: str
    estimated_duration_s: float
    job: _common_pb2.Job
    def __init__(self, job_id: _Optional[str] = ..., box_id: _Optional[str] = ..., regions: _Optional[int] = ..., tissue_mm2: _Optional[float] = ..., message: _Optional[str] = ..., estimated_duration_s: _Optional[float] = ..., job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class ListSlideAnalysisRegionsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class SlideAnalysisRegion(_message.Message):
    __slots__ = ("index", "bounds", "stored", "nuclei", "stored_at")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    BOUNDS_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    NUCLEI_FIELD_NUMBER: _ClassVar[int]
    STORED_AT_FIELD_NUMBER: _ClassVar[int]
    index: int
    bounds: Bounds
    stored: bool
    nuclei: int
    stored_at: _timestamp_pb2.Timestamp
    def __init__(self, index: _Optional[int] = ..., bounds: _Optional[_Union[Bounds, _Mapping]] = ..., stored: _Optional[bool] = ..., nuclei: _Optional[int] = ..., stored_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSlideAnalysisRegionsResponse(_message.Message):
    __slots__ = ("job_id", "slide_id", "box_id", "regions")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    BOX_ID_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    slide_id: str
    box_id: str
    regions: _containers.RepeatedCompositeFieldContainer[SlideAnalysisRegion]
    def __init__(self, job_id: _Optional[str] = ..., slide_id: _Optional[str] = ..., box_id: _Optional[str] = ..., regions: _Optional[_Iterable[_Union[SlideAnalysisRegion, _Mapping]]] = ...) -> None: ...
