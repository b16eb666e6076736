"""The model builders' ``weights=`` and legacy ``pretrained=`` handling: ember has no weight files
and cannot download any, so asking for pretrained weights is an error that says so."""

from __future__ import annotations

import warnings


def reject_weights(builder: str, weights, kwargs: dict) -> None:
    """Raise unless ``weights`` (and a legacy ``pretrained`` in ``kwargs``) ask for no weights.

    ``pretrained`` is removed from ``kwargs``; like torchvision, passing it warns that it is
    deprecated in favour of ``weights``.
    """
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed in "
                      "the future, please use 'weights' instead.", UserWarning, stacklevel=3)
        if pretrained:
            weights = "DEFAULT"
    if weights is not None:
        raise RuntimeError(
            f"{builder}(weights={weights!r}): ember cannot load pretrained weights: it ships no "
            "weight files and downloads none. Build the model with weights=None and load a "
            "state_dict you have with model.load_state_dict(ember.load(path)).")
