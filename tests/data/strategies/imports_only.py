"""Imports a strategy from the file beside it but defines none of its own."""

from .good import Good

__all__ = ["Good"]
