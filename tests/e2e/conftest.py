"""Fixtures of the end-to-end tests; their code is in e2e_support.py."""

from e2e_support import copy_of, reference  # noqa: F401  (pytest finds fixtures here)
