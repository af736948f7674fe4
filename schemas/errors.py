"""The hub's error tree.

It lives beside the schemas so that producers embedding only ``schemas`` raise the same
errors as the hub. The runtime decides ack / retry / dead-letter from these classes alone:

- ``TransientError``: the world may heal (a timeout, a lock, a service down): retry later.
- ``PermanentError``: retrying cannot help (an unknown template, a rule broken): dead-letter now.
- ``InvalidMessage``: the bytes are not an acceptable event: dead-letter, never retried.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class TransientError(HubError):
    """A failure worth retrying with backoff."""


class PermanentError(HubError):
    """A failure no retry can fix; the message goes to the dead-letter store at once."""


class InvalidMessage(PermanentError):
    """The input is not a valid event: not JSON, not a CloudEvent, or ``data`` breaks its schema.

    ``problems`` lists every problem found, each as ``"location: message"``.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))
