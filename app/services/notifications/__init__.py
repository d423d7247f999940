"""In-portal notifications to people (docs/DOMAIN.md "Notifications"): ``kinds`` (what may be said),
``sending`` (written in the announcing transaction), ``inbox`` (a reader's list, count, marking read),
``announcements`` (the producers that other areas reach through ``services/connections.py``)."""
