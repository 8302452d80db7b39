"""engage: keep customer relationships from going cold."""

from engage.hookspecs import hookimpl

__all__ = ["hookimpl"]
