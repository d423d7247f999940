"""Alerts for admins and operators."""
