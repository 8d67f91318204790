# ruff: noqa
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserRequest(_message.Message):
    __slots__ = ("user_id", "channel_id", "article_num", "time_stamp", "caller_records")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_NUM_FIELD_NUMBER: _ClassVar[int]
    TIME_STAMP_FIELD_NUMBER: _ClassVar[int]
    CALLER_RECORDS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    channel_id: int
    article_num: int
    time_stamp: int
    caller_records: bool
    def __init__(
        self,
        user_id: _Optional[str] = ...,
        channel_id: _Optional[int] = ...,
        article_num: _Optional[int] = ...,
        time_stamp: _Optional[int] = ...,
        caller_records: _Optional[bool] = ...,
    ) -> None: ...

class Track(_message.Message):
    __slots__ = ("click", "collect", "share", "read")
    CLICK_FIELD_NUMBER: _ClassVar[int]
    COLLECT_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    click: str
    collect: str
    share: str
    read: str
    def __init__(
        self,
        click: _Optional[str] = ...,
        collect: _Optional[str] = ...,
        share: _Optional[str] = ...,
        read: _Optional[str] = ...,
    ) -> None: ...

class Article(_message.Message):
    __slots__ = ("article_id", "track")
    ARTICLE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_FIELD_NUMBER: _ClassVar[int]
    article_id: int
    track: Track
    def __init__(
        self, article_id: _Optional[int] = ..., track: _Optional[_Union[Track, _Mapping]] = ...
    ) -> None: ...

class ArticleResponse(_message.Message):
    __slots__ = ("exposure", "time_stamp", "recommends")
    EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    TIME_STAMP_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDS_FIELD_NUMBER: _ClassVar[int]
    exposure: str
    time_stamp: int
    recommends: _containers.RepeatedCompositeFieldContainer[Article]
    def __init__(
        self,
        exposure: _Optional[str] = ...,
        time_stamp: _Optional[int] = ...,
        recommends: _Optional[_Iterable[_Union[Article, _Mapping]]] = ...,
    ) -> None: ...

class SimilarRequest(_message.Message):
    __slots__ = ("article_id", "article_num")
    ARTICLE_ID_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_NUM_FIELD_NUMBER: _ClassVar[int]
    article_id: int
    article_num: int
    def __init__(
        self, article_id: _Optional[int] = ..., article_num: _Optional[int] = ...
    ) -> None: ...

class SimilarResponse(_message.Message):
    __slots__ = ("article_id",)
    ARTICLE_ID_FIELD_NUMBER: _ClassVar[int]
    article_id: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, article_id: _Optional[_Iterable[int]] = ...) -> None: ...
