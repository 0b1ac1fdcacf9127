"""The base of every config section: unknown keys are errors, values are validated on load."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section. Typos fail at load: `extra="forbid"` names the key and its path."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)
