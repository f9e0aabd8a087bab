"""The error a running SELECT answers with (:class:`ExecError`, 1.x's execution errors) and the
iterator type names 1.x's messages show.  Must not hold anything else.
"""

from __future__ import annotations




class ExecError(ValueError):
    """An error 1.x reports while executing a statement."""


def _iter_type(kind: str) -> str:
    return {"float": "float", "integer": "integer", "unsigned": "unsigned", "string": "string",
            "boolean": "boolean"}.get(kind, "float")
