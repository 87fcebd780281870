"""Field mapping: renames, nested paths, constants, defaults, transforms, conditions, YAML, describe checks.

Example:
    >>> from kinetic_core.mapping import FieldMapper
    >>> FieldMapper({"email": ("Email", "email")}).map({"email": " A@B.COM "})
    {'Email': 'a@b.com'}
"""

from __future__ import annotations

from kinetic_core.mapping import transforms
from kinetic_core.mapping.mapper import MISSING, FieldMapper, FieldRule, condition_from_spec, get_path
from kinetic_core.mapping.validate import Issue, IssueCode, validate_mapping

__all__ = [
    "MISSING",
    "FieldMapper",
    "FieldRule",
    "Issue",
    "IssueCode",
    "condition_from_spec",
    "get_path",
    "transforms",
    "validate_mapping",
]
