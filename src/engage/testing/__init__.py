"""Support for testing engage and its plugins: loopback fake servers that behave like real APIs."""

from engage.testing.fakeserver import FakeServer, Reply, Request

__all__ = ["FakeServer", "Reply", "Request"]
