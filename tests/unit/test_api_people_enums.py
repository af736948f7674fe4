"""The people API's enumerations are the hub's own plans and role scopes."""

from __future__ import annotations

from typing import get_args

from hub.identity.permissions import SCOPES
from hub.tenancy.tenants import PLANS
from hub.web.api_people import Plan, RoleScope


def test_the_api_enumerates_every_plan_and_role_scope() -> None:
    assert get_args(Plan) == PLANS
    assert get_args(RoleScope) == SCOPES
