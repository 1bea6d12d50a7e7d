"""The SAGAN self-attention block."""

import keras
from keras import ops

from sagan_tf.layers.chunked_attention import chunk_sizes, chunked_attention
from sagan_tf.layers.spectral_conv2d import SpectralConv2D

#: Query and key positions per block of the memory-efficient path (a [batch, 1024,
#: 1024] float32 block: 32 MiB at batch 8).
DEFAULT_CHUNK = 1024


@keras.saving.register_keras_serializable(package="sagan_tf")
class SelfAttention(keras.layers.Layer):
    """Self-attention block of SAGAN (Zhang et al. 2018, section 3).

    For a feature map x with C channels at N = H * W positions:

        f(x) = W_f x,  g(x) = W_g x          (1x1 convs to C/8: keys, queries)
        h(x) = W_h x                          (1x1 conv to C/2: values)
        s_ij = f(x_i)^T g(x_j),  beta_{j,i} = softmax_i(s_ij)
        o_j = W_v( sum_i beta_{j,i} h(x_i) )  (1x1 conv C/2 -> C)
        y = gamma * o + x,  gamma a learned scalar initialised to 0.

    All four 1x1 convs are spectrally normalized and have no bias.

    With `pool_keys=True` (the default, as in the authors' released code, not in the
    paper's text) f(x) and h(x) are max-pooled 2x2 before attending, so each query
    attends over N/4 key positions; this needs H and W even. `pool_keys=False` is the
    paper's formula as written.

    The attention matrix beta takes O(N * N_keys) memory, which dominates at large
    feature maps (128x128 features: N = 16,384; 8 GiB in float32 for a batch of 8
    without pooling). Where the map is larger than one block of `query_chunk_size` x
    `key_chunk_size` (1024 x 1024 by default), the layer computes the same function
    by `chunked_attention`: an online softmax over key chunks inside query chunks,
    with a gradient that recomputes the blocks instead of storing the map, so memory
    grows linearly in N. The result is the same up to float rounding; this is an
    implementation choice, not a change to the method. `return_attention=True`
    materialises beta (it is the output) and takes the plain path.

    Args:
        pool_keys: max-pool keys and values 2x2 (authors' code) or not (paper).
        return_attention: also return beta, [batch, N, N_keys], for visualisation.
        power_iterations: spectral-norm power iterations per training call.
        kernel_initializer: initializer of the four 1x1 convs.
        query_chunk_size: query positions per block of the memory-efficient path
            (None: 1024).
        key_chunk_size: key positions per block (None: 1024).
        memory_efficient: "auto" (the memory-efficient path where the map exceeds
            one block), True (always) or False (never: the plain N x N map).
    """

    def __init__(self, pool_keys=True, return_attention=False, power_iterations=1,
                 kernel_initializer="glorot_uniform", query_chunk_size=None,
                 key_chunk_size=None, memory_efficient="auto", **kwargs):
        super().__init__(**kwargs)
        self.pool_keys = bool(pool_keys)
        self.return_attention = bool(return_attention)
        self.power_iterations = power_iterations
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        for name, value in (("query_chunk_size", query_chunk_size),
                            ("key_chunk_size", key_chunk_size)):
            if value is not None and (
                    not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"`{name}` must be None or a positive integer. "
                                 f"Received: {name}={value!r}")
        if memory_efficient not in ("auto", True, False):
            raise ValueError("`memory_efficient` must be 'auto', True or False. "
                             f"Received: memory_efficient={memory_efficient!r}")
        self.query_chunk_size = query_chunk_size
        self.key_chunk_size = key_chunk_size
        self.memory_efficient = memory_efficient
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        _, height, width, channels = input_shape
        if channels is None or channels % 8 != 0 or channels < 8:
            raise ValueError(
                "`SelfAttention` needs a channel count divisible by 8 (keys and queries "
                f"have C/8 channels). Received: input_shape={tuple(input_shape)}")
        if self.pool_keys and ((height or 0) % 2 or (width or 0) % 2):
            raise ValueError(
                "`SelfAttention(pool_keys=True)` max-pools keys 2x2 and needs an even "
                f"height and width. Received: input_shape={tuple(input_shape)}; "
                "use pool_keys=False for odd sizes.")
        self.channels = channels

        def conv(units, name):
            layer = SpectralConv2D(units, 1, use_bias=False, name=name,
                                   power_iterations=self.power_iterations,
                                   kernel_initializer=self.kernel_initializer,
                                   dtype=self.dtype_policy)
            return layer

        self.f_conv = conv(channels // 8, "f")
        self.g_conv = conv(channels // 8, "g")
        self.h_conv = conv(channels // 2, "h")
        self.v_conv = conv(channels, "v")
        self.f_conv.build(input_shape)
        self.g_conv.build(input_shape)
        self.h_conv.build(input_shape)
        self.v_conv.build(tuple(input_shape[:-1]) + (channels // 2,))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def call(self, x, training=None):
        batch, height, width = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        c = self.channels
        f = self.f_conv(x, training=training)
        g = self.g_conv(x, training=training)
        h = self.h_conv(x, training=training)
        if self.pool_keys:
            f = ops.max_pool(f, pool_size=2, strides=2, padding="valid")
            h = ops.max_pool(h, pool_size=2, strides=2, padding="valid")
        # Explicit batch sizes (not -1): an empty batch stays valid.
        f = ops.reshape(f, (batch, ops.shape(f)[1] * ops.shape(f)[2], c // 8))
        g = ops.reshape(g, (batch, height * width, c // 8))
        h = ops.reshape(h, (batch, ops.shape(h)[1] * ops.shape(h)[2], c // 2))
        if self.uses_chunked_path(g.shape[1], f.shape[1]):
            o = chunked_attention(g, f, h, self.query_chunk_size or DEFAULT_CHUNK,
                                  self.key_chunk_size or DEFAULT_CHUNK)
            beta = None
        else:
            o, beta = self._attend(g, f, h)
        o = ops.reshape(o, (batch, height, width, c // 2))
        o = self.v_conv(o, training=training)
        y = self.gamma * o + x
        if self.return_attention:
            return y, beta
        return y

    def _attend(self, g, f, h):
        """beta = softmax_i(f(x_i)^T g(x_j)); returns (sum_i beta_ji h(x_i), beta)."""
        s = ops.matmul(g, ops.transpose(f, (0, 2, 1)))  # s[b, j, i] = f(x_i)^T g(x_j)
        beta = ops.cast(ops.softmax(ops.cast(s, "float32"), axis=-1), self.compute_dtype)
        return ops.matmul(beta, h), beta

    def uses_chunked_path(self, queries, keys):
        """Whether a call with `queries` and `keys` positions takes the memory-efficient
        path (never with `return_attention` or unknown sizes)."""
        if self.return_attention or queries is None or keys is None \
                or self.memory_efficient is False:
            return False
        if self.memory_efficient is True:
            return True
        blocks = (chunk_sizes(queries, self.query_chunk_size or DEFAULT_CHUNK)[0]
                  * chunk_sizes(keys, self.key_chunk_size or DEFAULT_CHUNK)[0])
        return blocks > 1

    def compute_output_shape(self, input_shape):
        if not self.return_attention:
            return tuple(input_shape)
        b, hh, ww, _ = input_shape
        n = None if hh is None or ww is None else hh * ww
        keys = None if n is None else (n // 4 if self.pool_keys else n)
        return tuple(input_shape), (b, n, keys)

    def get_config(self):
        return {**super().get_config(), "pool_keys": self.pool_keys,
                "return_attention": self.return_attention,
                "power_iterations": self.power_iterations,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "query_chunk_size": self.query_chunk_size,
                "key_chunk_size": self.key_chunk_size,
                "memory_efficient": self.memory_efficient}
