"""The ``guardopt`` command line: ``list``, ``reproduce``, ``report`` and ``study``."""
