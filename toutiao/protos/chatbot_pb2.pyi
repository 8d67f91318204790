# ruff: noqa
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ReceivedMessage(_message.Message):
    __slots__ = ("user_id", "user_message", "create_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    user_message: str
    create_time: int
    def __init__(
        self,
        user_id: _Optional[str] = ...,
        user_message: _Optional[str] = ...,
        create_time: _Optional[int] = ...,
    ) -> None: ...

class ResponsedMessage(_message.Message):
    __slots__ = ("user_response", "create_time")
    USER_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    user_response: str
    create_time: int
    def __init__(
        self, user_response: _Optional[str] = ..., create_time: _Optional[int] = ...
    ) -> None: ...
