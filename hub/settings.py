"""One settings object, from ``HUB_*`` environment variables over an optional TOML file.

The file is ``HUB_SETTINGS_FILE`` when set, else ``hub.toml`` in the working directory when
present. Keys in the file are the setting names without the prefix (``broker_url = "..."``).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hub.errors import ConfigurationError
from hub.redaction import redact
from hub.runtime.broker_url import SEPARATOR, is_amqp, join_urls, parse_amqp
from schemas.bounds import Limits

ENV_PREFIX = "HUB_"
DEFAULT_SETTINGS_FILE = "hub.toml"


def settings_file() -> Path | None:
    named = os.environ.get("HUB_SETTINGS_FILE")
    if named:
        return Path(named)
    default = Path(DEFAULT_SETTINGS_FILE)
    return default if default.is_file() else None


class Settings(BaseSettings):
    """Everything the hub reads from its environment. Defaults give the embedded tier."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, enable_decoding=False
    )

    data_dir: Path = Field(
        default=Path(".hub-data"),
        description="Where the embedded tier keeps its SQLite files and attachments.",
    )
    broker_url: str | None = Field(
        default=None,
        description="amqp://user:pass@host:port/vhost, kafka://host:port, memory://, "
        "or sqla+sqlite:///path. Default: the embedded broker in data_dir. Several RabbitMQ "
        "nodes: amqp URLs separated by ';' (or a list in the settings file), tried in turn.",
    )
    database_url: str | None = Field(
        default=None,
        description="postgresql+psycopg://user@host/db or sqlite:///path. "
        "Default: a SQLite file in data_dir.",
    )
    workflow_config: Path | None = Field(
        default=None, description="Workflow YAML file or folder. Default: the demo configuration."
    )
    consumers: list[str] | None = Field(
        default=None,
        description="Consumers this process runs, by name or as module:attribute "
        "(comma-separated in the environment). Default: all of the hub's consumers.",
    )
    tenant: str = Field(
        default="default",
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="The tenant CLI verbs act in when `--tenant` is not given, and the one "
        "`hub run` applies HUB_WORKFLOW_CONFIG to.",
    )
    user: str = Field(
        default="support",
        min_length=1,
        max_length=200,
        description="Who CLI verbs act as when `--by` is not given (their permissions apply).",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = Field(
        default=None,
        max_length=2000,
        description="The hub's address as customers reach it (the links in portal "
        "invitations), e.g. https://crm.example.edu. Default: the console's own address.",
    )
    portal_timezone: str = Field(
        default="America/Sao_Paulo",
        max_length=100,
        description="The time zone (IANA name) of the dates the customer portal shows.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://host:port: the mail server when a tenant has no SMTP setting for "
        "a ticket's branch, company or a primary one (docs/mail.md).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key (url-safe base64, 32 bytes) that encrypts mail and file-server "
        "passwords at rest. Default: a key generated into data_dir/secret.key.",
    )
    session_hours: float = Field(
        default=8, gt=0, le=24 * 30, description="How long a console sign-in lasts at most."
    )
    session_idle_minutes: float = Field(
        default=30, gt=0, le=24 * 60, description="A console session unused this long ends."
    )
    cookie_secure: bool = Field(
        default=False,
        description="Mark the session cookie Secure (set it when the hub is served over HTTPS, "
        "e.g. behind a TLS-terminating proxy).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "text"
    prefetch: int = Field(
        default=64, ge=1, le=10_000, description="Messages in flight per consumer."
    )
    batch: int = Field(
        default=32,
        ge=1,
        le=1000,
        description="Messages already waiting that are handled in one transaction.",
    )
    retry_attempts: int = Field(
        default=5, ge=1, le=100, description="Deliveries of a message before it is dead-lettered."
    )
    retry_base_delay: float = Field(
        default=1.0, gt=0, description="Seconds before the first delayed retry."
    )
    retry_max_delay: float = Field(
        default=300.0, gt=0, description="Longest delay between retries."
    )
    delivery_limit: int = Field(
        default=10,
        ge=1,
        description="Redeliveries of a message that crashes the worker "
        "before it is dead-lettered (quorum queues on RabbitMQ).",
    )

    max_event_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        le=128 << 20,
        description="Largest inbound event in bytes; a larger one is dead-lettered at once, "
        "truncated, with its length and hash.",
    )
    max_attachment_bytes: int = Field(
        default=25 << 20,
        ge=1024,
        le=1 << 30,
        description="Largest file attached to a ticket, in bytes.",
    )

    outbox_retention_days: float = Field(
        default=7, gt=0, description="Published outbox rows are kept this long (message trace)."
    )
    inbox_retention_days: float = Field(
        default=30, gt=0, description="How long a handled idempotency key is remembered."
    )
    audit_retention_days: float = Field(
        default=90,
        gt=0,
        description="How long the dead-letter audit keeps purged and edited messages.",
    )

    @field_validator("consumers", mode="before")
    @classmethod
    def _split_consumers(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()] or None
        return value

    @field_validator("broker_url", mode="before")
    @classmethod
    def _join_broker_list(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return join_urls([str(v) for v in value]) if value else None
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = value.strip()
        if SEPARATOR in value or is_amqp(value):
            parse_amqp(value)  # a BrokerUrlError (a ValueError) says which part is wrong
            return join_urls(value)
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in {
            "amqp",
            "amqps",
            "pyamqp",
            "memory",
            "sqla+sqlite",
            "sqla+postgresql",
            "sqla+postgresql+psycopg",
            "kafka",
        }:
            raise ValueError(
                "expected amqp://, kafka://, memory:// or sqla+sqlite:///, got " + repr(value)
            )
        if scheme == "kafka":
            from hub.runtime.transports.kafka.options import KafkaOptions

            KafkaOptions.parse(value)  # its options: a ValueError says which is wrong
        return value

    @field_validator("portal_timezone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not a time zone: {value[:100]!r} (e.g. America/Sao_Paulo)") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query:
            raise ValueError(f"expected http(s)://host[:port][/path], got {value[:200]!r}")
        return value.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError(
                "expected postgresql+psycopg://... or sqlite:///..., got " + repr(value)
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = settings_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'hub.sqlite').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """Where customers reach the hub: ``public_url``, else the console's own address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.http_host in {"0.0.0.0", "::", ""} else self.http_host
        return f"http://{host}:{self.http_port}"

    @cached_property
    def effective_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{(self.data_dir / 'broker.sqlite').resolve()}"

    @property
    def limits(self) -> Limits:
        """The bounds inbound events are read within."""
        return Limits(max_bytes=self.max_event_bytes)

    @property
    def is_embedded(self) -> bool:
        return self.broker_url is None


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; raise ``ConfigurationError`` naming each bad setting in one line."""
    path = settings_file()
    if path is not None and not path.is_file():
        raise ConfigurationError(f"HUB_SETTINGS_FILE: no such file {str(path)!r}")
    try:
        return Settings(**overrides)
    except ValidationError as e:
        raise ConfigurationError([_describe(err) for err in e.errors(include_url=False)]) from None
    except ValueError as e:  # a TOML file that does not parse
        raise ConfigurationError(f"settings file {path}: {e}") from None


def _describe(err: Any) -> str:
    field = str(err["loc"][0]) if err["loc"] else "settings"
    name = ENV_PREFIX + field.upper()
    value = err.get("input")
    if isinstance(value, str):
        value = redact(value)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{field}: unknown setting (in the settings file)"
    return f"{name}={value!r}: {msg}" if value is not None else f"{name}: {msg}"
