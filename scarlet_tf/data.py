"""The one dataset loader every command uses.

A dataset is named by one of:

* ``"digits"``: scikit-learn's bundled handwritten digits (1,797 real 8x8 grayscale images,
  10 classes), scaled to 0..255, resized to 32x32 (bilinear) and replicated to 3 channels.
  Nothing is downloaded. A fixed, per-class 20% of the images is the test split.
* a folder or ``.tar.gz`` archive with one folder per class: ``<root>/train/<class>/*.jpg|png``
  and ``<root>/test/<class>/`` (or ``val/``), optionally inside one top-level folder. An archive
  is extracted once (plain files and folders only) into ``$SCARLET_TF_CACHE`` (default
  ``~/.cache/scarlet_tf``).
* ``"tfds:NAME"``: a tensorflow-datasets dataset already prepared in ``$TFDS_DATA_DIR``
  (default ``~/tensorflow_datasets``); NAME may carry tfds's ``/config`` and ``:version``.
  Nothing is downloaded.

Splits are ``train``, ``search`` and ``test``. ``search`` is a hold-out of the training images
(``search_fraction`` of them) for architecture search, disjoint from ``train``; it never depends
on ``load(seed=...)``, so a split is the same set of images in every run.

Read unshuffled, every split of a folder or archive is in one fixed, seeded order that
interleaves the classes in proportion to their sizes, so any prefix of it (an Evaluator's
``max_images``, int8 calibration images, ``--max-images``) is a fair sample of all classes:
each class within two images of its share. Folders list their files class by class, which
would otherwise make a prefix one class. Digits and tfds datasets are stored mixed already.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np
import tensorflow as tf

from scarlet_tf.errors import ScarletError

SPLITS = ("train", "search", "test")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
SMALL_MAX = 64  # image_size up to this gets the CIFAR-style transforms, above it ImageNet-style
EVAL_CROP = 0.875  # ImageNet-style evaluation: resize the shorter side to size / 0.875, crop
_TEST_SEED, _SEARCH_SEED, _ORDER_SEED = 1, 2, 3  # fixed: splits and their order never change
_DIGITS_TEST_FRACTION = 0.2
_CACHE_LIMIT_BYTES = 1 << 30  # cache decoded images in memory only below this estimate
_TFDS_SHUFFLE_BUFFER = 10_000  # tfds examples are already shuffled when prepared
_LAYOUT = "<root>/train/<class>/*.jpg|png and <root>/test/<class>/ (or val/)"
_ALLOWED = f"'digits', 'tfds:NAME', or a folder or .tar.gz archive laid out as {_LAYOUT}"


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset holds: classes, native image side length (pixels), examples per split."""

    name: str
    num_classes: int
    class_names: tuple[str, ...]
    image_size: int
    num_examples: dict[str, int]


@dataclasses.dataclass(frozen=True)
class _Source:
    info: DatasetInfo
    elements: Callable[[str], tf.data.Dataset]  # split -> dataset of (raw, label)
    decode: Callable[[tf.Tensor], tf.Tensor]  # raw -> uint8 [H, W, 3]
    shuffle_buffer: int  # most raw elements to buffer when shuffling before decoding


def normalize(images):
    """Scale pixel values from [0, 255] to [-1, 1] (x / 127.5 - 1); any shape, returns float32."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def info(dataset="digits", *, search_fraction=0.1) -> DatasetInfo:
    """Describe ``dataset`` (see the module docstring), decoding at most one image.

    A folder is listed and one image decoded; an archive is extracted once into the cache.
    """
    _check_fraction(search_fraction)
    return _source(dataset, search_fraction).info


def load(dataset="digits", split="train", *, batch_size=64, image_size=32, augment=None,
         shuffle=None, seed=0, search_fraction=0.1, repeat=False, drop_remainder=False,
         cache=True, crop_scale=(0.08, 1.0)) -> tuple[tf.data.Dataset, DatasetInfo]:
    """Batches of ``(images float32 [B, S, S, 3] in [-1, 1], labels int32 [B])``, S = image_size.

    ``augment`` and ``shuffle`` default to True for ``split="train"`` only. For S <= 64
    (CIFAR-style) images are resized to S x S; augmentation zero-pads by S // 8, crops S x S
    at random and flips horizontally (digits too). For S > 64 (ImageNet-style) augmentation is
    a random-resized crop (area fraction in ``crop_scale``, aspect 3/4..4/3) plus a flip;
    without it the shorter side is resized to S / 0.875 and the centre S x S kept.
    Decoded images are cached in memory before augmentation when ``cache`` and they fit in
    about 1 GiB. Shuffling reshuffles each pass; ``seed`` (an int) makes order and
    augmentation repeat exactly, ``seed=None`` does not. ``repeat`` makes it endless.
    """
    _check_args(split, batch_size, image_size, search_fraction, crop_scale)
    src = _source(dataset, search_fraction)
    augment = split == "train" if augment is None else augment
    shuffle = split == "train" if shuffle is None else shuffle
    native = augment and image_size > SMALL_MAX  # random-resized crops need the whole image
    n = src.info.num_examples[split]
    side = src.info.image_size if native else image_size
    cached = cache and n * side * side * 3 <= _CACHE_LIMIT_BYTES

    ds = src.elements(split)
    if shuffle and not cached:
        ds = ds.shuffle(max(1, min(n, src.shuffle_buffer)), seed=seed,
                        reshuffle_each_iteration=True)
    ds = ds.map(lambda x, y: (_prepare(src.decode(x), image_size, native), tf.cast(y, tf.int32)),
                num_parallel_calls=tf.data.AUTOTUNE)
    if cached:
        ds = ds.cache()
        if shuffle:
            ds = ds.shuffle(max(1, n), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if augment:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda xy, s: (_augment(xy[0], s, image_size, crop_scale), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE)
    shape = (image_size, image_size, 3)
    ds = ds.map(lambda x, y: (normalize(tf.ensure_shape(x, shape)), y),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE), src.info


# ---------------------------------------------------------------- transforms (uint8 [H, W, 3] in)

def _prepare(image, size, native):
    """The cached form of one image: uint8 [size, size, 3], or unchanged when ``native``."""
    if native:
        return image
    if size > SMALL_MAX:
        hw = tf.cast(tf.shape(image)[:2], tf.float32)
        hw = tf.cast(tf.round(hw * (size / EVAL_CROP) / tf.reduce_min(hw)), tf.int32)
        image = tf.image.resize_with_crop_or_pad(tf.image.resize(image, hw), size, size)
    else:
        image = tf.image.resize(image, (size, size))
    return tf.saturate_cast(tf.round(image), tf.uint8)


def _augment(image, seed, size, crop_scale):
    """Random crop and horizontal flip of one image, driven by ``seed`` (int64 [2]); float32 out."""
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    image = tf.cast(image, tf.float32)
    if size > SMALL_MAX:
        begin, extent, _ = tf.image.stateless_sample_distorted_bounding_box(
            tf.shape(image), tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=crop_seed,
            min_object_covered=0.0, aspect_ratio_range=(3 / 4, 4 / 3), area_range=crop_scale,
            max_attempts=10, use_image_if_no_bounding_boxes=True)
        image = tf.image.resize(tf.slice(image, begin, extent), (size, size))
    else:
        pad = size // 8
        image = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
        image = tf.image.stateless_random_crop(image, (size, size, 3), seed=crop_seed)
    return tf.image.stateless_random_flip_left_right(image, seed=flip_seed)


# ---------------------------------------------------------------- sources

def _source(dataset, search_fraction) -> _Source:
    if not isinstance(dataset, (str, os.PathLike)):
        raise ScarletError(f"dataset must be a string or path, got {dataset!r}; "
                           f"allowed: {_ALLOWED}")
    spec = os.fspath(dataset)
    if spec == "digits":
        return _digits_source(search_fraction)
    if spec.startswith("tfds:"):
        return _tfds_source(spec[len("tfds:"):], search_fraction)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _folder_source(path, path.resolve().name, search_fraction)
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        return _folder_source(_extract(path), _archive_stem(path), search_fraction)
    if path.is_file():
        raise ScarletError(f"dataset file {spec} is not a .tar.gz archive; allowed: {_ALLOWED}")
    if os.sep in spec or spec.startswith((".", "~")) or spec.endswith((".tar.gz", ".tgz")):
        raise ScarletError(f"dataset path {spec} does not exist; allowed: {_ALLOWED}")
    raise ScarletError(f"unknown dataset {spec!r}; allowed: {_ALLOWED}")


def _holdout(labels, fraction, seed):
    """Split positions into (kept, held), holding out a seeded ``fraction`` of each class."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        held[members[:int(fraction * len(members) + 0.5)]] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def interleaved(labels, seed) -> np.ndarray:
    """A seeded order (int [N] positions) of ``labels`` (int [N]) in which every prefix holds
    each class in proportion to its size, within two images.

    Member k of a class of n (in a seeded shuffle) gets the key (k + u) / n, u in [0, 1)
    drawn once per class; sorting by key deals the classes out like a stratified round robin.
    """
    rng = np.random.default_rng(seed)
    keys = np.empty(len(labels))
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        keys[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(keys, kind="stable")


@functools.lru_cache(maxsize=1)
def _digits_arrays():
    """All digits as uint8 [1797, 32, 32, 3] in 0..255 and int32 labels [1797]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = tf.image.resize(digits.images[..., None] * (255.0 / 16.0), (32, 32))
    images = tf.image.grayscale_to_rgb(tf.saturate_cast(tf.round(images), tf.uint8))
    return images.numpy(), digits.target.astype(np.int32)


def _digits_source(search_fraction) -> _Source:
    images, labels = _digits_arrays()
    rest, test = _holdout(labels, _DIGITS_TEST_FRACTION, _TEST_SEED)
    train, search = (rest[i] for i in _holdout(labels[rest], search_fraction, _SEARCH_SEED))
    index = {"train": train, "search": search, "test": test}
    info = DatasetInfo("digits", 10, tuple(str(d) for d in range(10)), 32,
                       {k: len(v) for k, v in index.items()})
    return _Source(info, lambda split: tf.data.Dataset.from_tensor_slices(
        (images[index[split]], labels[index[split]])), tf.identity, len(labels))


def _folder_source(folder: Path, name, search_fraction) -> _Source:
    root = _find_root(folder)
    test_dir = next((root / s for s in ("test", "val") if (root / s).is_dir()), None)
    if test_dir is None:
        raise ScarletError(f"dataset folder {root} has no test/ or val/ subfolder; "
                           f"expected {_LAYOUT}")
    classes = tuple(sorted(d.name for d in (root / "train").iterdir() if d.is_dir()))
    strays = sorted({d.name for d in test_dir.iterdir() if d.is_dir()} - set(classes))
    if strays:
        raise ScarletError(f"{test_dir} has class folders {strays} that train/ lacks; "
                           "test classes must be a subset of the train/ class folders")
    train_files, train_labels = _list_images(root / "train", classes)
    if not len(train_files):
        raise ScarletError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in "
                           f"{root / 'train'}/<class>/; expected {_LAYOUT}")
    keep, held = _holdout(train_labels, search_fraction, _SEARCH_SEED)
    splits = {"train": (train_files[keep], train_labels[keep]),
              "search": (train_files[held], train_labels[held]),
              "test": _list_images(test_dir, classes)}
    files = {k: _in_fair_order(*v) for k, v in splits.items()}
    native = int(_decode_file(train_files[0]).shape[0])
    sizes = {k: len(v[1]) for k, v in files.items()}
    info = DatasetInfo(name, len(classes), classes, native, sizes)
    return _Source(info, lambda split: tf.data.Dataset.from_tensor_slices(files[split]),
                   _decode_file, len(train_files))


def _in_fair_order(paths, labels):
    """``(paths, labels)`` reordered by :func:`interleaved` (the split's stored order)."""
    order = interleaved(labels, _ORDER_SEED)
    return paths[order], labels[order]


def _find_root(folder: Path) -> Path:
    """``folder`` itself, or its one top-level subfolder, whichever holds train/."""
    if (folder / "train").is_dir():
        return folder
    subdirs = [d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if len(subdirs) == 1 and (subdirs[0] / "train").is_dir():
        return subdirs[0]
    raise ScarletError(f"dataset folder {folder} has no train/ subfolder; expected {_LAYOUT}")


def _list_images(folder: Path, classes):
    """Sorted image paths (str [N]) in ``folder/<class>/`` and their class indices (int32 [N])."""
    paths, labels = [], []
    for label, name in enumerate(classes):
        d = folder / name
        found = sorted(str(p) for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS) \
            if d.is_dir() else []
        paths += found
        labels += [label] * len(found)
    return np.array(paths, dtype=str), np.array(labels, np.int32)


def _decode_file(path):
    """Read and decode one image file (JPEG, PNG, BMP, GIF's first frame) to uint8 [H, W, 3]."""
    return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)


def _archive_stem(archive: Path) -> str:
    return archive.name.removesuffix(".tgz").removesuffix(".gz").removesuffix(".tar")


def _extract(archive: Path) -> Path:
    """Extract ``archive`` once into the cache; the folder is keyed by path, size and mtime.

    It is extracted into a temporary folder and renamed into place, so an interrupted
    extraction never leaves a half-filled cache entry.
    """
    st = archive.stat()
    key = hashlib.sha256(f"{archive.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    base = Path(os.environ.get("SCARLET_TF_CACHE") or Path.home() / ".cache" / "scarlet_tf")
    target = base / f"{_archive_stem(archive)}-{key[:12]}"
    if target.is_dir():
        return target
    base.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{target.name}-", dir=base)
    try:
        with tarfile.open(archive, "r:gz") as tar:  # not "r|gz": it misses truncation
            tar.extractall(tmp, filter=_plain_member)
        os.rename(tmp, target)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if target.is_dir():  # another process extracted it first
            return target
        raise ScarletError(f"cannot read archive {archive} as .tar.gz ({e}); allowed: {_ALLOWED}") \
            from None
    return target


def _plain_member(member, _dest):
    """Extraction filter: files and folders with relative, '..'-free names, default owner and
    permissions; links and devices are skipped, so nothing lands outside the target."""
    name = PurePosixPath(member.name)
    if not (member.isfile() or member.isdir()) or name.is_absolute() or ".." in name.parts:
        return None
    return member.replace(mode=None, mtime=None, uid=None, gid=None, uname=None, gname=None,
                          deep=False)


def _tfds_source(name, search_fraction) -> _Source:
    """A prepared tfds dataset; ``search`` is the last ``search_fraction`` of its train split."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=os.environ.get("TFDS_DATA_DIR"))
    except ValueError as e:  # includes DatasetNotFoundError
        raise ScarletError(f"cannot open tensorflow-datasets dataset {name!r}: "
                           f"{str(e).splitlines()[0]}; names are those of tfds.list_builders()") \
            from None
    if not builder.is_prepared():
        raise ScarletError(
            f"tensorflow-datasets dataset {name!r} is not prepared in {builder.data_dir} and this "
            f"loader never downloads; prepare it first (`tfds build {name} --data_dir DIR`) and "
            "set TFDS_DATA_DIR=DIR")
    splits, keys = builder.info.splits, builder.info.supervised_keys
    test = next((s for s in ("test", "validation") if s in splits), None)
    if "train" not in splits or test is None or keys is None:
        raise ScarletError(f"tensorflow-datasets dataset {name!r} needs train and test (or "
                           "validation) splits and (image, label) supervised keys")
    n = splits["train"].num_examples
    cut = n - int(search_fraction * n + 0.5)
    slices = {"train": f"train[:{cut}]", "search": f"train[{cut}:]", "test": test}

    def elements(split):
        return builder.as_dataset(split=slices[split], as_supervised=True, shuffle_files=False)

    native = (builder.info.features[keys[0]].shape[0]
              or int(next(iter(elements("train")))[0].shape[0]))
    classes = tuple(builder.info.features[keys[1]].names)
    info = DatasetInfo(name, len(classes), classes, native,
                       {"train": cut, "search": n - cut, "test": splits[test].num_examples})
    return _Source(info, elements, _to_rgb, _TFDS_SHUFFLE_BUFFER)


def _to_rgb(image):
    """uint8 [H, W, 1|3|4] -> uint8 [H, W, 3]."""
    return tf.image.grayscale_to_rgb(image) if image.shape[-1] == 1 else image[..., :3]


# ---------------------------------------------------------------- argument checks

def _check_fraction(search_fraction):
    if not isinstance(search_fraction, (int, float)) or not 0 <= search_fraction < 1:
        raise ScarletError(f"search_fraction must be a number in [0, 1), got {search_fraction!r}")


def _check_args(split, batch_size, image_size, search_fraction, crop_scale):
    if split not in SPLITS:
        raise ScarletError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    for name, value, low in (("batch_size", batch_size, 1), ("image_size", image_size, 8)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ScarletError(f"{name} must be an integer >= {low}, got {value!r}")
    _check_fraction(search_fraction)
    if not (isinstance(crop_scale, (tuple, list)) and len(crop_scale) == 2
            and 0 < crop_scale[0] <= crop_scale[1] <= 1):
        raise ScarletError("crop_scale must be (low, high) with 0 < low <= high <= 1, "
                           f"got {crop_scale!r}")
