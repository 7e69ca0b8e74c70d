"""One module per schema revision, each a step from the one before (`down_revision`)."""
