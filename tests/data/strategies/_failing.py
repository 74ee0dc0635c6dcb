"""A helper that fails when imported."""

raise LookupError("the helper's table is missing")
