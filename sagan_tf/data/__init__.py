"""Input pipelines: labelled images as a batched `tf.data.Dataset` for SAGAN training.

`load_dataset` returns `(dataset, info)`. Every element of `dataset` is a pair
`(images, labels)`: `images` float32 of shape `[batch, resolution, resolution, 3]` with values in
[-1, 1] (the range of the generator's tanh output), `labels` int32 of shape `[batch]` with
values in `[0, info.num_classes)`. `info` is a `DatasetInfo`.

Sources, chosen by the type and value of `source`:

* `"digits"`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes,
  pixel values 0..16). Needs no download. Pixels are mapped linearly 0 -> -1, 16 -> 1, the
  grayscale channel is repeated to 3 channels and the image is resized (bilinear) to the
  resolution. A fixed, seeded, per-class held-out split is available with `split="train"`
  (about 80%), `split="test"` (about 20%) or `split="all"`; `digits_arrays` gives the same data
  as NumPy arrays, e.g. as real images for evaluation.
* an existing directory (a `str` or `os.PathLike`), local or on any TensorFlow filesystem
  (a URL such as `gs://bucket/images`, `s3://...` or `ram://...`): one sub-folder per class,
  `root/<class_name>/**/<image>`. Class names are the sorted sub-folder names (hidden ones,
  starting with ".", are ignored) and a label is the index of its class name. Images with the
  extensions .png, .jpg, .jpeg, .bmp, .gif (first frame) and .webp are read with `tf.io`;
  grayscale is repeated to 3 channels and an alpha channel is dropped. Files that cannot be
  read or decoded are found before training starts (see `on_corrupt`).
* a tuple `(images, labels)` of NumPy arrays (or `source=images, labels=labels`): images of
  shape `[N, H, W]` or `[N, H, W, C]` with C in {1, 3, 4}; labels integers of shape `[N]`.
  `uint8` images hold 0..255; floating-point images need `value_range=(0, 1)` or
  `value_range=(-1, 1)` to say what they hold. Other dtypes are rejected.
* a `.npy` or `.npz` file (a str or os.PathLike, local or a URL): an images array
  (`np.save`, no classes), or `images` with optional `labels` and `value_range`
  (`np.savez`), read with `allow_pickle=False` and served as arrays are.
* any other string: a TensorFlow Datasets name, as `tfds.builder` takes it
  ("name", "name:1.2.3", "name/config"), read from `data_dir`. The dataset must have an
  image feature and a `tfds.features.ClassLabel` feature. Nothing is downloaded unless
  `download=True`; an unprepared dataset raises an error that says how to prepare it.

Images that are not `resolution x resolution` are resized so that their shorter side is
`resolution` (bilinear, antialiased: `tf.image.resize(..., method="bilinear", antialias=True)`,
which equals plain bilinear interpolation when enlarging), then center-cropped to a square
(`crop="center"`), or their longer side resized and the square padded with copies of the
edge pixels (`crop="none"`). Square images are thus resized only.

`resume_dataset(dataset, start_batch)` gives the batches of such a dataset from batch
`start_batch` on, computed rather than replayed for arrays, folders and digits.

Modules: `dataset` (`load_dataset`), `dataset_info` (`DatasetInfo`), one per source
(`digits`, `folder`, `arrays`, `numpy_file`, `tfds_source`), `sources` (their table), `pipeline` (the batched pipeline and the
image conversions every source shares) and `checks` (argument checks).
"""

from sagan_tf.data.dataset import load_dataset
from sagan_tf.data.dataset_info import DatasetInfo
from sagan_tf.data.digits import DIGITS_SPLIT_SEED
from sagan_tf.data.digits import DIGITS_TEST_FRACTION
from sagan_tf.data.digits import digits_arrays
from sagan_tf.data.folder import IMAGE_EXTENSIONS
from sagan_tf.data.pipeline import resume_dataset

__all__ = [
    "DIGITS_SPLIT_SEED",
    "DIGITS_TEST_FRACTION",
    "DatasetInfo",
    "IMAGE_EXTENSIONS",
    "digits_arrays",
    "load_dataset",
    "resume_dataset",
]
