"""What a trained component keeps in Rasa's model storage: named arrays in one `.npz`
file (no pickle)."""

from __future__ import annotations

import numpy as np
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

_FILE = "arrays.npz"


def save(model_storage: ModelStorage, resource: Resource, arrays: dict[str, np.ndarray]) -> None:
    with model_storage.write_to(resource) as directory:
        np.savez(directory / _FILE, **arrays)


def saved(model_storage: ModelStorage, resource: Resource) -> dict[str, np.ndarray]:
    """What `save` kept for the resource; empty when it kept nothing."""
    try:
        with (
            model_storage.read_from(resource) as directory,
            np.load(directory / _FILE, allow_pickle=False) as stored,
        ):
            return {name: stored[name] for name in stored.files}
    except ValueError:  # no such resource: the component was trained on nothing
        return {}
