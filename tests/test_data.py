"""scarlet_tf.data on real images: scikit-learn's digits, folders and archives made from them,
a tiny tensorflow-datasets dataset prepared offline, and the shared CIFAR-10 archive if present."""

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from scarlet_tf import data
from scarlet_tf.errors import ScarletError

CIFAR = Path(__file__).resolve().parents[1].parent / "shared/data/cifar10-jpeg.tar.gz"
CLASSES = {"zero": 0, "one": 1, "two": 2}  # folder name -> digit
N_TRAIN, N_TEST = 10, 3  # images per class


def arrays(dataset="digits", split="train", **kw):
    """The whole split as numpy (images [N, S, S, 3], labels [N]), unshuffled, unaugmented."""
    kw = {"augment": False, "shuffle": False, "batch_size": 512, **kw}
    ds, _ = data.load(dataset, split, **kw)
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds))
    return np.concatenate(xs), np.concatenate(ys)


def first_batches(ds, n=2):
    return [x.numpy() for x, _ in ds.take(n)]


def rows(images):
    return {im.tobytes() for im in images}


def raw_digits(digit, count):
    """``count`` real 8x8 images of ``digit`` as uint8 [count, 8, 8, 1] in 0..255."""
    d = load_digits()
    images = d.images[d.target == digit][:count]
    return np.round(images * (255 / 16)).astype(np.uint8)[..., None]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """<root>/train/<class>/*.png and <root>/test/<class>/*.jpg of real digits (8x8 pixels)."""
    root = tmp_path_factory.mktemp("digits_folder") / "digits3"
    for name, digit in CLASSES.items():
        images = raw_digits(digit, N_TRAIN + N_TEST)
        for split, chunk, ext, encode in (("train", images[:N_TRAIN], "png", tf.io.encode_png),
                                          ("test", images[N_TRAIN:], "jpg", tf.io.encode_jpeg)):
            (root / split / name).mkdir(parents=True)
            for i, im in enumerate(chunk):
                tf.io.write_file(str(root / split / name / f"{i:03d}.{ext}"), encode(im))
    return root


def make_tar(folder, path, top_level):
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            tar.add(folder / split, arcname=f"top/{split}" if top_level else split)
    return path


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SCARLET_TF_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# ---------------------------------------------------------------- digits

def test_digits_batches_have_documented_shapes_dtypes_and_range():
    ds, info = data.load(batch_size=64)
    x, y = next(iter(ds))
    assert x.shape == (64, 32, 32, 3) and x.dtype == tf.float32 and y.dtype == tf.int32
    assert info.num_classes == 10 and info.class_names == tuple("0123456789")
    assert info.image_size == 32 and info == data.info()
    test_x, test_y = arrays(split="test")
    assert test_x.min() == -1.0 and test_x.max() == 1.0
    assert set(test_y) == set(range(10))
    assert np.array_equal(test_x[..., 0], test_x[..., 2])  # grayscale replicated
    assert float(data.normalize(tf.constant([0.0, 127.5, 255.0]))[1]) == 0.0


def test_digits_splits_are_disjoint_complete_and_stable():
    info = data.info()
    sizes = info.num_examples
    assert sum(sizes.values()) == 1797 and set(sizes) == set(data.SPLITS)
    assert abs(sizes["test"] - 0.2 * 1797) < 10
    assert abs(sizes["search"] - 0.1 * (1797 - sizes["test"])) < 10
    splits = {s: rows(arrays(split=s)[0]) for s in data.SPLITS}
    assert {s: len(r) for s, r in splits.items()} == sizes
    assert not (splits["train"] & splits["search"] or splits["train"] & splits["test"]
                or splits["search"] & splits["test"])
    # the load seed never moves images between splits; a bigger search_fraction leaves test alone
    assert rows(arrays(split="search", seed=123)[0]) == splits["search"]
    assert rows(arrays(split="test", search_fraction=0.3)[0]) == splits["test"]
    assert len(rows(arrays(split="search", search_fraction=0.3)[0])) > sizes["search"]


def test_augmentation_changes_training_images_but_not_evaluation():
    plain, _ = arrays(split="train")
    augmented, _ = arrays(split="train", augment=True)
    changed = np.any(plain != augmented, axis=(1, 2, 3))
    assert changed.mean() > 0.5
    ds, _ = data.load(split="test", batch_size=512)  # defaults: no augmentation, no shuffle
    default_eval = np.concatenate([x.numpy() for x, _ in ds])
    assert np.array_equal(default_eval, arrays(split="test")[0])


def test_seed_makes_order_and_augmentation_repeat():
    one, _ = data.load(batch_size=32, seed=7)
    two, _ = data.load(batch_size=32, seed=7)
    other, _ = data.load(batch_size=32, seed=8)
    a = first_batches(one)
    assert all(np.array_equal(p, q) for p, q in zip(a, first_batches(two)))
    assert not np.array_equal(a[0], first_batches(other)[0])
    assert not np.array_equal(a[0], first_batches(one)[0])  # a second pass reshuffles


def test_imagenet_size_path_crops_to_requested_size():
    train, _ = data.load(split="train", image_size=96, batch_size=16, seed=1)
    x = first_batches(train, 1)[0]
    assert x.shape == (16, 96, 96, 3) and -1.0 <= x.min() and x.max() <= 1.0
    whole, _ = data.load(split="train", image_size=96, batch_size=16, seed=1, crop_scale=(1.0, 1.0),
                         shuffle=False)
    crops = first_batches(whole, 1)[0]
    plain = arrays(split="train", image_size=96)[0][:16]
    assert not np.array_equal(plain, crops)  # eval keeps the centre 87.5%, the full crop all
    assert plain.shape == (16, 96, 96, 3)
    assert np.array_equal(plain, arrays(split="train", image_size=96)[0][:16])


def test_repeat_and_drop_remainder():
    n = data.info().num_examples["search"]
    ds, _ = data.load(split="search", batch_size=64, drop_remainder=True)
    assert [b.shape[0] for b in first_batches(ds, 10)] == [64] * (n // 64)
    ds, _ = data.load(split="search", batch_size=64, repeat=True, cache=False)
    assert len(first_batches(ds, n // 64 + 3)) == n // 64 + 3


# ---------------------------------------------------------------- folders and archives

def check_folder_dataset(dataset, name):
    info = data.info(dataset)
    assert info.name == name and info.class_names == ("one", "two", "zero")
    assert info.image_size == 8
    assert info.num_examples == {"train": 3 * (N_TRAIN - 1), "search": 3, "test": 3 * N_TEST}
    # PNG is lossless: at native size the train and search images are exactly the written ones
    written = {name: rows(data.normalize(raw_digits(d, N_TRAIN)).numpy().repeat(3, -1))
               for name, d in CLASSES.items()}
    for split in ("train", "search"):
        x, y = arrays(dataset, split, image_size=8)
        for im, label in zip(x, y):
            assert im.tobytes() in written[info.class_names[label]]
    x, y = arrays(dataset, "test")
    assert x.shape == (3 * N_TEST, 32, 32, 3) and sorted(y) == sorted([0, 1, 2] * N_TEST)
    return x


def test_folder_dataset(folder):
    check_folder_dataset(folder, "digits3")
    x, y = next(iter(data.load(str(folder), batch_size=4)[0]))
    assert x.shape == (4, 32, 32, 3) and y.dtype == tf.int32


def test_folder_with_val_instead_of_test(folder, tmp_path):
    root = tmp_path / "withval"
    root.mkdir()
    for split, target in (("train", "train"), ("test", "val")):
        (root / target).symlink_to(folder / split, target_is_directory=True)
    assert data.info(root).num_examples["test"] == 3 * N_TEST


@pytest.mark.parametrize("top_level", [False, True])
def test_archive_matches_folder(folder, tmp_path, cache_dir, top_level):
    archive = make_tar(folder, tmp_path / "digits3.tar.gz", top_level)
    assert np.array_equal(check_folder_dataset(archive, "digits3"), arrays(folder, "test")[0])
    assert len(list(cache_dir.iterdir())) == 1  # one entry, no temporary leftovers


def test_archive_is_extracted_once_per_version(folder, tmp_path, cache_dir):
    archive = make_tar(folder, tmp_path / "d.tgz", top_level=False)
    data.info(archive)
    (entry,) = cache_dir.iterdir()
    assert entry.name.startswith("d-")
    (entry / "marker").touch()
    data.info(str(archive))
    assert (entry / "marker").exists() and len(list(cache_dir.iterdir())) == 1
    os.utime(archive, (1, 1))  # a changed archive gets a fresh entry
    data.info(archive)
    assert len(list(cache_dir.iterdir())) == 2


# ---------------------------------------------------------------- errors

@pytest.fixture
def truncated_archive(folder, tmp_path):
    whole = make_tar(folder, tmp_path / "whole.tar.gz", top_level=False).read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(whole[: len(whole) // 2])
    return tmp_path / "cut.tar.gz"


def test_bad_inputs_raise_one_line_scarlet_errors(folder, tmp_path, cache_dir, truncated_archive):
    (tmp_path / "garbage.tar.gz").write_bytes(b"not an archive at all")
    (tmp_path / "data.zip").write_bytes(b"PK")
    (tmp_path / "notest" / "train" / "a").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    cases = [
        (lambda: data.info("mnistt"), "unknown dataset 'mnistt'"),
        (lambda: data.info(str(tmp_path / "nope.tar.gz")), "does not exist"),
        (lambda: data.info(tmp_path / "garbage.tar.gz"), "cannot read archive"),
        (lambda: data.info(truncated_archive), "cannot read archive"),
        (lambda: data.info(tmp_path / "data.zip"), "not a .tar.gz archive"),
        (lambda: data.info(tmp_path / "notest"), "no test/ or val/"),
        (lambda: data.info(tmp_path / "empty"), "no train/"),
        (lambda: data.load(split="valid"), "unknown split 'valid'; allowed: train, search, test"),
        (lambda: data.load(folder, "validation"), "unknown split"),
        (lambda: data.load(batch_size=0), "batch_size must be an integer >= 1"),
        (lambda: data.load(image_size=4), "image_size must be an integer >= 8"),
        (lambda: data.load(search_fraction=1.5), "search_fraction must be a number in [0, 1)"),
        (lambda: data.load(crop_scale=(0.5, 0.1)), "crop_scale"),
    ]
    for call, words in cases:
        with pytest.raises(ScarletError) as err:
            call()
        assert words in str(err.value) and "\n" not in str(err.value)
    assert not any(cache_dir.iterdir())  # failed extractions leave nothing behind


# ---------------------------------------------------------------- tensorflow-datasets

class TinyDigits(tfds.core.GeneratorBasedBuilder):
    """Real digits 0 and 1 (8x8 grayscale) as a tfds dataset that prepares without a download."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, supervised_keys=("image", "label"),
                                     features=tfds.features.FeaturesDict({
                                         "image": tfds.features.Image(shape=(8, 8, 1)),
                                         "label": tfds.features.ClassLabel(names=["zero", "one"])}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(0, 10), "test": self._generate_examples(10, 13)}

    def _generate_examples(self, start, stop):
        for digit in (0, 1):
            for i, im in enumerate(raw_digits(digit, stop)[start:], start):
                yield f"{digit}-{i}", {"image": im, "label": digit}


def test_tfds_prepared_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    tfds.builder("tiny_digits", data_dir=str(tmp_path)).download_and_prepare()
    info = data.info("tfds:tiny_digits", search_fraction=0.2)
    assert info.class_names == ("zero", "one") and info.image_size == 8
    assert info.num_examples == {"train": 16, "search": 4, "test": 6}
    train, search = (rows(arrays("tfds:tiny_digits", s, search_fraction=0.2)[0])
                     for s in ("train", "search"))
    assert len(train) == 16 and len(search) == 4 and not train & search
    x, y = next(iter(data.load("tfds:tiny_digits", batch_size=5)[0]))
    assert x.shape == (5, 32, 32, 3) and y.dtype == tf.int32


def test_tfds_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(ScarletError, match="'mnist' is not prepared .* never downloads"):
        data.info("tfds:mnist")
    with pytest.raises(ScarletError, match="cannot open tensorflow-datasets dataset"):
        data.info("tfds:no_such_dataset_xyz")
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- prefixes are fair samples

def labels_of(dataset, split, count=None):
    """The first ``count`` labels (all: None) of an unshuffled split, as read by scorers."""
    ds, _ = data.load(dataset, split, batch_size=128, image_size=8, augment=False,
                      shuffle=False, cache=False)
    return np.concatenate([y.numpy() for _, y in ds])[:count]


def worst_prefix_gap(labels, num_classes):
    """Largest |count of a class - its share| over every prefix of ``labels``."""
    counts = np.cumsum(np.eye(num_classes)[labels], axis=0)  # [N, C]
    shares = np.arange(1, len(labels) + 1)[:, None] * counts[-1] / len(labels)
    return np.abs(counts - shares).max()


@pytest.mark.parametrize("split", data.SPLITS)
def test_every_prefix_of_a_class_ordered_folder_split_holds_every_class(
        class_ordered_folder, split):
    labels = labels_of(class_ordered_folder, split)
    assert len(labels) == data.info(class_ordered_folder).num_examples[split] >= 110
    assert set(labels[:100]) == set(range(10))
    assert worst_prefix_gap(labels, 10) < 2  # every prefix, not only the first 100
    if len(labels) >= 512:
        assert np.all(np.abs(np.bincount(labels[:512], minlength=10) - 51) <= 15)


def test_a_prefix_is_the_same_images_every_time(class_ordered_folder):
    first = arrays(class_ordered_folder, "search", image_size=8)
    again = arrays(class_ordered_folder, "search", image_size=8, cache=False)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])


def test_interleaved_order_keeps_shares_of_unequal_classes():
    labels = np.repeat(np.arange(5), [3, 50, 7, 100, 1])
    order = data.interleaved(labels, 0)
    assert sorted(order) == list(range(len(labels)))
    assert worst_prefix_gap(labels[order], 5) < 2
    assert np.array_equal(order, data.interleaved(labels, 0))
    assert not np.array_equal(order, data.interleaved(labels, 1))


def test_digits_prefixes_are_fair_without_reordering():
    for split in data.SPLITS:
        labels = labels_of("digits", split)
        assert set(labels[:100]) == set(range(10)) and worst_prefix_gap(labels, 10) < 8


# ---------------------------------------------------------------- the shared CIFAR-10 archive

@pytest.fixture(scope="session")
def cifar_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("scarlet_tf_cache")


@pytest.mark.skipif(not CIFAR.exists(), reason=f"{CIFAR} is absent")
def test_cifar10_archive(cifar_cache, monkeypatch):
    monkeypatch.setenv("SCARLET_TF_CACHE", str(cifar_cache))
    info = data.info(CIFAR)
    assert info.name == "cifar10-jpeg" and info.image_size == 32 and info.num_classes == 10
    assert info.class_names[:3] == ("airplane", "automobile", "bird")
    assert info.num_examples == {"train": 45_000, "search": 5_000, "test": 10_000}
    train, _ = data.load(CIFAR, batch_size=32, cache=False)
    x, y = next(iter(train))
    assert x.shape == (32, 32, 32, 3) and len(set(y.numpy())) > 3  # shuffled across classes
    x, y = next(iter(data.load(CIFAR, "test", batch_size=8)[0]))
    assert x.shape == (8, 32, 32, 3) and len(set(y.numpy())) == 8  # interleaved classes
    for split, count in (("search", 512), ("train", 100), ("test", 512)):
        per_class = np.bincount(labels_of(CIFAR, split, count), minlength=10)
        assert per_class.min() >= count // 10 - 1 and per_class.max() <= -(-count // 10) + 1
