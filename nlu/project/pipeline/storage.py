"""What a trained component keeps in Rasa's model storage: named arrays in one `.npz`
file (no pickle); and what tells Rasa's training cache that it must train anew."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

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


class Fingerprinted:
    """Rasa's training cache keys a component by its own class's source, config and
    inputs, not by the modules it calls (the forward pass, the tuning, the classifier's
    heads): after a change there, an upgrade would restore what the old code trained.
    This adds every module of this folder to the key."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str:
        digest = hashlib.sha256()
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()
