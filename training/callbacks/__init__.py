"""Keras callbacks of the training program, one class per module."""

from training.callbacks.attention_maps import AttentionMaps
from training.callbacks.divergence_guard import DivergenceGuard
from training.callbacks.loss_csv import LossCSVLogger
from training.callbacks.periodic_checkpoint import PeriodicCheckpoint
from training.callbacks.per_step_metrics import PerStepMetrics
from training.callbacks.progress_bar import ProgressBar
from training.callbacks.sample_grid import SampleGrid
from training.callbacks.scalar_summaries import ScalarSummaries
from training.callbacks.stop_on_signal import StopOnSignal

__all__ = ["AttentionMaps", "DivergenceGuard", "LossCSVLogger", "PerStepMetrics",
           "PeriodicCheckpoint", "ProgressBar", "SampleGrid", "ScalarSummaries", "StopOnSignal"]
