"""Shared fixtures: one Masker per test session (loading SudachiPy once)."""
from __future__ import annotations

import pytest

from bot.masking import Masker, MaskingPolicy, PlaceholderVault


@pytest.fixture(scope="session")
def masker() -> Masker:
    """The default rule-based masker (SudachiPy + patterns, no NER)."""
    return Masker()


@pytest.fixture
def vault() -> PlaceholderVault:
    """A fresh per-thread vault."""
    return PlaceholderVault()


@pytest.fixture
def mask_all() -> MaskingPolicy:
    """A policy that masks every type (nothing blocked), for round-trip tests."""
    policy = MaskingPolicy()
    for etype in policy.defaults:
        policy = policy.with_action(etype, "mask")
    return policy
