"""Helpers for the notebook-side tests (cells in a real IPython shell)."""

from __future__ import annotations


def run(shell, cell: str):
    """Run a cell in `shell`; returns the ExecutionResult."""
    return shell.run_cell(cell, store_history=False)


def ok(shell, cell: str):
    """Run a cell that must succeed; returns its value."""
    res = run(shell, cell)
    if res.error_before_exec is not None or res.error_in_exec is not None:
        raise AssertionError(f"cell failed: {res.error_before_exec or res.error_in_exec!r}\n{cell}")
    return res.result
