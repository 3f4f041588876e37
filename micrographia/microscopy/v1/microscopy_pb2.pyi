import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from micrographia.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SortKey(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SORT_KEY_UNSPECIFIED: _ClassVar[SortKey]
    SORT_KEY_NAME: _ClassVar[SortKey]
    SORT_KEY_SIZE: _ClassVar[SortKey]
    SORT_KEY_MODIFIED_TIME: _ClassVar[SortKey]

class SortOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SORT_ORDER_UNSPECIFIED: _ClassVar[SortOrder]
    SORT_ORDER_ASC: _ClassVar[SortOrder]
    SORT_ORDER_DESC: _ClassVar[SortOrder]
SORT_KEY_UNSPECIFIED: SortKey
SORT_KEY_NAME: SortKey
SORT_KEY_SIZE: SortKey
SORT_KEY_MODIFIED_TIME: SortKey
SORT_ORDER_UNSPECIFIED: SortOrder
SORT_ORDER_ASC: SortOrder
SORT_ORDER_DESC: SortOrder

class MicroscopyMetadata(_message.Message):
    __slots__ = ("file_path", "file_type", "n_fovs", "n_frames", "n_channels", "channel_names", "pixel_size_um", "time_points", "time_unit", "dtype", "shape", "n_z", "z_step_um", "full_shape", "axes", "size_bytes")
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    FILE_TYPE_FIELD_NUMBER: _ClassVar[int]
    N_FOVS_FIELD_NUMBER: _ClassVar[int]
    N_FRAMES_FIELD_NUMBER: _ClassVar[int]
    N_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    PIXEL_SIZE_UM_FIELD_NUMBER: _ClassVar[int]
    TIME_POINTS_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIT_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    N_Z_FIELD_NUMBER: _ClassVar[int]
    Z_STEP_UM_FIELD_NUMBER: _ClassVar[int]
    FULL_SHAPE_FIELD_NUMBER: _ClassVar[int]
    AXES_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    file_path: str
    file_type: str
    n_fovs: int
    n_frames: int
    n_channels: int
    channel_names: _containers.RepeatedScalarFieldContainer[str]
    pixel_size_um: float
    time_points: _containers.RepeatedScalarFieldContainer[float]
    time_unit: str
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    n_z: int
    z_step_um: float
    full_shape: _containers.RepeatedScalarFieldContainer[int]
    axes: str
    size_bytes: int
    def __init__(self, file_path: _Optional[str] = ..., file_type: _Optional[str] = ..., n_fovs: _Optional[int] = ..., n_frames: _Optional[int] = ..., n_channels: _Optional[int] = ..., channel_names: _Optional[_Iterable[str]] = ..., pixel_size_um: _Optional[float] = ..., time_points: _Optional[_Iterable[float]] = ..., time_unit: _Optional[str] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., n_z: _Optional[int] = ..., z_step_um: _Optional[float] = ..., full_shape: _Optional[_Iterable[int]] = ..., axes: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class LoadMetadataRequest(_message.Message):
    __slots__ = ("file_path",)
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    file_path: str
    def __init__(self, file_path: _Optional[str] = ...) -> None: ...

class LoadMetadataResponse(_message.Message):
    __slots__ = ("metadata",)
    METADATA_FIELD_NUMBER: _ClassVar[int]
    metadata: MicroscopyMetadata
    def __init__(self, metadata: _Optional[_Union[MicroscopyMetadata, _Mapping]] = ...) -> None: ...

class Feature(_message.Message):
    __slots__ = ("id", "name", "description", "units")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    units: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., units: _Optional[str] = ...) -> None: ...

class ListFeaturesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListFeaturesResponse(_message.Message):
    __slots__ = ("phase_features", "fluorescence_features")
    PHASE_FEATURES_FIELD_NUMBER: _ClassVar[int]
    FLUORESCENCE_FEATURES_FIELD_NUMBER: _ClassVar[int]
    phase_features: _containers.RepeatedCompositeFieldContainer[Feature]
    fluorescence_features: _containers.RepeatedCompositeFieldContainer[Feature]
    def __init__(self, phase_features: _Optional[_Iterable[_Union[Feature, _Mapping]]] = ..., fluorescence_features: _Optional[_Iterable[_Union[Feature, _Mapping]]] = ...) -> None: ...

class GetProcessingConfigSchemaRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetProcessingConfigSchemaResponse(_message.Message):
    __slots__ = ("json_schema",)
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    json_schema: str
    def __init__(self, json_schema: _Optional[str] = ...) -> None: ...

class FrameAddress(_message.Message):
    __slots__ = ("file_path", "fov", "t", "channel", "z")
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    FOV_FIELD_NUMBER: _ClassVar[int]
    T_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    file_path: str
    fov: int
    t: int
    channel: int
    z: int
    def __init__(self, file_path: _Optional[str] = ..., fov: _Optional[int] = ..., t: _Optional[int] = ..., channel: _Optional[int] = ..., z: _Optional[int] = ...) -> None: ...

class ReadFrameRequest(_message.Message):
    __slots__ = ("frame", "shared_memory")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    SHARED_MEMORY_FIELD_NUMBER: _ClassVar[int]
    frame: FrameAddress
    shared_memory: SharedMemoryTarget
    def __init__(self, frame: _Optional[_Union[FrameAddress, _Mapping]] = ..., shared_memory: _Optional[_Union[SharedMemoryTarget, _Mapping]] = ...) -> None: ...

class SharedMemoryTarget(_message.Message):
    __slots__ = ("name", "offset", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    offset: int
    size: int
    def __init__(self, name: _Optional[str] = ..., offset: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class ReadFrameResponse(_message.Message):
    __slots__ = ("data", "dtype", "shape", "in_shared_memory")
    DATA_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    IN_SHARED_MEMORY_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    in_shared_memory: bool
    def __init__(self, data: _Optional[bytes] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., in_shared_memory: _Optional[bool] = ...) -> None: ...

class RenderFrameRequest(_message.Message):
    __slots__ = ("frame", "low_percentile", "high_percentile", "max_size", "overlay_job_id")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    LOW_PERCENTILE_FIELD_NUMBER: _ClassVar[int]
    HIGH_PERCENTILE_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    OVERLAY_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    frame: FrameAddress
    low_percentile: float
    high_percentile: float
    max_size: int
    overlay_job_id: str
    def __init__(self, frame: _Optional[_Union[FrameAddress, _Mapping]] = ..., low_percentile: _Optional[float] = ..., high_percentile: _Optional[float] = ..., max_size: _Optional[int] = ..., overlay_job_id: _Optional[str] = ...) -> None: ...

class RenderFrameResponse(_message.Message):
    __slots__ = ("png", "width", "height", "display_min", "display_max")
    PNG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_MIN_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_MAX_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    width: int
    height: int
    display_min: float
    display_max: float
    def __init__(self, png: _Optional[bytes] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., display_min: _Optional[float] = ..., display_max: _Optional[float] = ...) -> None: ...

class FileEntry(_message.Message):
    __slots__ = ("name", "path", "is_directory", "is_file", "size_bytes", "modified_time", "extension", "is_microscopy_file")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    IS_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    IS_FILE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_TIME_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_FIELD_NUMBER: _ClassVar[int]
    IS_MICROSCOPY_FILE_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    is_directory: bool
    is_file: bool
    size_bytes: int
    modified_time: _timestamp_pb2.Timestamp
    extension: str
    is_microscopy_file: bool
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., is_directory: _Optional[bool] = ..., is_file: _Optional[bool] = ..., size_bytes: _Optional[int] = ..., modified_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., extension: _Optional[str] = ..., is_microscopy_file: _Optional[bool] = ...) -> None: ...

class ListDirectoryRequest(_message.Message):
    __slots__ = ("directory_path", "include_hidden", "filter_extensions", "sort_by", "sort_order")
    DIRECTORY_PATH_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    SORT_BY_FIELD_NUMBER: _ClassVar[int]
    SORT_ORDER_FIELD_NUMBER: _ClassVar[int]
    directory_path: str
    include_hidden: bool
    filter_extensions: _containers.RepeatedScalarFieldContainer[str]
    sort_by: SortKey
    sort_order: SortOrder
    def __init__(self, directory_path: _Optional[str] = ..., include_hidden: _Optional[bool] = ..., filter_extensions: _Optional[_Iterable[str]] = ..., sort_by: _Optional[_Union[SortKey, str]] = ..., sort_order: _Optional[_Union[SortOrder, str]] = ...) -> None: ...

class ListDirectoryResponse(_message.Message):
    __slots__ = ("directory_path", "items", "total_items", "filtered_items")
    DIRECTORY_PATH_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ITEMS_FIELD_NUMBER: _ClassVar[int]
    FILTERED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    directory_path: str
    items: _containers.RepeatedCompositeFieldContainer[FileEntry]
    total_items: int
    filtered_items: int
    def __init__(self, directory_path: _Optional[str] = ..., items: _Optional[_Iterable[_Union[FileEntry, _Mapping]]] = ..., total_items: _Optional[int] = ..., filtered_items: _Optional[int] = ...) -> None: ...

class SearchFilesRequest(_message.Message):
    __slots__ = ("search_path", "pattern", "extensions", "max_depth", "include_hidden", "case_sensitive", "limit")
    SEARCH_PATH_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    CASE_SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    search_path: str
    pattern: str
    extensions: _containers.RepeatedScalarFieldContainer[str]
    max_depth: int
    include_hidden: bool
    case_sensitive: bool
    limit: int
    def __init__(self, search_path: _Optional[str] = ..., pattern: _Optional[str] = ..., extensions: _Optional[_Iterable[str]] = ..., max_depth: _Optional[int] = ..., include_hidden: _Optional[bool] = ..., case_sensitive: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class SearchFilesResponse(_message.Message):
    __slots__ = ("search_path", "files", "total_found", "search_time_s", "truncated")
    SEARCH_PATH_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FOUND_FIELD_NUMBER: _ClassVar[int]
    SEARCH_TIME_S_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    search_path: str
    files: _containers.RepeatedCompositeFieldContainer[FileEntry]
    total_found: int
    search_time_s: float
    truncated: bool
    def __init__(self, search_path: _Optional[str] = ..., files: _Optional[_Iterable[_Union[FileEntry, _Mapping]]] = ..., total_found: _Optional[int] = ..., search_time_s: _Optional[float] = ..., truncated: _Optional[bool] = ...) -> None: ...

class GetFileInfoRequest(_message.Message):
    __slots__ = ("file_path",)
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    file_path: str
    def __init__(self, file_path: _Optional[str] = ...) -> None: ...

class GetFileInfoResponse(_message.Message):
    __slots__ = ("file_info", "is_microscopy_file", "metadata_preview", "metadata_error")
    FILE_INFO_FIELD_NUMBER: _ClassVar[int]
    IS_MICROSCOPY_FILE_FIELD_NUMBER: _ClassVar[int]
    METADATA_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    METADATA_ERROR_FIELD_NUMBER: _ClassVar[int]
    file_info: FileEntry
    is_microscopy_file: bool
    metadata_preview: MicroscopyMetadata
    metadata_error: str
    def __init__(self, file_info: _Optional[_Union[FileEntry, _Mapping]] = ..., is_microscopy_file: _Optional[bool] = ..., metadata_preview: _Optional[_Union[MicroscopyMetadata, _Mapping]] = ..., metadata_error: _Optional[str] = ...) -> None: ...

class ListRecentFilesRequest(_message.Message):
    __slots__ = ("limit", "extensions")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    extensions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, limit: _Optional[int] = ..., extensions: _Optional[_Iterable[str]] = ...) -> None: ...

class RecentFile(_message.Message):
    __slots__ = ("path", "accessed_at", "metadata")
    PATH_FIELD_NUMBER: _ClassVar[int]
    ACCESSED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    path: str
    accessed_at: _timestamp_pb2.Timestamp
    metadata: MicroscopyMetadata
    def __init__(self, path: _Optional[str] = ..., accessed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Union[MicroscopyMetadata, _Mapping]] = ...) -> None: ...

class ListRecentFilesResponse(_message.Message):
    __slots__ = ("recent_files", "tracked")
    RECENT_FILES_FIELD_NUMBER: _ClassVar[int]
    TRACKED_FIELD_NUMBER: _ClassVar[int]
    recent_files: _containers.RepeatedCompositeFieldContainer[RecentFile]
    tracked: bool
    def __init__(self, recent_files: _Optional[_Iterable[_Union[RecentFile, _Mapping]]] = ..., tracked: _Optional[bool] = ...) -> None: ...

class ChannelSelection(_message.Message):
    __slots__ = ("channel", "features")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    channel: int
    features: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channel: _Optional[int] = ..., features: _Optional[_Iterable[str]] = ...) -> None: ...

class Channels(_message.Message):
    __slots__ = ("phase", "fluorescence")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    FLUORESCENCE_FIELD_NUMBER: _ClassVar[int]
    phase: ChannelSelection
    fluorescence: _containers.RepeatedCompositeFieldContainer[ChannelSelection]
    def __init__(self, phase: _Optional[_Union[ChannelSelection, _Mapping]] = ..., fluorescence: _Optional[_Iterable[_Union[ChannelSelection, _Mapping]]] = ...) -> None: ...

class ProcessingParameters(_message.Message):
    __slots__ = ("fov_start", "fov_end", "batch_size", "n_workers", "background_weight", "positions", "segmentation_method", "tracking_method", "min_frames", "border_margin", "max_gap", "background_method", "cellpose")
    FOV_START_FIELD_NUMBER: _ClassVar[int]
    FOV_END_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    N_WORKERS_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    TRACKING_METHOD_FIELD_NUMBER: _ClassVar[int]
    MIN_FRAMES_FIELD_NUMBER: _ClassVar[int]
    BORDER_MARGIN_FIELD_NUMBER: _ClassVar[int]
    MAX_GAP_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_METHOD_FIELD_NUMBER: _ClassVar[int]
    CELLPOSE_FIELD_NUMBER: _ClassVar[int]
    fov_start: int
    fov_end: int
    batch_size: int
    n_workers: int
    background_weight: float
    positions: str
    segmentation_method: str
    tracking_method: str
    min_frames: int
    border_margin: int
    max_gap: int
    background_method: str
    cellpose: CellposeParameters
    def __init__(self, fov_start: _Optional[int] = ..., fov_end: _Optional[int] = ..., batch_size: _Optional[int] = ..., n_workers: _Optional[int] = ..., background_weight: _Optional[float] = ..., positions: _Optional[str] = ..., segmentation_method: _Optional[str] = ..., tracking_method: _Optional[str] = ..., min_frames: _Optional[int] = ..., border_margin: _Optional[int] = ..., max_gap: _Optional[int] = ..., background_method: _Optional[str] = ..., cellpose: _Optional[_Union[CellposeParameters, _Mapping]] = ...) -> None: ...

class CellposeParameters(_message.Message):
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

class StartWorkflowRequest(_message.Message):
    __slots__ = ("microscopy_path", "output_dir", "channels", "parameters", "simulate")
    MICROSCOPY_PATH_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SIMULATE_FIELD_NUMBER: _ClassVar[int]
    microscopy_path: str
    output_dir: str
    channels: Channels
    parameters: ProcessingParameters
    simulate: bool
    def __init__(self, microscopy_path: _Optional[str] = ..., output_dir: _Optional[str] = ..., channels: _Optional[_Union[Channels, _Mapping]] = ..., parameters: _Optional[_Union[ProcessingParameters, _Mapping]] = ..., simulate: _Optional[bool] = ...) -> None: ...

class StartWorkflowResponse(_message.Message):
    __slots__ = ("job_id", "message", "estimated_duration_s", "job")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    message: str
    estimated_duration_s: float
    job: _common_pb2.Job
    def __init__(self, job_id: _Optional[str] = ..., message: _Optional[str] = ..., estimated_duration_s: _Optional[float] = ..., job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class GetWorkflowResultsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WorkflowStats(_message.Message):
    __slots__ = ("total_cells", "total_frames", "processing_time_s")
    TOTAL_CELLS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FRAMES_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_TIME_S_FIELD_NUMBER: _ClassVar[int]
    total_cells: int
    total_frames: int
    processing_time_s: float
    def __init__(self, total_cells: _Optional[int] = ..., total_frames: _Optional[int] = ..., processing_time_s: _Optional[float] = ...) -> None: ...

class GetWorkflowResultsResponse(_message.Message):
    __slots__ = ("job_id", "output_dir", "config_file", "traces", "stats", "results_index")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FILE_FIELD_NUMBER: _ClassVar[int]
    TRACES_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_INDEX_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    output_dir: str
    config_file: str
    traces: _containers.RepeatedScalarFieldContainer[str]
    stats: WorkflowStats
    results_index: str
    def __init__(self, job_id: _Optional[str] = ..., output_dir: _Optional[str] = ..., config_file: _Optional[str] = ..., traces: _Optional[_Iterable[str]] = ..., stats: _Optional[_Union[WorkflowStats, _Mapping]] = ..., results_index: _Optional[str] = ...) -> None: ...

class MergeResultsRequest(_message.Message):
    __slots__ = ("sample_yaml", "input_dir", "output_dir")
    SAMPLE_YAML_FIELD_NUMBER: _ClassVar[int]
    INPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    sample_yaml: str
    input_dir: str
    output_dir: str
    def __init__(self, sample_yaml: _Optional[str] = ..., input_dir: _Optional[str] = ..., output_dir: _Optional[str] = ...) -> None: ...

class MergeStats(_message.Message):
    __slots__ = ("samples_processed", "total_cells", "files_created")
    SAMPLES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CELLS_FIELD_NUMBER: _ClassVar[int]
    FILES_CREATED_FIELD_NUMBER: _ClassVar[int]
    samples_processed: int
    total_cells: int
    files_created: int
    def __init__(self, samples_processed: _Optional[int] = ..., total_cells: _Optional[int] = ..., files_created: _Optional[int] = ...) -> None: ...

class MergeResultsResponse(_message.Message):
    __slots__ = ("message", "output_dir", "merged_files", "stats", "feature_files")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    MERGED_FILES_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FILES_FIELD_NUMBER: _ClassVar[int]
    message: str
    output_dir: str
    merged_files: _containers.RepeatedScalarFieldContainer[str]
    stats: MergeStats
    feature_files: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, message: _Optional[str] = ..., output_dir: _Optional[str] = ..., merged_files: _Optional[_Iterable[str]] = ..., stats: _Optional[_Union[MergeStats, _Mapping]] = ..., feature_files: _Optional[_Iterable[str]] = ...) -> None: ...

class CellSummary(_message.Message):
    __slots__ = ("fov", "cell", "good", "n_frames", "first_frame", "last_frame", "parent", "daughters", "feature_means")
    class FeatureMeansEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    FOV_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    GOOD_FIELD_NUMBER: _ClassVar[int]
    N_FRAMES_FIELD_NUMBER: _ClassVar[int]
    FIRST_FRAME_FIELD_NUMBER: _ClassVar[int]
    LAST_FRAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DAUGHTERS_FIELD_NUMBER: _ClassVar[int]
    FEATURE_MEANS_FIELD_NUMBER: _ClassVar[int]
    fov: int
    cell: int
    good: bool
    n_frames: int
    first_frame: int
    last_frame: int
    parent: int
    daughters: _containers.RepeatedScalarFieldContainer[int]
    feature_means: _containers.ScalarMap[str, float]
    def __init__(self, fov: _Optional[int] = ..., cell: _Optional[int] = ..., good: _Optional[bool] = ..., n_frames: _Optional[int] = ..., first_frame: _Optional[int] = ..., last_frame: _Optional[int] = ..., parent: _Optional[int] = ..., daughters: _Optional[_Iterable[int]] = ..., feature_means: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ListCellsRequest(_message.Message):
    __slots__ = ("traces_path", "sort_by", "descending", "offset", "limit", "good")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    SORT_BY_FIELD_NUMBER: _ClassVar[int]
    DESCENDING_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    GOOD_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    sort_by: str
    descending: bool
    offset: int
    limit: int
    good: bool
    def __init__(self, traces_path: _Optional[str] = ..., sort_by: _Optional[str] = ..., descending: _Optional[bool] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ..., good: _Optional[bool] = ...) -> None: ...

class ListCellsResponse(_message.Message):
    __slots__ = ("traces_path", "total_cells", "good_cells", "all_cells", "features", "cells")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CELLS_FIELD_NUMBER: _ClassVar[int]
    GOOD_CELLS_FIELD_NUMBER: _ClassVar[int]
    ALL_CELLS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    total_cells: int
    good_cells: int
    all_cells: int
    features: _containers.RepeatedScalarFieldContainer[str]
    cells: _containers.RepeatedCompositeFieldContainer[CellSummary]
    def __init__(self, traces_path: _Optional[str] = ..., total_cells: _Optional[int] = ..., good_cells: _Optional[int] = ..., all_cells: _Optional[int] = ..., features: _Optional[_Iterable[str]] = ..., cells: _Optional[_Iterable[_Union[CellSummary, _Mapping]]] = ...) -> None: ...

class GetCellRequest(_message.Message):
    __slots__ = ("traces_path", "fov", "cell")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    FOV_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    fov: int
    cell: int
    def __init__(self, traces_path: _Optional[str] = ..., fov: _Optional[int] = ..., cell: _Optional[int] = ...) -> None: ...

class TraceSeries(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class GetCellResponse(_message.Message):
    __slots__ = ("traces_path", "cell", "series")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    cell: CellSummary
    series: _containers.RepeatedCompositeFieldContainer[TraceSeries]
    def __init__(self, traces_path: _Optional[str] = ..., cell: _Optional[_Union[CellSummary, _Mapping]] = ..., series: _Optional[_Iterable[_Union[TraceSeries, _Mapping]]] = ...) -> None: ...

class CellMark(_message.Message):
    __slots__ = ("fov", "cell", "good")
    FOV_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    GOOD_FIELD_NUMBER: _ClassVar[int]
    fov: int
    cell: int
    good: bool
    def __init__(self, fov: _Optional[int] = ..., cell: _Optional[int] = ..., good: _Optional[bool] = ...) -> None: ...

class QualityRule(_message.Message):
    __slots__ = ("min_frames", "border_margin", "good")
    MIN_FRAMES_FIELD_NUMBER: _ClassVar[int]
    BORDER_MARGIN_FIELD_NUMBER: _ClassVar[int]
    GOOD_FIELD_NUMBER: _ClassVar[int]
    min_frames: int
    border_margin: int
    good: bool
    def __init__(self, min_frames: _Optional[int] = ..., border_margin: _Optional[int] = ..., good: _Optional[bool] = ...) -> None: ...

class SetCellQualityRequest(_message.Message):
    __slots__ = ("traces_path", "cells", "rule")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    cells: _containers.RepeatedCompositeFieldContainer[CellMark]
    rule: QualityRule
    def __init__(self, traces_path: _Optional[str] = ..., cells: _Optional[_Iterable[_Union[CellMark, _Mapping]]] = ..., rule: _Optional[_Union[QualityRule, _Mapping]] = ...) -> None: ...

class SetCellQualityResponse(_message.Message):
    __slots__ = ("traces_path", "cells_changed", "marked", "good_cells", "total_cells")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    CELLS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    MARKED_FIELD_NUMBER: _ClassVar[int]
    GOOD_CELLS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CELLS_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    cells_changed: int
    marked: _containers.RepeatedCompositeFieldContainer[CellMark]
    good_cells: int
    total_cells: int
    def __init__(self, traces_path: _Optional[str] = ..., cells_changed: _Optional[int] = ..., marked: _Optional[_Iterable[_Union[CellMark, _Mapping]]] = ..., good_cells: _Optional[int] = ..., total_cells: _Optional[int] = ...) -> None: ...

class RenderCellStripRequest(_message.Message):
    __slots__ = ("traces_path", "fov", "cell", "channel", "n_crops", "crop_size")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    FOV_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    N_CROPS_FIELD_NUMBER: _ClassVar[int]
    CROP_SIZE_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    fov: int
    cell: int
    channel: int
    n_crops: int
    crop_size: int
    def __init__(self, traces_path: _Optional[str] = ..., fov: _Optional[int] = ..., cell: _Optional[int] = ..., channel: _Optional[int] = ..., n_crops: _Optional[int] = ..., crop_size: _Optional[int] = ...) -> None: ...

class RenderCellStripResponse(_message.Message):
    __slots__ = ("png", "frames")
    PNG_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    frames: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, png: _Optional[bytes] = ..., frames: _Optional[_Iterable[int]] = ...) -> None: ...

class RenderCellsFrameRequest(_message.Message):
    __slots__ = ("traces_path", "t", "channel", "max_size")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    T_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    t: int
    channel: int
    max_size: int
    def __init__(self, traces_path: _Optional[str] = ..., t: _Optional[int] = ..., channel: _Optional[int] = ..., max_size: _Optional[int] = ...) -> None: ...

class RenderCellsFrameResponse(_message.Message):
    __slots__ = ("frame", "n_frames", "frame_height", "frame_width")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    N_FRAMES_FIELD_NUMBER: _ClassVar[int]
    FRAME_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FRAME_WIDTH_FIELD_NUMBER: _ClassVar[int]
    frame: RenderFrameResponse
    n_frames: int
    frame_height: int
    frame_width: int
    def __init__(self, frame: _Optional[_Union[RenderFrameResponse, _Mapping]] = ..., n_frames: _Optional[int] = ..., frame_height: _Optional[int] = ..., frame_width: _Optional[int] = ...) -> None: ...

class FindCellRequest(_message.Message):
    __slots__ = ("traces_path", "t", "x", "y")
    TRACES_PATH_FIELD_NUMBER: _ClassVar[int]
    T_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    traces_path: str
    t: int
    x: int
    y: int
    def __init__(self, traces_path: _Optional[str] = ..., t: _Optional[int] = ..., x: _Optional[int] = ..., y: _Optional[int] = ...) -> None: ...

class FindCellResponse(_message.Message):
    __slots__ = ("found", "fov", "cell")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    FOV_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    found: bool
    fov: int
    cell: int
    def __init__(self, found: _Optional[bool] = ..., fov: _Optional[int] = ..., cell: _Optional[int] = ...) -> None: ...

class SampleDefinition(_message.Message):
    __slots__ = ("name", "fovs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FOVS_FIELD_NUMBER: _ClassVar[int]
    name: str
    fovs: str
    def __init__(self, name: _Optional[str] = ..., fovs: _Optional[str] = ...) -> None: ...

class GetSamplesRequest(_message.Message):
    __slots__ = ("sample_yaml", "input_dir")
    SAMPLE_YAML_FIELD_NUMBER: _ClassVar[int]
    INPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    sample_yaml: str
    input_dir: str
    def __init__(self, sample_yaml: _Optional[str] = ..., input_dir: _Optional[str] = ...) -> None: ...

class GetSamplesResponse(_message.Message):
    __slots__ = ("sample_yaml", "samples", "available_fovs")
    SAMPLE_YAML_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FOVS_FIELD_NUMBER: _ClassVar[int]
    sample_yaml: str
    samples: _containers.RepeatedCompositeFieldContainer[SampleDefinition]
    available_fovs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sample_yaml: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[SampleDefinition, _Mapping]]] = ..., available_fovs: _Optional[_Iterable[int]] = ...) -> None: ...

class SaveSamplesRequest(_message.Message):
    __slots__ = ("sample_yaml", "samples", "input_dir", "merge_output_dir")
    SAMPLE_YAML_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    INPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    MERGE_OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    sample_yaml: str
    samples: _containers.RepeatedCompositeFieldContainer[SampleDefinition]
    input_dir: str
    merge_output_dir: str
    def __init__(self, sample_yaml: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[SampleDefinition, _Mapping]]] = ..., input_dir: _Optional[str] = ..., merge_output_dir: _Optional[str] = ...) -> None: ...

class SaveSamplesResponse(_message.Message):
    __slots__ = ("sample_yaml", "samples", "merge")
    SAMPLE_YAML_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MERGE_FIELD_NUMBER: _ClassVar[int]
    sample_yaml: str
    samples: _containers.RepeatedCompositeFieldContainer[SampleDefinition]
    merge: MergeResultsResponse
    def __init__(self, sample_yaml: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[SampleDefinition, _Mapping]]] = ..., merge: _Optional[_Union[MergeResultsResponse, _Mapping]] = ...) -> None: ...
