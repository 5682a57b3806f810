"""The two public write-ups kagglekit grew out of, as model versions.

Both feed raw 0..255 pixels into the network, as their ImageDataGenerators (no
``rescale``) did; seed 002 normalises with its first BatchNormalization, seed 000
with the BatchNormalization after each convolution.
"""

from __future__ import annotations

from typing import Any

from kagglekit.training.models import ModelVersion, register

# ---------------------------------------------------------------------------
# seed-task5: shared/seeds/000 ("TASK 5"), a Sequential CNN of stacked
# Conv2D / BatchNormalization / Activation blocks, then Flatten and a softmax
# Dense; categorical_crossentropy, 'adam', accuracy; ImageDataGenerator with
# rotation, zoom and shift; flow_from_directory; 50 epochs.
# Where the write-up is silent we take what its author plainly meant:
# - blocks: three of Conv2D(3x3, Keras' default 'valid' padding) ->
#   BatchNormalization -> Activation('relu') with 32, 32, 64 filters, no pooling
#   (the text names no pooling layer; a "basic CNN" of three blocks);
# - 'adam' as a string = Adam with Keras' default learning rate 1e-3;
# - batch size 32 = flow_from_directory's default (the text says it was set,
#   not to what);
# - rotation_range=20, zoom_range=0.2, width/height_shift_range=0.2: the values
#   such tutorials use; fill_mode 'nearest' = ImageDataGenerator's default;
# - categorical_crossentropy because flow_from_directory's default class_mode
#   'categorical' yields one-hot labels; the pipeline one-hot encodes too;
# - no early stopping (all 50 epochs run); kagglekit still keeps the best epoch.
# ---------------------------------------------------------------------------
SEED_TASK5 = {
    "epochs": 50,
    "batch_size": 32,
    "lr": 1e-3,
    "optimizer": "adam",
    "schedule": "constant",
    "loss": "categorical_crossentropy",
    "rotation": 20.0,
    "zoom": 0.2,
    "shift": 0.2,
    "flip": False,
    "fill_mode": "nearest",
    "early_stopping": 0,
}


def task5_architecture(recipe: dict[str, Any], input_shape: tuple[int, int, int], n_classes: int) -> Any:
    from keras import Input, Sequential, layers

    model = Sequential(name="seed_task5")
    model.add(Input(shape=input_shape, dtype="float32"))
    for filters in (32, 32, 64):
        model.add(layers.Conv2D(filters, (3, 3)))
        model.add(layers.BatchNormalization())
        model.add(layers.Activation("relu"))
    model.add(layers.Flatten())
    # float32 output so mixed precision never softmaxes in float16.
    model.add(layers.Dense(n_classes, activation="softmax", dtype="float32"))
    return model


# ---------------------------------------------------------------------------
# seed-cifar10-modeling: shared/seeds/002, exactly: BatchNormalization on the
# input, Conv2D 32 3x3 stride 1, BatchNormalization, ReLU, MaxPool 2x2, Flatten,
# Dense 1024 ReLU, Dropout 0.5, Dense 10 softmax; sparse_categorical_crossentropy,
# Adam(learning_rate=0.005); ImageDataGenerator(rotation_range=10,
# width_shift_range=0.3, height_shift_range=0.3, no flips; fill 'nearest' by
# default); ModelCheckpoint on the best, EarlyStopping.
# Where it is silent: batch size 32 (datagen.flow's default), 50 epochs as a
# ceiling for EarlyStopping, patience 5; "best" = highest validation accuracy
# (what the competition scores) for both the checkpoint and early stopping.
# Its metric 'sparse_categorical_accuracy' is logged under the name 'accuracy'.
# ---------------------------------------------------------------------------
SEED_CIFAR10_MODELING = {
    "epochs": 50,
    "batch_size": 32,
    "lr": 0.005,
    "optimizer": "adam",
    "schedule": "constant",
    "loss": "sparse_categorical_crossentropy",
    "rotation": 10.0,
    "zoom": 0.0,
    "shift": 0.3,
    "flip": False,
    "fill_mode": "nearest",
    "monitor": "val_accuracy",
    "early_stopping": 5,
}


def cifar10_modeling_architecture(recipe: dict[str, Any], input_shape: tuple[int, int, int], n_classes: int) -> Any:
    from keras import Input, Sequential, layers

    model = Sequential(name="seed_cifar10_modeling")
    model.add(Input(shape=input_shape, dtype="float32"))
    model.add(layers.BatchNormalization())
    model.add(layers.Conv2D(filters=32, kernel_size=(3, 3), strides=(1, 1)))
    model.add(layers.BatchNormalization())
    model.add(layers.Activation("relu"))
    model.add(layers.MaxPool2D(pool_size=(2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(1024, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(n_classes, activation="softmax", dtype="float32"))
    return model


register(
    ModelVersion(
        name="seed-task5",
        summary="seed 000 'TASK 5': 3x Conv2D/BN/ReLU, Flatten, softmax; adam; rotate/zoom/shift; 50 epochs",
        defaults=SEED_TASK5,
        architecture=task5_architecture,
    )
)
register(
    ModelVersion(
        name="seed-cifar10-modeling",
        summary="seed 002: BN, Conv2D 32, BN, ReLU, MaxPool, Dense 1024, Dropout 0.5; Adam 0.005; rotate 10/shift 0.3; early stop",
        defaults=SEED_CIFAR10_MODELING,
        architecture=cifar10_modeling_architecture,
    )
)
