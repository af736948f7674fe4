"""The hub's error tree (defined in ``schemas.errors`` so producers share it) and CLI-facing errors."""

from schemas.errors import HubError, InvalidMessage, PermanentError, TransientError


class ConfigurationError(HubError):
    """Settings or configuration refused; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


__all__ = [
    "ConfigurationError",
    "HubError",
    "InvalidMessage",
    "PermanentError",
    "TransientError",
]
