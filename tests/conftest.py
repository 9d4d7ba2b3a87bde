"""Shared pytest configuration for the whole suite; fixtures live in each folder's own conftest."""
