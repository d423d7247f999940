"""Payment channel adapters: one documented interface (``base.ChannelAdapter``), one package per kind,
looked up by kind in ``registry``. Adapters receive and return dataclasses, never ORM rows, and never
commit: they run inside the caller's unit of work (or, for HTTP channels, outside any transaction)."""
