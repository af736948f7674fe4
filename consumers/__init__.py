"""The hub's consumers, one integration a module. ``ALL`` is what ``hub run`` starts."""

from consumers import (
    edu_refdata,
    edu_requests,
    erp_companies,
    finance_agreements,
    omni_contacts,
    platform_users,
    portal_mail,
)
from hub.runtime.registry import Consumer

ALL: list[Consumer] = [
    finance_agreements.consumer,
    edu_refdata.consumer,
    edu_requests.consumer,
    platform_users.consumer,
    erp_companies.consumer,
    omni_contacts.consumer,
    portal_mail.consumer,
]
