"""Evaluation of a generator as a library: what is evaluated, against which real images,
with which classifier, and the metrics run. `sagan-eval` and `EvalCallback` call it.

- `generators`: `GeneratorSource` from a Keras model, a run directory or an export; the
  seeded noise of the generated images (`sagan_tf.noise`, EVALUATION stream).
- `real_data`: the real images of a dataset split.
- `classifier_choice`: `domain`, `inception` or a path.
- `metric_table`: `METRICS`, every metric in one table (key, protocol prefix, needs,
  function).
- `metrics_run`: `evaluate`, every metric of a generator from one classifier pass.
- `reference_stats`: `ReferenceStats` files of a real split (`sagan-fid-stats`), read
  instead of the real images; `reference_run`: the program's settings and work.
- `protocols`: the protocol names of the figures (`fid50k_train`, `is50k`).
- `evaluator`: `EvalSettings` (every setting with its default), `evaluate_source`,
  `run_evaluation`, `format_results`.
"""

from sagan_tf.evaluation.classifier_choice import DOMAIN, load_eval_classifier
from sagan_tf.evaluation.evaluator import (EvalSettings, evaluate_source, format_results,
                                           run_evaluation)
from sagan_tf.evaluation.generators import (EvalError, GeneratorSource, from_keras,
                                            from_run_dir, from_saved_model, generate_fn,
                                            keras_generator_call)
from sagan_tf.evaluation.metric_table import METRIC_NAMES, METRICS, Metric
from sagan_tf.evaluation.metrics_run import evaluate
from sagan_tf.evaluation.protocols import protocol_names, with_protocols
from sagan_tf.evaluation.reference_stats import (ReferenceStats, check_reference,
                                                 compute_reference_stats,
                                                 load_reference_stats,
                                                 save_reference_stats)
from sagan_tf.evaluation.real_data import default_real_split, real_batches

__all__ = ["DOMAIN", "METRIC_NAMES", "METRICS", "Metric", "EvalError", "EvalSettings", "GeneratorSource", "default_real_split",
           "evaluate", "evaluate_source", "format_results", "from_keras", "from_run_dir",
           "from_saved_model", "generate_fn", "keras_generator_call", "load_eval_classifier",
           "real_batches", "run_evaluation", "ReferenceStats", "check_reference",
           "compute_reference_stats", "load_reference_stats", "save_reference_stats",
           "protocol_names", "with_protocols"]
