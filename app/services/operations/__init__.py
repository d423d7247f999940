"""The operator's view of the running portal (docs/SCREENS.md ``/admin``): health, failed jobs, the
audit log and its chain verification."""
