"""all-MiniLM-L6-v2's forward pass (a 6-layer BERT, mean pooled, unit length), written in
the TensorFlow Rasa already runs (it agrees with a plain numpy version to 1e-7), in two
parts: the bottom five layers, which stay as shipped, and the last, which fine-tuning
(`tuning.py`) trains. Weights are name -> tensor, as in the shipped safetensors file."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

LAST = 5  # the index of the last of its six layers, the one fine-tuning trains
LAST_PREFIX = f"encoder.layer.{LAST}."
WIDTH = 384
_HEADS = 12


def bottom(weights: dict[str, Any], ids: Any, mask: Any) -> Any:
    """BERT's embeddings and every layer but the last: one row per token of the batch."""
    length = tf.shape(ids)[1]
    embedded = (
        tf.gather(weights["embeddings.word_embeddings.weight"], ids)
        + weights["embeddings.position_embeddings.weight"][:length]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    x = tf.reshape(_norm(weights, "embeddings.LayerNorm", embedded), [-1, WIDTH])
    hidden = _hidden(mask)
    for layer in range(LAST):
        x = _layer(weights, f"encoder.layer.{layer}.", x, hidden)
    return x


def top(weights: dict[str, Any], x: Any, mask: Any) -> Any:
    """The last layer, then the mean over real tokens, unit length: the sentence vector."""
    length = tf.shape(mask)[1]
    x = _layer(weights, LAST_PREFIX, x, _hidden(mask))
    real = tf.cast(mask, tf.float32)
    tokens = tf.reshape(x, [-1, length, WIDTH]) * real[:, :, None]
    pooled = tf.reduce_sum(tokens, axis=1) / tf.reduce_sum(real, axis=1, keepdims=True)
    return tf.math.l2_normalize(pooled, axis=1)


def _hidden(mask: Any) -> Any:
    """What keeps padding out of every attention softmax: -1e9 where a token is padding."""
    return (1.0 - tf.cast(mask, tf.float32))[:, None, None, :] * -1e9


def _layer(weights: dict[str, Any], prefix: str, x: Any, hidden: Any) -> Any:
    """Self-attention and a GELU feed-forward block, each added back and layer-normalised."""
    x = _norm(
        weights, f"{prefix}attention.output.LayerNorm", x + _attention(weights, prefix, x, hidden)
    )
    inner = _dense(weights, f"{prefix}intermediate.dense", x)
    inner = 0.5 * inner * (1.0 + tf.math.erf(inner / math.sqrt(2.0)))
    return _norm(
        weights, f"{prefix}output.LayerNorm", x + _dense(weights, f"{prefix}output.dense", inner)
    )


def _attention(weights: dict[str, Any], layer: str, x: Any, hidden: Any) -> Any:
    """Multi-head self-attention over one batch's tokens (rows of x); `hidden` keeps
    padding out of every softmax."""
    batch, length = tf.shape(hidden)[0], tf.shape(hidden)[3]
    size = WIDTH // _HEADS

    def split(name: str) -> Any:
        projected = _dense(weights, f"{layer}attention.self.{name}", x)
        return tf.transpose(tf.reshape(projected, [batch, length, _HEADS, size]), [0, 2, 1, 3])

    scores = tf.matmul(split("query"), split("key"), transpose_b=True) / math.sqrt(size)
    context = tf.matmul(tf.nn.softmax(scores + hidden), split("value"))
    context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [-1, WIDTH])
    return _dense(weights, f"{layer}attention.output.dense", context)


def _dense(weights: dict[str, Any], name: str, x: Any) -> Any:
    return tf.matmul(x, weights[f"{name}.weight"], transpose_b=True) + weights[f"{name}.bias"]


def _norm(weights: dict[str, Any], name: str, x: Any) -> Any:
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + 1e-12) * weights[f"{name}.weight"] + weights[
        f"{name}.bias"
    ]


def safetensors(path: Path) -> dict[str, np.ndarray]:
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
