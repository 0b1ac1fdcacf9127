"""The base of every config section: unknown keys are errors, values are validated on load."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section. Typos fail at load: `extra="forbid"` names the key and its path.

    `NOT_FINGERPRINTED` names the fields that cannot change a stage's outputs (how many workers,
    how work is batched, retries, whether to resume): they stay out of fingerprints, so changing
    them never re-runs a stage.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)
    NOT_FINGERPRINTED: ClassVar[frozenset[str]] = frozenset()

    def fingerprint_json(self) -> dict[str, Any]:
        """The JSON form of the fields that can change outputs (nested sections likewise)."""
        data = self.model_dump(mode="json")
        out = {}
        for name, value in data.items():
            if name in self.NOT_FINGERPRINTED:
                continue
            attr = getattr(self, name)
            if isinstance(attr, Section):
                value = attr.fingerprint_json()
            elif isinstance(attr, (list, tuple)) and attr and all(isinstance(v, Section) for v in attr):
                value = [v.fingerprint_json() for v in attr]
            out[name] = value
        return out
