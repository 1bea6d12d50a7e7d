"""Evaluation of generative models: Inception Score, FID, KID and intra-FID.

The metrics are computed the way TF-GAN computes them (with TF-GAN's own evaluation
functions, see `sagan_tf.metrics.tfgan_eval`) from classifier logits and pooled
activations.
"""

from sagan_tf.metrics.scores import frechet_distance
from sagan_tf.metrics.scores import inception_score
from sagan_tf.metrics.scores import intra_fid
from sagan_tf.metrics.scores import kernel_distance
from sagan_tf.metrics.tfgan_eval import load_tfgan_eval
from sagan_tf.metrics.classifiers import Classifier
from sagan_tf.metrics.classifiers import ClassifierNotFoundError
from sagan_tf.metrics.classifiers import default_hub_cache_dir
from sagan_tf.metrics.classifiers import find_in_hub_cache
from sagan_tf.metrics.classifiers import inception_classifier
from sagan_tf.metrics.classifiers import keras_classifier
from sagan_tf.metrics.classifiers import load_classifier
from sagan_tf.metrics.classifiers import saved_model_classifier
from sagan_tf.metrics.streaming import compute_activations
from sagan_tf.metrics.streaming import generate_activations
from sagan_tf.metrics.evaluation import evaluate
from sagan_tf.metrics.domain_classifier import build_domain_classifier
from sagan_tf.metrics.domain_classifier import classifier_accuracy
from sagan_tf.metrics.domain_classifier import domain_classifier_from_model
from sagan_tf.metrics.domain_classifier import load_or_train_domain_classifier
from sagan_tf.metrics.domain_classifier import train_domain_classifier
