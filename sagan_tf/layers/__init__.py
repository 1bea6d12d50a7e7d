"""SAGAN's Keras layers (backend-agnostic `keras.ops` code)."""

from sagan_tf.layers.batch_norm import BatchNorm
from sagan_tf.layers.conditional_batch_norm import ConditionalBatchNorm
from sagan_tf.layers.projection_head import ProjectionHead
from sagan_tf.layers.residual_down_block import ResidualDownBlock
from sagan_tf.layers.residual_up_block import ResidualUpBlock
from sagan_tf.layers.self_attention import SelfAttention
from sagan_tf.layers.spectral_conv2d import SpectralConv2D
from sagan_tf.layers.spectral_dense import SpectralDense
from sagan_tf.layers.spectral_embedding import SpectralEmbedding

__all__ = ["BatchNorm", "ConditionalBatchNorm", "ProjectionHead", "ResidualDownBlock",
           "ResidualUpBlock", "SelfAttention", "SpectralConv2D", "SpectralDense",
           "SpectralEmbedding"]
