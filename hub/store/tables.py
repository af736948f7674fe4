"""Imports every module that declares tables, so ``Base.metadata`` is complete."""

from hub.store import models  # noqa: F401
from hub.workflow import tables as workflow_tables  # noqa: F401
