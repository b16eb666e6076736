"""Every nn test starts from the same random state (ember's and torch's), so statistical checks
(initialisation moments, dropout rates) cannot flake."""

import pytest
import torch

import ember


@pytest.fixture(autouse=True)
def _seeded():
    ember.manual_seed(1234)
    torch.manual_seed(1234)
