"""Tenants: isolated customer installations, their plans, settings and required fields."""
