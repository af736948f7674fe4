"""The hub's store: SQLAlchemy 2.0 models and Alembic migrations."""

from hub.store.db import make_engine, session_factory, transaction, upgrade
from hub.store.models import Base, DeadLetter, InboxEntry, OutboxMessage

__all__ = [
    "Base",
    "DeadLetter",
    "InboxEntry",
    "OutboxMessage",
    "make_engine",
    "session_factory",
    "transaction",
    "upgrade",
]
