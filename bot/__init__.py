"""Everything with I/O: the app, channels, store, delivery, admin API and CLI."""
