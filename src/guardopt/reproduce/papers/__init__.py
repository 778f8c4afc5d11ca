"""One module per seed paper; each defines a module-level ``REPRODUCTION``."""
