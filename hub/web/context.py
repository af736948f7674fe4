"""What the web app needs from the running hub."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from hub.runtime.observe import Observer
from hub.runtime.overview import RateSampler
from hub.runtime.transport import Transport
from hub.runtime.uow import UnitOfWorkFactory
from hub.secrets import SecretBox
from hub.settings import Settings
from hub.web.sessions import Sessions, SignInLimiter
from hub.web.tokens import Tokens
from hub.workflow.attachments import AttachmentStore, LocalAttachmentStore


@dataclass
class WebContext:
    settings: Settings
    uow: UnitOfWorkFactory
    transport: Transport
    queues: list[str]
    observer: Observer = field(default_factory=Observer)
    attachments: AttachmentStore | None = None
    sampler: RateSampler = field(default_factory=RateSampler)

    def __post_init__(self) -> None:
        if self.attachments is None:
            self.attachments = LocalAttachmentStore(self.settings.data_dir / "attachments")
        self.tokens = Tokens(self.uow)
        self.sessions = Sessions(
            self.uow,
            lifetime=self.settings.session_hours * 3600,
            idle=self.settings.session_idle_minutes * 60,
        )
        self.sign_ins = SignInLimiter()

    @cached_property
    def secrets(self) -> SecretBox:
        """The box of the file and mail servers' passwords."""
        return SecretBox.for_settings(self.settings)

    @property
    def attachment_store(self) -> AttachmentStore:
        assert self.attachments is not None
        return self.attachments
