"""The measuring instruments of evaluation: Inception Score, FID, KID and intra-FID, and
the classifiers whose outputs they read (the evaluation run is `sagan_tf.evaluation`).

The metrics are computed with TF-GAN's own evaluation functions (loaded by
`sagan_tf.metrics.tfgan_eval`, since `import tensorflow_gan` fails on
TensorFlow >= 2.16) from a classifier's logits and pooled activations, in float64.
The classifier comes from a local path or the TF-Hub cache, where `tensorflow_hub`
downloads it when missing unless offline (`hub_download`).

Modules:
- `scores`: `inception_score` (one pass; `inception_score_splits`: Salimans' mean and
  std over 10 splits), `frechet_distance` (and `frechet_distance_from_moments`
  for reference statistics), `kernel_distance`, `intra_fid` on precomputed NumPy arrays.
- `precision_recall` (Kynkaanniemi et al. 2019) and `density_coverage` (Naeem et al.
  2020): k-nearest-neighbour metrics on the same activations, computed in blocks
  (`neighbourhoods`).
- `classifier`: `Classifier`, the images -> (logits, activations) wrapper.
- `classifier_loaders`: TF-GAN's Inception TF-Hub module, any SavedModel, Keras
  models; `load_classifier` for the `--classifier` flag.
- `hub_cache`: where `tensorflow_hub` caches a module; `hub_download`: a module from
  the cache or downloaded there (`--offline`, `SAGAN_OFFLINE=1` forbid it).
- `saved_model_calls`: how a loaded SavedModel classifier is called.
- `domain_classifier`: a small CNN trained on the data set itself, for data where
  Inception does not fit (`--classifier=domain`).
- `streaming`: `compute_activations` / `generate_activations`, running a
  classifier batch by batch and keeping only its outputs.

Example:

```python
from sagan_tf import evaluation, metrics

classifier = metrics.load_classifier("/path/to/inception")  # untarred TF-Hub module
results = evaluation.evaluate(generate_fn, real_batches, classifier,
                           num_samples=10000, batch_size=100, num_classes=1000)
# {"inception_score": ..., "fid": ..., "kid": ..., "kid_std": ...,
#  "intra_fid": ..., "class_accuracy": None, "precision": ..., "recall": ...,
#  "density": ..., "coverage": ...}
```
"""

from sagan_tf.metrics.classifier import Classifier
from sagan_tf.metrics.classifier import ClassifierNotFoundError
from sagan_tf.metrics.classifier import weights_hash
from sagan_tf.metrics.classifier_loaders import inception_classifier
from sagan_tf.metrics.classifier_loaders import keras_classifier
from sagan_tf.metrics.classifier_loaders import load_classifier
from sagan_tf.metrics.classifier_loaders import saved_model_classifier
from sagan_tf.metrics.density_coverage import density_coverage
from sagan_tf.metrics.domain_classifier import build_domain_classifier
from sagan_tf.metrics.domain_classifier import classifier_accuracy
from sagan_tf.metrics.domain_classifier import domain_classifier_from_model
from sagan_tf.metrics.domain_classifier import load_or_train_domain_classifier
from sagan_tf.metrics.domain_classifier import train_domain_classifier
from sagan_tf.metrics.hub_cache import default_hub_cache_dir
from sagan_tf.metrics.hub_cache import find_in_hub_cache
from sagan_tf.metrics.precision_recall import precision_recall
from sagan_tf.metrics.scores import frechet_distance
from sagan_tf.metrics.scores import frechet_distance_from_moments
from sagan_tf.metrics.scores import inception_score
from sagan_tf.metrics.scores import inception_score_splits
from sagan_tf.metrics.scores import intra_fid
from sagan_tf.metrics.scores import kernel_distance
from sagan_tf.metrics.streaming import compute_activations
from sagan_tf.metrics.streaming import generate_activations
from sagan_tf.metrics.tfgan_eval import load_tfgan_eval

__all__ = [
    "Classifier",
    "ClassifierNotFoundError",
    "build_domain_classifier",
    "classifier_accuracy",
    "compute_activations",
    "default_hub_cache_dir",
    "density_coverage",
    "domain_classifier_from_model",
    "find_in_hub_cache",
    "frechet_distance",
    "frechet_distance_from_moments",
    "generate_activations",
    "inception_classifier",
    "inception_score",
    "inception_score_splits",
    "intra_fid",
    "keras_classifier",
    "kernel_distance",
    "load_classifier",
    "load_or_train_domain_classifier",
    "load_tfgan_eval",
    "precision_recall",
    "saved_model_classifier",
    "train_domain_classifier",
    "weights_hash",
]
