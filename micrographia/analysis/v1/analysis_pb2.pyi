from micrographia.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Range(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class ModelParameter(_message.Message):
    __slots__ = ("name", "symbol", "default", "bounds", "description", "fixed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    BOUNDS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FIXED_FIELD_NUMBER: _ClassVar[int]
    name: str
    symbol: str
    default: float
    bounds: Range
    description: str
    fixed: bool
    def __init__(self, name: _Optional[str] = ..., symbol: _Optional[str] = ..., default: _Optional[float] = ..., bounds: _Optional[_Union[Range, _Mapping]] = ..., description: _Optional[str] = ..., fixed: _Optional[bool] = ...) -> None: ...

class FitModel(_message.Message):
    __slots__ = ("name", "description", "equation", "parameters")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EQUATION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    equation: str
    parameters: _containers.RepeatedCompositeFieldContainer[ModelParameter]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., equation: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[ModelParameter, _Mapping]]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[FitModel]
    def __init__(self, models: _Optional[_Iterable[_Union[FitModel, _Mapping]]] = ...) -> None: ...

class TraceColumns(_message.Message):
    __slots__ = ("time_column", "value_column", "cell_column", "fov_column")
    TIME_COLUMN_FIELD_NUMBER: _ClassVar[int]
    VALUE_COLUMN_FIELD_NUMBER: _ClassVar[int]
    CELL_COLUMN_FIELD_NUMBER: _ClassVar[int]
    FOV_COLUMN_FIELD_NUMBER: _ClassVar[int]
    time_column: str
    value_column: str
    cell_column: str
    fov_column: str
    def __init__(self, time_column: _Optional[str] = ..., value_column: _Optional[str] = ..., cell_column: _Optional[str] = ..., fov_column: _Optional[str] = ...) -> None: ...

class LoadTracesRequest(_message.Message):
    __slots__ = ("csv_path", "options", "include_bad_cells")
    CSV_PATH_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BAD_CELLS_FIELD_NUMBER: _ClassVar[int]
    csv_path: str
    options: TraceColumns
    include_bad_cells: bool
    def __init__(self, csv_path: _Optional[str] = ..., options: _Optional[_Union[TraceColumns, _Mapping]] = ..., include_bad_cells: _Optional[bool] = ...) -> None: ...

class TraceSummary(_message.Message):
    __slots__ = ("mean_trace_count_per_cell", "cells_with_gaps", "total_observations", "excluded_cells")
    MEAN_TRACE_COUNT_PER_CELL_FIELD_NUMBER: _ClassVar[int]
    CELLS_WITH_GAPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_CELLS_FIELD_NUMBER: _ClassVar[int]
    mean_trace_count_per_cell: float
    cells_with_gaps: int
    total_observations: int
    excluded_cells: int
    def __init__(self, mean_trace_count_per_cell: _Optional[float] = ..., cells_with_gaps: _Optional[int] = ..., total_observations: _Optional[int] = ..., excluded_cells: _Optional[int] = ...) -> None: ...

class LoadTracesResponse(_message.Message):
    __slots__ = ("n_cells", "n_timepoints", "n_fovs", "time_units", "columns", "time_range", "value_range", "summary")
    N_CELLS_FIELD_NUMBER: _ClassVar[int]
    N_TIMEPOINTS_FIELD_NUMBER: _ClassVar[int]
    N_FOVS_FIELD_NUMBER: _ClassVar[int]
    TIME_UNITS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    VALUE_RANGE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    n_cells: int
    n_timepoints: int
    n_fovs: int
    time_units: str
    columns: _containers.RepeatedScalarFieldContainer[str]
    time_range: Range
    value_range: Range
    summary: TraceSummary
    def __init__(self, n_cells: _Optional[int] = ..., n_timepoints: _Optional[int] = ..., n_fovs: _Optional[int] = ..., time_units: _Optional[str] = ..., columns: _Optional[_Iterable[str]] = ..., time_range: _Optional[_Union[Range, _Mapping]] = ..., value_range: _Optional[_Union[Range, _Mapping]] = ..., summary: _Optional[_Union[TraceSummary, _Mapping]] = ...) -> None: ...

class FittingOptions(_message.Message):
    __slots__ = ("good_fits_only", "parallel", "n_workers", "columns", "include_bad_cells")
    GOOD_FITS_ONLY_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_FIELD_NUMBER: _ClassVar[int]
    N_WORKERS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BAD_CELLS_FIELD_NUMBER: _ClassVar[int]
    good_fits_only: bool
    parallel: bool
    n_workers: int
    columns: TraceColumns
    include_bad_cells: bool
    def __init__(self, good_fits_only: _Optional[bool] = ..., parallel: _Optional[bool] = ..., n_workers: _Optional[int] = ..., columns: _Optional[_Union[TraceColumns, _Mapping]] = ..., include_bad_cells: _Optional[bool] = ...) -> None: ...

class StartFittingRequest(_message.Message):
    __slots__ = ("csv_path", "model_type", "model_params", "model_bounds", "options")
    class ModelParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ModelBoundsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Range
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Range, _Mapping]] = ...) -> None: ...
    CSV_PATH_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_PARAMS_FIELD_NUMBER: _ClassVar[int]
    MODEL_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    csv_path: str
    model_type: str
    model_params: _containers.ScalarMap[str, float]
    model_bounds: _containers.MessageMap[str, Range]
    options: FittingOptions
    def __init__(self, csv_path: _Optional[str] = ..., model_type: _Optional[str] = ..., model_params: _Optional[_Mapping[str, float]] = ..., model_bounds: _Optional[_Mapping[str, Range]] = ..., options: _Optional[_Union[FittingOptions, _Mapping]] = ...) -> None: ...

class StartFittingResponse(_message.Message):
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

class GetFittingResultsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class FitSummary(_message.Message):
    __slots__ = ("total_cells", "successful_fits", "failed_fits", "mean_r_squared", "std_r_squared")
    TOTAL_CELLS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_FITS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FITS_FIELD_NUMBER: _ClassVar[int]
    MEAN_R_SQUARED_FIELD_NUMBER: _ClassVar[int]
    STD_R_SQUARED_FIELD_NUMBER: _ClassVar[int]
    total_cells: int
    successful_fits: int
    failed_fits: int
    mean_r_squared: float
    std_r_squared: float
    def __init__(self, total_cells: _Optional[int] = ..., successful_fits: _Optional[int] = ..., failed_fits: _Optional[int] = ..., mean_r_squared: _Optional[float] = ..., std_r_squared: _Optional[float] = ...) -> None: ...

class ParameterStats(_message.Message):
    __slots__ = ("name", "mean", "std", "min", "max")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STD_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    name: str
    mean: float
    std: float
    min: float
    max: float
    def __init__(self, name: _Optional[str] = ..., mean: _Optional[float] = ..., std: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class QualityDistribution(_message.Message):
    __slots__ = ("good_r2", "medium_r2", "poor_r2")
    GOOD_R2_FIELD_NUMBER: _ClassVar[int]
    MEDIUM_R2_FIELD_NUMBER: _ClassVar[int]
    POOR_R2_FIELD_NUMBER: _ClassVar[int]
    good_r2: int
    medium_r2: int
    poor_r2: int
    def __init__(self, good_r2: _Optional[int] = ..., medium_r2: _Optional[int] = ..., poor_r2: _Optional[int] = ...) -> None: ...

class GetFittingResultsResponse(_message.Message):
    __slots__ = ("job_id", "results_file", "summary", "model_type", "parameters", "quality_distribution")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FILE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    results_file: str
    summary: FitSummary
    model_type: str
    parameters: _containers.RepeatedCompositeFieldContainer[ParameterStats]
    quality_distribution: QualityDistribution
    def __init__(self, job_id: _Optional[str] = ..., results_file: _Optional[str] = ..., summary: _Optional[_Union[FitSummary, _Mapping]] = ..., model_type: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[ParameterStats, _Mapping]]] = ..., quality_distribution: _Optional[_Union[QualityDistribution, _Mapping]] = ...) -> None: ...

class PlotCellFitRequest(_message.Message):
    __slots__ = ("job_id", "fov", "cell")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FOV_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    fov: int
    cell: int
    def __init__(self, job_id: _Optional[str] = ..., fov: _Optional[int] = ..., cell: _Optional[int] = ...) -> None: ...

class PlotCellFitResponse(_message.Message):
    __slots__ = ("png", "success", "r_squared", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PNG_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    R_SQUARED_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    success: bool
    r_squared: float
    parameters: _containers.ScalarMap[str, float]
    def __init__(self, png: _Optional[bytes] = ..., success: _Optional[bool] = ..., r_squared: _Optional[float] = ..., parameters: _Optional[_Mapping[str, float]] = ...) -> None: ...

class PlotParameterHistogramRequest(_message.Message):
    __slots__ = ("job_id", "parameter", "bins")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    BINS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    parameter: str
    bins: int
    def __init__(self, job_id: _Optional[str] = ..., parameter: _Optional[str] = ..., bins: _Optional[int] = ...) -> None: ...

class PlotParameterHistogramResponse(_message.Message):
    __slots__ = ("png", "n_cells")
    PNG_FIELD_NUMBER: _ClassVar[int]
    N_CELLS_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    n_cells: int
    def __init__(self, png: _Optional[bytes] = ..., n_cells: _Optional[int] = ...) -> None: ...

class FittedCellFilter(_message.Message):
    __slots__ = ("min_r_squared", "good_only", "successful_only", "sample")
    MIN_R_SQUARED_FIELD_NUMBER: _ClassVar[int]
    GOOD_ONLY_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_ONLY_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    min_r_squared: float
    good_only: bool
    successful_only: bool
    sample: str
    def __init__(self, min_r_squared: _Optional[float] = ..., good_only: _Optional[bool] = ..., successful_only: _Optional[bool] = ..., sample: _Optional[str] = ...) -> None: ...

class GetFittedCellsRequest(_message.Message):
    __slots__ = ("job_ids", "filter", "sort_by", "descending", "offset", "limit")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SORT_BY_FIELD_NUMBER: _ClassVar[int]
    DESCENDING_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    filter: FittedCellFilter
    sort_by: str
    descending: bool
    offset: int
    limit: int
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., filter: _Optional[_Union[FittedCellFilter, _Mapping]] = ..., sort_by: _Optional[str] = ..., descending: _Optional[bool] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class FittedCell(_message.Message):
    __slots__ = ("sample", "job_id", "fov", "cell", "success", "r_squared", "good", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FOV_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    R_SQUARED_FIELD_NUMBER: _ClassVar[int]
    GOOD_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    sample: str
    job_id: str
    fov: int
    cell: int
    success: bool
    r_squared: float
    good: bool
    parameters: _containers.ScalarMap[str, float]
    def __init__(self, sample: _Optional[str] = ..., job_id: _Optional[str] = ..., fov: _Optional[int] = ..., cell: _Optional[int] = ..., success: _Optional[bool] = ..., r_squared: _Optional[float] = ..., good: _Optional[bool] = ..., parameters: _Optional[_Mapping[str, float]] = ...) -> None: ...

class SampleSummary(_message.Message):
    __slots__ = ("name", "job_id", "csv_path", "n_cells")
    NAME_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CSV_PATH_FIELD_NUMBER: _ClassVar[int]
    N_CELLS_FIELD_NUMBER: _ClassVar[int]
    name: str
    job_id: str
    csv_path: str
    n_cells: int
    def __init__(self, name: _Optional[str] = ..., job_id: _Optional[str] = ..., csv_path: _Optional[str] = ..., n_cells: _Optional[int] = ...) -> None: ...

class GetFittedCellsResponse(_message.Message):
    __slots__ = ("model_type", "parameter_names", "total_cells", "cells", "samples")
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_NAMES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CELLS_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    model_type: str
    parameter_names: _containers.RepeatedScalarFieldContainer[str]
    total_cells: int
    cells: _containers.RepeatedCompositeFieldContainer[FittedCell]
    samples: _containers.RepeatedCompositeFieldContainer[SampleSummary]
    def __init__(self, model_type: _Optional[str] = ..., parameter_names: _Optional[_Iterable[str]] = ..., total_cells: _Optional[int] = ..., cells: _Optional[_Iterable[_Union[FittedCell, _Mapping]]] = ..., samples: _Optional[_Iterable[_Union[SampleSummary, _Mapping]]] = ...) -> None: ...

class ExportFittedCellsRequest(_message.Message):
    __slots__ = ("job_ids", "filter")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    filter: FittedCellFilter
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., filter: _Optional[_Union[FittedCellFilter, _Mapping]] = ...) -> None: ...

class ExportFittedCellsResponse(_message.Message):
    __slots__ = ("csv", "rows")
    CSV_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    csv: str
    rows: int
    def __init__(self, csv: _Optional[str] = ..., rows: _Optional[int] = ...) -> None: ...

class PlotSampleHistogramsRequest(_message.Message):
    __slots__ = ("job_ids", "parameter", "filter", "bins")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    BINS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    parameter: str
    filter: FittedCellFilter
    bins: int
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., parameter: _Optional[str] = ..., filter: _Optional[_Union[FittedCellFilter, _Mapping]] = ..., bins: _Optional[int] = ...) -> None: ...

class PlotSampleHistogramsResponse(_message.Message):
    __slots__ = ("png", "n_cells")
    class NCellsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PNG_FIELD_NUMBER: _ClassVar[int]
    N_CELLS_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    n_cells: _containers.ScalarMap[str, int]
    def __init__(self, png: _Optional[bytes] = ..., n_cells: _Optional[_Mapping[str, int]] = ...) -> None: ...

class PlotParameterScatterRequest(_message.Message):
    __slots__ = ("job_ids", "x", "y", "filter")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    x: str
    y: str
    filter: FittedCellFilter
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., x: _Optional[str] = ..., y: _Optional[str] = ..., filter: _Optional[_Union[FittedCellFilter, _Mapping]] = ...) -> None: ...

class PlotParameterScatterResponse(_message.Message):
    __slots__ = ("png", "n_cells")
    PNG_FIELD_NUMBER: _ClassVar[int]
    N_CELLS_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    n_cells: int
    def __init__(self, png: _Optional[bytes] = ..., n_cells: _Optional[int] = ...) -> None: ...
