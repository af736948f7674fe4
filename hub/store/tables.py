"""Imports every module that declares tables, so ``Base.metadata`` is complete."""

from hub.companies import tables as companies_tables  # noqa: F401
from hub.contact import tables as contact_tables  # noqa: F401
from hub.education import tables as education_tables  # noqa: F401
from hub.files import tables as files_tables  # noqa: F401
from hub.finance import tables as finance_tables  # noqa: F401
from hub.identity import tables as identity_tables  # noqa: F401
from hub.mail import tables as mail_tables  # noqa: F401
from hub.portal import tables as portal_tables  # noqa: F401
from hub.store import models  # noqa: F401
from hub.web import tables as web_tables  # noqa: F401
from hub.workflow import tables as workflow_tables  # noqa: F401
