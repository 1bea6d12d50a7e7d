"""Attention maps of a few query positions, as images in TensorBoard.

For an attention layer at an HxW feature map, beta[j] (the softmax over key positions
for query j) is a map over the keys: (H/2)x(W/2) with the default pooled keys. Each
map is scaled to [0, 1] (its minimum to 0, its maximum to 1, so that the structure of a
nearly uniform map shows too), drawn in a black-red-yellow-white scale blended with
the grey image, and the query's feature cell is marked in the query's colour.

The tags name the network whose weights are drawn: `attention/ema_generator/<layer>`
(the EMA generator, which samples, evaluations and exports use; `attention/generator/`
for a run without EMA) and `attention/discriminator/<layer>` (D on those samples). With
an EMA, the EMA generator's gammas are written beside them as
`gamma/ema_generator/<layer>`, so that the gamma of the weights shown is there under the
same name (`gamma/generator/<layer>`, from `ScalarSummaries`, is the trained G's). Each
image summary carries a description (`describe`) that TensorBoard shows with it.
"""

import keras
import numpy as np
import tensorflow as tf

from sagan_tf import storage
from sagan_tf.grid import make_grid, save_png, to_uint8
from sagan_tf.layers import SelfAttention
from sagan_tf import summaries
from sagan_tf.callbacks.periodic_writer import PeriodicWriter
from sagan_tf.callbacks.sample_grid import fixed_noise
from sagan_tf.callbacks.scalar_summaries import attention_layers

#: Query positions as fractions of the feature map's (height, width).
DEFAULT_QUERIES = ((0.5, 0.5), (0.25, 0.5), (0.75, 0.5), (0.5, 0.25))
#: Marker colours of the queries, in order.
QUERY_COLORS = np.array([[0, 255, 255], [0, 255, 0], [255, 0, 255], [64, 128, 255]],
                        np.uint8)


class AttentionProbe:
    """`inputs -> (features, beta)` of one attention layer of a functional network.

    A sub-model of the network (sharing its weights) computes the layer's input, and a
    copy of the layer built with `return_attention=True` returns beta; the copy takes
    the layer's current weights at every call.
    """

    def __init__(self, network, layer):
        self.network, self.layer = network, layer
        self.features = keras.Model(network.inputs, layer.input, name=f"{layer.name}_features")
        self.copy = SelfAttention.from_config({**layer.get_config(), "return_attention": True})
        self.copy.build(layer.input.shape)

    def __call__(self, inputs):
        """`inputs`: the network's inputs ([z, labels] or [images, labels])."""
        features = self.features(inputs, training=False)
        self.copy.set_weights(self.layer.get_weights())
        _, beta = self.copy(features, training=False)
        return np.asarray(features, np.float32), np.asarray(beta, np.float32)


def query_cells(feature_shape, queries=DEFAULT_QUERIES):
    """(row, column) feature cells of the query fractions."""
    h, w = feature_shape
    return [(min(int(fy * h), h - 1), min(int(fx * w), w - 1)) for fy, fx in queries]


def heat_colors(a):
    """[0, 1] -> RGB uint8 in a black-red-yellow-white scale."""
    a = np.clip(a, 0.0, 1.0)[..., None]
    rgb = np.clip(np.concatenate([3 * a, 3 * a - 1, 3 * a - 2], axis=-1), 0, 1)
    return (rgb * 255).round().astype(np.uint8)


def render(images, beta, feature_shape, pooled, cells, scale=1):
    """A uint8 panel: one row per image, [image with all queries marked] then one
    overlay of the attention map per query.

    Args:
        images: [B, R, R, 3] in [-1, 1].
        beta: [B, H * W, keys] attention of the layer at an HxW feature map.
        feature_shape: (H, W).
        pooled: whether keys are 2x2-pooled: (H/2)x(W/2) key positions, else HxW.
        cells: query cells (row, column) in the feature map.
        scale: integer upscaling of every tile.
    """
    h, w = feature_shape
    kh, kw = (h // 2, w // 2) if pooled else (h, w)
    images = to_uint8(images)
    res = images.shape[1]
    grey = images.mean(axis=-1, keepdims=True)
    tiles = []
    for b in range(images.shape[0]):
        marked = images[b].copy()
        for q, (qy, qx) in enumerate(cells):
            _mark(marked, qy, qx, h, w, QUERY_COLORS[q % len(QUERY_COLORS)])
        tiles.append(marked)
        for q, (qy, qx) in enumerate(cells):
            a = beta[b, qy * w + qx].reshape(kh, kw)
            a = (a - a.min()) / max(a.max() - a.min(), 1e-12)
            a = np.repeat(np.repeat(a, res // kh, axis=0), res // kw, axis=1)
            overlay = (0.4 * grey[b] + 0.6 * heat_colors(a)).round().astype(np.uint8)
            _mark(overlay, qy, qx, h, w, QUERY_COLORS[q % len(QUERY_COLORS)])
            tiles.append(overlay)
    tiles = np.stack(tiles)
    if scale > 1:
        tiles = np.repeat(np.repeat(tiles, scale, axis=1), scale, axis=2)
    return make_grid(tiles, rows=images.shape[0])


def describe(network, layer, feature_shape, pooled, num_images, queries=DEFAULT_QUERIES,
             ema=False):
    """The (markdown) TensorBoard description of a panel of `render`: what the rows,
    the columns and the coloured dots are."""
    h, w = feature_shape
    kh, kw = (h // 2, w // 2) if pooled else (h, w)
    names = ("cyan", "green", "magenta", "blue")
    listed = ", ".join(f"{names[q % len(names)]} at (y, x) = {fy:g}, {fx:g} of the map"
                       for q, (fy, fx) in enumerate(queries))
    who = (f"The {'EMA ' if ema else ''}generator's self-attention `{layer}`" if network
           != "discriminator" else f"The discriminator's self-attention `{layer}`, on the "
           "generated images of the rows")
    return (
        f"{who}, at its {h}x{w} feature map. **Rows**: {num_images} generated images, "
        "from fixed noise and classes 0, 1, ... (the same at every step). **First "
        "column**: the image, with a coloured dot on the feature cell of each query "
        f"position ({listed}). **Each further column**: one query, in the order of the "
        f"dots (its dot repeated): its attention map beta_j over the {kh}x{kw} key "
        f"positions{' (2x2-pooled keys)' if pooled else ''}, scaled from its minimum "
        "(black) to its maximum (white) through red and yellow, over the greyed image: "
        "where that query position looks. The layer outputs x + gamma * o: see "
        f"`gamma/{network}/{layer}`.")


def _mark(image, qy, qx, h, w, color):
    """Fills the image pixels of feature cell (qy, qx) with `color`."""
    res_y, res_x = image.shape[0] // h, image.shape[1] // w
    image[qy * res_y:(qy + 1) * res_y, qx * res_x:(qx + 1) * res_x] = color


class AttentionMaps(PeriodicWriter):
    """Every `every` steps: attention maps of `queries` for every attention layer of the
    sampling generator (on fixed-noise samples of classes 0, 1, ...) and of D (on those
    same generated images), as the `attention/<network>/<layer>` image summaries, and
    as `attention_<network>_<layer>.png` in `samples_dir` (latest only).
    """

    def __init__(self, writer, every, num_classes, seed=0, num_images=4,
                 queries=DEFAULT_QUERIES, samples_dir=None, min_size=96):
        super().__init__(every)
        self.writer = writer
        # (num_classes None: an unconditional model, whose networks take no labels)
        self.labels = np.arange(num_images, dtype=np.int32) % (num_classes or 1)
        self.seed = int(seed)
        self.queries = queries
        self.samples_dir = samples_dir
        self.min_size = min_size
        self.probes = None

    def on_train_begin(self, logs=None):
        self.probes = [AttentionProbe(network, layer)
                       for network in (self.model.sampling_generator(),
                                       self.model.discriminator)
                       for layer in attention_layers(network)]

    def on_train_end(self, logs=None):
        if self.probes:  # nothing to draw in a network without attention
            super().on_train_end(logs)

    def panels(self):
        """{(network name, layer name): uint8 panel} for the current weights."""
        z = fixed_noise(self.seed, len(self.labels), self.model.latent_dim)
        labels = tf.constant(self.labels)
        images = np.asarray(self.model.generate(
            z, labels, generator=self.model.sampling_generator()), np.float32)
        scale = max(1, -(-self.min_size // images.shape[1]))
        panels = {}
        for probe in self.probes:
            is_g = probe.network is self.model.sampling_generator()
            x = z if is_g else tf.constant(images)
            features, beta = probe([x, labels] if self.model.conditional else x)
            shape = features.shape[1:3]
            panels[(probe.network.name, probe.layer.name)] = render(
                images, beta, shape, probe.layer.pool_keys, query_cells(shape, self.queries),
                scale)
        return panels

    def write(self, step):
        for (network, layer), panel in self.panels().items():
            if self.writer is not None:
                probe = next(p for p in self.probes if (p.network.name, p.layer.name)
                             == (network, layer))
                is_ema = probe.network is self.model.ema_generator
                text = describe(network, layer, tuple(probe.layer.input.shape[1:3]),
                                probe.layer.pool_keys, len(self.labels), self.queries,
                                ema=is_ema)
                with self.writer.as_default(step=step):
                    summaries.image(f"attention/{network}/{layer}", panel[None],
                                    description=text)
                    if is_ema:  # the gamma of the weights shown, under their name
                        summaries.scalar(f"gamma/{network}/{layer}", probe.layer.gamma)
            if self.samples_dir:
                save_png(panel, storage.join(self.samples_dir,
                                             f"attention_{network}_{layer}.png"))
        if self.writer is not None:
            self.writer.flush()
        self.last_step = step
