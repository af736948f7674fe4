"""The omnichannel desk: a contact's filled form becomes an occurrence on its ticket (or a
refusal).

- ``omni.contact.received``: accepted when the form is enabled for the omnichannel desk, the
  agent is in one of the form's groups and the form's process is enabled; then the occurrence
  is recorded on the contact's ticket (one per ``contact_id``: opened by the first contact,
  added to by the next) and ``crm.occurrence.recorded`` is emitted. Otherwise
  ``omni.contact.rejected`` names the reason (``unknown_form``, ``form_not_enabled``,
  ``group_not_authorised``, ``process_not_enabled``, ``invalid_fields``).

See ``docs/contact-center.md``.
"""

from __future__ import annotations

from hub.contact import occurrences
from hub.runtime.registry import Consumer
from hub.runtime.uow import UnitOfWork
from schemas import CloudEvent
from schemas.events import ContactReceived

consumer = Consumer("omni-contacts")


@consumer.handles("omni.contact.received")
def on_contact_received(event: CloudEvent, uow: UnitOfWork) -> None:
    data = ContactReceived.model_validate(event.data)
    occurrences.receive_contact(uow, data)
