"""Keras callbacks for `SAGAN.fit`, one public class per module, named after it.

`sagan-train` passes all of them; a Python user calling `gan.fit(...)` picks any:

- `PerStepMetrics` (first): the logs hold each step's losses, not running means;
- `DivergenceGuard`: stops at the first non-finite step, before anything is written;
- `ProgressBar`: Keras' bar, ending at the step reached when stopped early;
- `LossCSVLogger`, `ScalarSummaries`, `SampleGrid`, `AttentionMaps`: what a run
  writes (losses.csv, TensorBoard scalars, sample grids, attention maps);
- `EvalCallback`: FID/KID/IS... every N steps, keeping the best-FID checkpoint;
- `PeriodicCheckpoint` and `StopOnSignal` (last): checkpoints every N steps and at the
  end, and a clean stop on SIGTERM or Ctrl-C.

`PeriodicWriter` is the schedule the writing callbacks share.
"""

from sagan_tf.callbacks.attention_maps import AttentionMaps
from sagan_tf.callbacks.divergence_guard import DivergenceGuard
from sagan_tf.callbacks.eval_callback import EvalCallback
from sagan_tf.callbacks.loss_csv_logger import LossCSVLogger
from sagan_tf.callbacks.per_step_metrics import PerStepMetrics
from sagan_tf.callbacks.periodic_checkpoint import PeriodicCheckpoint
from sagan_tf.callbacks.periodic_writer import PeriodicWriter
from sagan_tf.callbacks.progress_bar import ProgressBar
from sagan_tf.callbacks.sample_grid import SampleGrid
from sagan_tf.callbacks.scalar_summaries import ScalarSummaries
from sagan_tf.callbacks.stop_on_signal import StopOnSignal

__all__ = ["AttentionMaps", "DivergenceGuard", "EvalCallback", "LossCSVLogger",
           "PerStepMetrics", "PeriodicCheckpoint", "PeriodicWriter", "ProgressBar",
           "SampleGrid", "ScalarSummaries", "StopOnSignal"]
