"""Which store a ticket's attachment goes to, and which store an attachment is in.

A ticket's attachments go to the file server that serves its company/branch
(``servers.resolve``) when that setting transfers ``hub``; otherwise (no setting, or the
customer's server fetches them itself: ``server``) to the local store. The attachment row
keeps the endpoint it was written to, sealed, so its bytes are read back from there even after
the setting changes.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.files import servers
from hub.files.stores import store_for
from hub.secrets import SecretBox
from hub.workflow.attachments import AttachmentStore


def store_for_ticket(
    session: Session,
    tenant: str,
    company: str | None,
    branch: str | None,
    *,
    box: SecretBox,
    local: AttachmentStore,
) -> tuple[AttachmentStore, str | None]:
    """The store for a new attachment of a ticket of ``company``/``branch``, and the
    ``location`` its row records."""
    row = servers.resolve(session, tenant, company, branch)
    if row is None or row.transfer != "hub":
        return local, None
    endpoint = servers.endpoint(row, box)
    return store_for(endpoint), box.seal(endpoint.to_json())


def store_at(location: str | None, *, box: SecretBox, local: AttachmentStore) -> AttachmentStore:
    """The store an attachment's row says its bytes are in."""
    if location is None:
        return local
    return store_for(servers.Endpoint.from_json(box.open(location)))
