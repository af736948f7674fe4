"""People of a tenant: users as the platform gives them, roles that grant actions per module,
and the directory the workflow asks who may act (see ``docs/tenants.md``)."""
