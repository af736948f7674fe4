"""The workflow engine's errors: each is a ``PermanentError`` (retrying cannot help) with a
one-line message a person can act on."""

from __future__ import annotations

from hub.errors import PermanentError


class WorkflowError(PermanentError):
    """Base of the workflow engine's refusals."""


class TicketNotFound(WorkflowError):
    """No ticket with this id."""


class IllegalMove(WorkflowError):
    """The flow has no transition from the ticket's stage to the requested one, or the ticket
    is no longer open."""


class ReasonRequired(WorkflowError):
    """The transition (or the stage entered) needs a reason, or one from a fixed list."""


class FieldRuleViolation(WorkflowError):
    """A field rule of the stage refuses the change: a required field is missing, or a
    read-only / invisible field was written."""


class InvalidParameters(WorkflowError):
    """A ticket's parameters break its type: missing required, unknown, or not an option."""


class OutsideValidity(WorkflowError):
    """The ticket type is not valid on this date (before its start or after its end)."""


class PermissionDenied(WorkflowError):
    """The person acting may not do this to this ticket."""


class Conflict(WorkflowError):
    """Someone else changed the ticket first (optimistic version mismatch); reload and retry."""


class NoConfiguration(WorkflowError):
    """No workflow configuration has been applied to the store yet."""
