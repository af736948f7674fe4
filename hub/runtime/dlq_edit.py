"""Edit and retry: an operator corrects a dead letter's message, and the corrected version is
replayed to the consumer that failed it.

``editable(dl)`` is the message as an operator edits it (indented JSON). ``replay_corrected``
validates the corrected text exactly as an inbound event is validated (the same decoder, the
same bounds), then, in one transaction, writes it to the outbox for the consumer's queue, marks
the dead letter ``replayed`` and records in the audit the original, the corrected version, the
diff between them and who did it. Nothing changes when the text is invalid or unchanged.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from hub.errors import HubError
from hub.runtime import dlq_audit as audit
from hub.runtime.deadletters import DeadLetterNotFound, NotReplayable, replay_row
from hub.runtime.oversize import is_truncated
from hub.runtime.relay import OUTBOX_ORIGIN
from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import DEFAULT_TENANT, DeadLetter
from schemas import InvalidMessage, decode
from schemas.bounds import DEFAULT_LIMITS, Limits, load_json


class NothingChanged(HubError):
    """The corrected message is the message as it was: nothing to replay."""


class NotEditable(HubError):
    """This dead letter is not an event that can be corrected (e.g. a mail the relay kept)."""


def editable(dl: DeadLetter) -> str:
    """The dead letter's message as an operator edits it: indented JSON, or the text as it
    is when it is not JSON."""
    try:
        return json.dumps(json.loads(dl.body), indent=2, ensure_ascii=False) + "\n"
    except (ValueError, UnicodeDecodeError, RecursionError):
        return dl.body.decode("utf-8", "replace")


def check_editable(dl: DeadLetter) -> None:
    """Raise ``NotReplayable`` / ``NotEditable`` when ``dl`` cannot be corrected."""
    if dl.status != "dead":
        raise NotReplayable(
            f"dead letter {dl.id} is {dl.status}; only one awaiting action is edited"
        )
    if is_truncated(dl.headers):
        raise NotReplayable(f"dead letter {dl.id} keeps only the first bytes of its message")
    if (dl.headers or {}).get(OUTBOX_ORIGIN):
        raise NotEditable(
            f"dead letter {dl.id} is an outbox row ({dl.consumer}), not an event; replay it "
            "once its cause is mended"
        )


def diff(before: str, after: str, dl_id: int) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"dead-letter-{dl_id}",
            tofile=f"dead-letter-{dl_id} (corrected)",
        )
    )


def replay_corrected(
    uow: UnitOfWorkFactory,
    dl_id: int,
    text: str,
    *,
    tenant: str,
    by: str,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Validate ``text`` (a CloudEvent in JSON) and replay it in place of dead letter
    ``dl_id``'s message. Raises ``DeadLetterNotFound``, ``NotReplayable`` or ``NotEditable``
    for a dead letter that cannot be corrected, ``NothingChanged`` for the message as it was,
    ``InvalidMessage`` (every problem) for a corrected message that is not a valid event.
    Returns the audit entry. Only ``tenant``'s dead letters can be corrected, and the corrected
    message stays in that tenant (the default tenant's operators may name any: they mend what
    named a tenant the hub did not have)."""
    with uow.sessions() as session:
        found = session.get(DeadLetter, dl_id)
    if found is None or found.tenant_id != tenant:
        raise DeadLetterNotFound(f"no dead letter with id {dl_id}")
    check_editable(found)
    before = editable(found)
    try:
        parsed = load_json(text, limits)
    except InvalidMessage as e:
        raise InvalidMessage([f"the corrected message: {p}" for p in e.problems]) from None
    after = json.dumps(parsed, indent=2, ensure_ascii=False) + "\n"
    if after == before:
        raise NothingChanged(f"dead letter {dl_id}: the message is unchanged; nothing replayed")
    event = decode(parsed if isinstance(parsed, dict) else text, limits)
    if tenant != DEFAULT_TENANT and event.tenantid != tenant:
        raise InvalidMessage(
            f"the corrected message: tenantid must stay {tenant!r}, not {event.tenantid!r}"
        )
    body = json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode()
    now = uow.clock.now()
    with uow.sessions() as session, session.begin():
        dl = session.get(DeadLetter, dl_id, with_for_update=True)
        if dl is None or dl.tenant_id != tenant:
            raise DeadLetterNotFound(f"no dead letter with id {dl_id}")
        check_editable(dl)  # still awaiting action: no one replayed it meanwhile
        row = replay_row(dl, body, now, now)
        row.event_id, row.event_type = event.id, event.type
        row.headers = {**row.headers, "x-hub-edited": True}
        session.add(row)
        dl.status = "replayed"
        dl.replayed_at = now
        entry = audit.record(
            session,
            dl,
            "edited",
            by=by,
            at=now,
            corrected=body,
            diff=diff(before, after, dl_id),
            detail=f"replayed as event {event.id}",
        )
        session.flush()
        result = audit.as_json(entry)
    uow.on_commit()
    return result
