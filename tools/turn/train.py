"""Training and int8 conversion of the end-of-turn model (needs the ``train`` extra: TensorFlow).

The network is deliberately tiny and streaming: per frame, a dense projection of the normalised
features feeds one GRU cell whose state is carried from frame to frame, and a sigmoid reads the
end-of-turn probability off the state. Training unrolls the cell over whole turns (``keras.RNN``);
the exported model is the same cell as a single step (features + state in, probability + state
out), because that form converts to full-int8 TFLite cleanly where a whole Keras GRU layer does
not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums: not reproducible

import keras
import tensorflow as tf

from sottovoce.edge.features import N_FEATURES


@dataclass(frozen=True)
class TrainConfig:
    hidden: int = 128
    projection: int = 64
    epochs: int = 40
    batch: int = 32
    learning_rate: float = 2e-3
    input_noise: float = 0.1  # in units of the normalised features
    dropout: float = 0.2
    # No spectral or time masking: frequency masks did no better held out (the card's "Tried, not
    # kept"), and time masks would fake pauses.
    seed: int = 7


@dataclass
class Sequences:
    x: list[np.ndarray]  # normalised features per turn, (frames, N_FEATURES)
    y: list[np.ndarray]  # targets 0/1 (ignored frames carry weight 0)
    w: list[np.ndarray]


class _Batches(keras.utils.PyDataset):
    """Turns of similar length batched together and zero-padded (padding has weight 0)."""

    def __init__(self, data: Sequences, batch: int, seed: int, shuffle: bool) -> None:
        super().__init__()
        order = np.argsort([len(x) for x in data.x], kind="stable")
        self.batches = [order[i : i + batch] for i in range(0, len(order), batch)]
        self.data, self.shuffle = data, shuffle
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return len(self.batches)

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.batches)) if self.shuffle else np.arange(len(self.batches))

    def __getitem__(self, i: int):
        idx = self.batches[self.order[i]]
        n = max(len(self.data.x[j]) for j in idx)
        x = np.zeros((len(idx), n, N_FEATURES), dtype=np.float32)
        y = np.zeros((len(idx), n, 1), dtype=np.float32)
        w = np.zeros((len(idx), n), dtype=np.float32)
        for k, j in enumerate(idx):
            m = len(self.data.x[j])
            x[k, :m], y[k, :m, 0], w[k, :m] = self.data.x[j], self.data.y[j], self.data.w[j]
        return x, y, w


def build_models(cfg: TrainConfig) -> tuple[keras.Model, keras.Model]:
    """(sequence model for training, single-step model for export), sharing their layers."""
    project = keras.layers.Dense(cfg.projection, activation="relu", name="project")
    cell = keras.layers.GRUCell(cfg.hidden, name="gru")
    head = keras.layers.Dense(1, activation="sigmoid", name="end_of_turn")

    # Input noise and dropout regularise the training path only; both are the identity at
    # inference, so the step model (which has neither) computes the same function.
    seq_in = keras.Input((None, N_FEATURES), name="features")
    x = keras.layers.GaussianNoise(cfg.input_noise, seed=cfg.seed)(seq_in)
    x = keras.layers.Dropout(cfg.dropout, seed=cfg.seed)(project(x))
    seq_out = head(keras.layers.RNN(cell, return_sequences=True)(x))
    seq_model = keras.Model(seq_in, seq_out, name="turn_seq")

    x_in = keras.Input((N_FEATURES,), batch_size=1, name="a_features")
    h_in = keras.Input((cfg.hidden,), batch_size=1, name="b_state")
    h_out, _ = cell(project(x_in), [h_in])
    step_model = keras.Model([x_in, h_in], [head(h_out), h_out], name="turn_step")
    return seq_model, step_model


def train(train: Sequences, val: Sequences, cfg: TrainConfig) -> tuple[keras.Model, keras.Model, dict]:
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    seq_model, step_model = build_models(cfg)
    seq_model.compile(
        optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
        loss="binary_crossentropy",
        weighted_metrics=[],
    )
    history = seq_model.fit(
        _Batches(train, cfg.batch, cfg.seed, shuffle=True),
        validation_data=_Batches(val, cfg.batch, cfg.seed, shuffle=False),
        epochs=cfg.epochs,
        callbacks=[keras.callbacks.EarlyStopping(patience=6, restore_best_weights=True)],
        verbose=2,
    )
    return seq_model, step_model, {k: [float(v) for v in vs] for k, vs in history.history.items()}


def step_inputs(step_model: keras.Model, sequences: Sequence[np.ndarray], hidden: int) -> Iterator[list[np.ndarray]]:
    """(features, state) pairs the step model actually sees when run over ``sequences``."""
    step = tf.function(lambda x, h: step_model([x, h]))
    for seq in sequences:
        h = np.zeros((1, hidden), dtype=np.float32)
        for frame in seq:
            x = frame[None, :].astype(np.float32)
            yield [x, h]
            _, h = step(x, h)
            h = h.numpy()


def to_int8_tflite(step_model: keras.Model, calibration: Sequence[np.ndarray], hidden: int) -> bytes:
    """Full-integer quantisation: every op int8, float I/O (the state stays float between calls)."""

    def representative() -> Iterator[list[np.ndarray]]:
        # Keyed by input name: a positional list would have to follow the converter's own input
        # order (it put the state first), and a mismatch fails or silently miscalibrates.
        for x, h in step_inputs(step_model, calibration, hidden):
            yield {"a_features": x, "b_state": h}

    converter = tf.lite.TFLiteConverter.from_keras_model(step_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


def float_reference(step_model: keras.Model, sequence: np.ndarray, hidden: int) -> np.ndarray:
    """The float model's probabilities over ``sequence``, frame by frame."""
    probs = []
    h = np.zeros((1, hidden), dtype=np.float32)
    for frame in sequence:
        p, h = step_model([frame[None, :].astype(np.float32), h], training=False)
        probs.append(float(np.asarray(p)[0, 0]))
        h = np.asarray(h)
    return np.asarray(probs, dtype=np.float32)
