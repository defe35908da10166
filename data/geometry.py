"""How images reach their training size, as constants both the data pipeline (data/datasets.py `_fit_square`) and
evaluation (evaluation/images.py, which brings samples to a judge's input the same way) read. No TensorFlow.

28x28 images (native MNIST geometry) are padded by MNIST_PAD px of BACKGROUND to 32x32, the LeNet-5 input
geometry, rather than stretched: a resize would thicken every stroke."""

MNIST_SIZE, MNIST_PAD = 28, 2
BACKGROUND = -1.0  # black in [-1, 1]: what padding adds
