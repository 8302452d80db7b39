"""Benchmarks: engage at up to a million touchpoints, against the standard-library floor.

Run with ``python -m benchmarks`` (see ``--help``); they are never part of the test suite.
"""
