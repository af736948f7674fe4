"""The CloudEvents 1.0 envelope, structured JSON mode, with the hub's extension attributes."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.bounds import MAX_KEY_LENGTH

CONTENT_TYPE = "application/cloudevents+json"
DEFAULT_TENANT = "default"
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_CORE = {
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "datacontenttype",
    "subject",
    "data",
    "dataschema",
    "tenantid",
    "idempotencykey",
    "correlationid",
    "causationid",
    "traceparent",
}


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event as the hub's contract requires it.

    Unknown extension attributes are kept (CloudEvents allows them) but must have valid
    names: lower-case letters and digits, at most 20 characters.
    """

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    event_type: ClassVar[str | None] = None

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200, description="Unique per source.")
    source: str = Field(min_length=1, max_length=400, description="URI-reference of the emitter.")
    type: str = Field(
        min_length=1, max_length=200, description="The event type; the routing key on AMQP."
    )
    time: AwareDatetime = Field(description="RFC 3339 time of the occurrence.")
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str = Field(
        min_length=1, max_length=400, description="The business key, e.g. the agreement id."
    )
    data: Any = Field(description="The event payload, an object.")
    dataschema: str | None = Field(default=None, max_length=1000)
    tenantid: str = Field(default=DEFAULT_TENANT, min_length=1, max_length=100)
    idempotencykey: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Defaults to source + id when absent.",
    )
    correlationid: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The first event of the chain; copied forward.",
    )
    causationid: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The id of the event that caused this one.",
    )
    traceparent: str | None = Field(default=None, max_length=200, description="W3C trace context.")

    @model_validator(mode="after")
    def _check_extensions(self) -> CloudEvent:
        for name in self.model_extra or {}:
            if not _EXTENSION_NAME.match(name):
                raise ValueError(
                    f"extension attribute {name!r} must be 1-20 lower-case letters or digits"
                )
        return self

    @field_validator("data", mode="before")
    @classmethod
    def _data_is_object(cls, value: Any) -> Any:
        if cls.event_type is None and not isinstance(value, dict):
            raise ValueError("data must be a JSON object")
        return value

    @property
    def key(self) -> str:
        """The idempotency key: ``idempotencykey`` or, when absent, ``source`` + ``id`` (or,
        when those two are longer together than a key may be, their SHA-256)."""
        if self.idempotencykey:
            return self.idempotencykey
        derived = f"{self.source}#{self.id}"
        if len(derived) <= MAX_KEY_LENGTH:
            return derived
        return "sha256:" + hashlib.sha256(derived.encode()).hexdigest()

    @property
    def chain(self) -> str:
        """The correlation id of the chain this event belongs to (itself when it starts one)."""
        return self.correlationid or self.id

    @property
    def extensions(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def new_event_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_core_attribute(name: str) -> bool:
    return name in _CORE
