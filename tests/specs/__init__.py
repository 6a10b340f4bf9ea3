"""The hand-written specs (specs/) against the vendors' reference pages."""
