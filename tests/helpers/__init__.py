"""Helpers shared by the tests: builders of traces, configurations and stored data.

Fixtures live in the conftest files; everything a test imports lives here.
"""
