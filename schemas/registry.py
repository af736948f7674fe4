"""One typed CloudEvent model per contract event type, built from the data models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import create_model

from schemas.envelope import CloudEvent
from schemas.events import EVENT_DATA, Data


def _class_name(event_type: str) -> str:
    parts = event_type.replace("-", ".").split(".")
    return "".join(p.capitalize() for p in parts) + "Event"


def _typed(event_type: str, data_model: type[Data]) -> type[CloudEvent]:
    model: type[CloudEvent] = create_model(  # type: ignore[call-overload]
        _class_name(event_type),
        __base__=CloudEvent,
        __doc__=f"CloudEvent of type `{event_type}`.",
        type=(Literal[event_type], ...),  # type: ignore[valid-type,arg-type]
        data=(data_model, ...),
    )
    model.event_type = event_type
    return model


EVENT_MODELS: dict[str, type[CloudEvent]] = {t: _typed(t, m) for t, m in EVENT_DATA.items()}


def model_for(event_type: str) -> type[CloudEvent]:
    """The typed model of ``event_type``, or the plain envelope for a type outside the contract."""
    return EVENT_MODELS.get(event_type, CloudEvent)


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for the envelope and every event type."""
    out: dict[str, dict[str, Any]] = {"cloudevent.json": CloudEvent.model_json_schema()}
    for event_type, model in EVENT_MODELS.items():
        schema = model.model_json_schema()
        schema["$id"] = f"urn:hub:schema:{event_type}"
        out[f"{event_type}.json"] = schema
    return out
