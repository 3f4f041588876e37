import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SlideLevel(_message.Message):
    __slots__ = ("width", "height", "downsample")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DOWNSAMPLE_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    downsample: float
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., downsample: _Optional[float] = ...) -> None: ...

class Slide(_message.Message):
    __slots__ = ("id", "filename", "mpp", "width_px", "height_px", "created_at", "vendor", "objective_power", "level_count", "levels", "size_bytes", "mpp_y", "mpp_assumed")
    ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MPP_FIELD_NUMBER: _ClassVar[int]
    WIDTH_PX_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_PX_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_POWER_FIELD_NUMBER: _ClassVar[int]
    LEVEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MPP_Y_FIELD_NUMBER: _ClassVar[int]
    MPP_ASSUMED_FIELD_NUMBER: _ClassVar[int]
    id: str
    filename: str
    mpp: float
    width_px: int
    height_px: int
    created_at: _timestamp_pb2.Timestamp
    vendor: str
    objective_power: float
    level_count: int
    levels: _containers.RepeatedCompositeFieldContainer[SlideLevel]
    size_bytes: int
    mpp_y: float
    mpp_assumed: bool
    def __init__(self, id: _Optional[str] = ..., filename: _Optional[str] = ..., mpp: _Optional[float] = ..., width_px: _Optional[int] = ..., height_px: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vendor: _Optional[str] = ..., objective_power: _Optional[float] = ..., level_count: _Optional[int] = ..., levels: _Optional[_Iterable[_Union[SlideLevel, _Mapping]]] = ..., size_bytes: _Optional[int] = ..., mpp_y: _Optional[float] = ..., mpp_assumed: _Optional[bool] = ...) -> None: ...

class UploadSlideHeader(_message.Message):
    __slots__ = ("filename", "size_bytes")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    filename: str
    size_bytes: int
    def __init__(self, filename: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class CheckUploadRequest(_message.Message):
    __slots__ = ("header",)
    HEADER_FIELD_NUMBER: _ClassVar[int]
    header: UploadSlideHeader
    def __init__(self, header: _Optional[_Union[UploadSlideHeader, _Mapping]] = ...) -> None: ...

class CheckUploadResponse(_message.Message):
    __slots__ = ("filename", "max_upload_bytes")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MAX_UPLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    filename: str
    max_upload_bytes: int
    def __init__(self, filename: _Optional[str] = ..., max_upload_bytes: _Optional[int] = ...) -> None: ...

class GetUploadFormatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUploadFormatsResponse(_message.Message):
    __slots__ = ("extensions", "zipped_extensions")
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    ZIPPED_EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    extensions: _containers.RepeatedScalarFieldContainer[str]
    zipped_extensions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, extensions: _Optional[_Iterable[str]] = ..., zipped_extensions: _Optional[_Iterable[str]] = ...) -> None: ...

class UploadSlideRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadSlideHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[UploadSlideHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadSlideResponse(_message.Message):
    __slots__ = ("slide",)
    SLIDE_FIELD_NUMBER: _ClassVar[int]
    slide: Slide
    def __init__(self, slide: _Optional[_Union[Slide, _Mapping]] = ...) -> None: ...

class ListSlidesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSlidesResponse(_message.Message):
    __slots__ = ("slides",)
    SLIDES_FIELD_NUMBER: _ClassVar[int]
    slides: _containers.RepeatedCompositeFieldContainer[Slide]
    def __init__(self, slides: _Optional[_Iterable[_Union[Slide, _Mapping]]] = ...) -> None: ...

class GetSlideRequest(_message.Message):
    __slots__ = ("slide_id",)
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    def __init__(self, slide_id: _Optional[str] = ...) -> None: ...

class GetSlideResponse(_message.Message):
    __slots__ = ("slide",)
    SLIDE_FIELD_NUMBER: _ClassVar[int]
    slide: Slide
    def __init__(self, slide: _Optional[_Union[Slide, _Mapping]] = ...) -> None: ...

class DeleteSlideRequest(_message.Message):
    __slots__ = ("slide_id",)
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    def __init__(self, slide_id: _Optional[str] = ...) -> None: ...

class DeleteSlideResponse(_message.Message):
    __slots__ = ("deleted_boxes",)
    DELETED_BOXES_FIELD_NUMBER: _ClassVar[int]
    deleted_boxes: int
    def __init__(self, deleted_boxes: _Optional[int] = ...) -> None: ...

class GetSlidePropertiesRequest(_message.Message):
    __slots__ = ("slide_id",)
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    def __init__(self, slide_id: _Optional[str] = ...) -> None: ...

class GetSlidePropertiesResponse(_message.Message):
    __slots__ = ("properties", "associated_images")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATED_IMAGES_FIELD_NUMBER: _ClassVar[int]
    properties: _containers.ScalarMap[str, str]
    associated_images: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, properties: _Optional[_Mapping[str, str]] = ..., associated_images: _Optional[_Iterable[str]] = ...) -> None: ...

class GetAssociatedImageRequest(_message.Message):
    __slots__ = ("slide_id", "name", "max_size")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    name: str
    max_size: int
    def __init__(self, slide_id: _Optional[str] = ..., name: _Optional[str] = ..., max_size: _Optional[int] = ...) -> None: ...

class GetAssociatedImageResponse(_message.Message):
    __slots__ = ("image", "content_type")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    content_type: str
    def __init__(self, image: _Optional[bytes] = ..., content_type: _Optional[str] = ...) -> None: ...

class GetDeepZoomDescriptorRequest(_message.Message):
    __slots__ = ("slide_id",)
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    def __init__(self, slide_id: _Optional[str] = ...) -> None: ...

class GetDeepZoomDescriptorResponse(_message.Message):
    __slots__ = ("xml", "tile_size", "overlap", "format", "width", "height", "level_count")
    XML_FIELD_NUMBER: _ClassVar[int]
    TILE_SIZE_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    xml: str
    tile_size: int
    overlap: int
    format: str
    width: int
    height: int
    level_count: int
    def __init__(self, xml: _Optional[str] = ..., tile_size: _Optional[int] = ..., overlap: _Optional[int] = ..., format: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., level_count: _Optional[int] = ...) -> None: ...

class GetDeepZoomTileRequest(_message.Message):
    __slots__ = ("slide_id", "level", "col", "row")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    COL_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    level: int
    col: int
    row: int
    def __init__(self, slide_id: _Optional[str] = ..., level: _Optional[int] = ..., col: _Optional[int] = ..., row: _Optional[int] = ...) -> None: ...

class GetDeepZoomTileResponse(_message.Message):
    __slots__ = ("image", "content_type")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    content_type: str
    def __init__(self, image: _Optional[bytes] = ..., content_type: _Optional[str] = ...) -> None: ...

class GetThumbnailRequest(_message.Message):
    __slots__ = ("slide_id", "max_size")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    max_size: int
    def __init__(self, slide_id: _Optional[str] = ..., max_size: _Optional[int] = ...) -> None: ...

class GetThumbnailResponse(_message.Message):
    __slots__ = ("image", "content_type", "from_cache")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FROM_CACHE_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    content_type: str
    from_cache: bool
    def __init__(self, image: _Optional[bytes] = ..., content_type: _Optional[str] = ..., from_cache: _Optional[bool] = ...) -> None: ...

class GetScaleBarRequest(_message.Message):
    __slots__ = ("slide_id", "target_um", "level")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_UM_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    target_um: float
    level: int
    def __init__(self, slide_id: _Optional[str] = ..., target_um: _Optional[float] = ..., level: _Optional[int] = ...) -> None: ...

class GetScaleBarResponse(_message.Message):
    __slots__ = ("target_um", "pixels_at_level", "level", "mpp", "mpp_assumed")
    TARGET_UM_FIELD_NUMBER: _ClassVar[int]
    PIXELS_AT_LEVEL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MPP_FIELD_NUMBER: _ClassVar[int]
    MPP_ASSUMED_FIELD_NUMBER: _ClassVar[int]
    target_um: float
    pixels_at_level: float
    level: int
    mpp: float
    mpp_assumed: bool
    def __init__(self, target_um: _Optional[float] = ..., pixels_at_level: _Optional[float] = ..., level: _Optional[int] = ..., mpp: _Optional[float] = ..., mpp_assumed: _Optional[bool] = ...) -> None: ...

class ReadRegionRequest(_message.Message):
    __slots__ = ("slide_id", "x", "y", "width", "height", "level")
    SLIDE_ID_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    slide_id: str
    x: int
    y: int
    width: int
    height: int
    level: int
    def __init__(self, slide_id: _Optional[str] = ..., x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., level: _Optional[int] = ...) -> None: ...

class RegionHeader(_message.Message):
    __slots__ = ("x", "y", "width", "height", "level", "downsample", "channels", "mpp")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    DOWNSAMPLE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    MPP_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    width: int
    height: int
    level: int
    downsample: float
    channels: int
    mpp: float
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., level: _Optional[int] = ..., downsample: _Optional[float] = ..., channels: _Optional[int] = ..., mpp: _Optional[float] = ...) -> None: ...

class ReadRegionResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: RegionHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[RegionHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...
