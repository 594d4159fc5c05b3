"""Reporting: the plan's periods and targets, progress toward them, the dashboard and exports."""
