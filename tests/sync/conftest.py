"""Field-side fixtures: a registry with a cadre and a roster, and laptops logged in to it."""

from __future__ import annotations

import pytest
from fieldkit import open_laptop, setup_registry


@pytest.fixture
def field_registry(registry, tmp_path):
    setup_registry(registry, tmp_path)
    return registry


@pytest.fixture
def laptop(field_registry, tmp_path):
    store = open_laptop(field_registry, tmp_path / "laptop.sqlite3")
    yield store
    store.close()
