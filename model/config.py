"""Model configs and presets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ModelSection(BaseModel):
    """Which model to train."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)
