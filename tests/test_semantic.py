"""`colornet.semantic`: the ImageNet classes of evaluation photos, the Fréchet distance, and both
EfficientNet-Lite0 measures inside `colornet evaluate` (committed Lite0 weights, a tiny Beta)."""

import json

import numpy as np
import pytest
from PIL import Image

from colornet import cli, evaluate, semantic
from colornet.errors import WeightsError

from conftest import bundled_photo, save_tiny_beta

SIZE = 128  # large enough for Lite0 (at 224) to recognize the cat and the espresso
EGYPTIAN_CAT, TIGER_CAT, ESPRESSO = 285, 282, 967
CLASSES = semantic.imagenet_classes()


# --- Fréchet distance ------------------------------------------------------------------


def reference_frechet(x, y) -> float:
    """The formula written out: ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^(1/2) S2 S1^(1/2))^(1/2))."""
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum()
    shift = x.mean(0) - y.mean(0)
    return float(shift @ shift + np.trace(s1) + np.trace(s2) - 2 * cross)


@pytest.mark.parametrize("n", [6, 40])  # fewer samples than dimensions (16), and more
def test_frechet_is_zero_for_one_set_and_grows_with_a_shift(n):
    x = np.random.default_rng(0).normal(size=(n, 16))
    assert semantic.frechet_distance(x, x) == pytest.approx(0, abs=1e-9)
    distances = [semantic.frechet_distance(x + shift, x) for shift in (0.1, 0.5, 2.0)]
    # the same covariance: only the means differ, by `shift` in each of the 16 dimensions
    assert distances == pytest.approx([16 * 0.1**2, 16 * 0.5**2, 16 * 2.0**2], rel=1e-6)


@pytest.mark.parametrize(("n1", "n2", "d"), [(40, 60, 6), (5, 7, 16), (12, 12, 12)])
def test_frechet_matches_the_formula(n1, n2, d):
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(n1)
    x = rng.normal(size=(n1, d)) @ rng.normal(size=(d, d))
    y = rng.normal(size=(n2, d)) * np.linspace(0.5, 2, d) + 0.3
    distance = semantic.frechet_distance(x, y)
    assert distance == pytest.approx(reference_frechet(x, y), rel=1e-6)
    assert distance > 1
    if min(n1, n2) > d:  # full-rank covariances: scipy's matrix square root agrees too
        s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
        shift = x.mean(0) - y.mean(0)
        direct = shift @ shift + np.trace(s1 + s2 - 2 * np.real(sqrtm(s1 @ s2)))
        assert distance == pytest.approx(direct, rel=1e-6)
    with pytest.raises(ValueError, match="n >= 2"):
        semantic.frechet_distance(x[:1], y)


# --- classes ------------------------------------------------------------------------


def test_classes_from_a_wordnet_id_in_the_path(tmp_path):
    assert len(CLASSES) == 1000 and CLASSES[0] == "n01440764" and CLASSES[ESPRESSO] == "n07920052"
    paths = [
        tmp_path / "val" / "n02124075" / "chelsea.jpg",  # ImageNet's folders
        tmp_path / "n01440764_10026.JPEG",  # ImageNet's file names
        tmp_path / "n07920052" / "more" / "cup.png",  # the nearest folder with an id
        tmp_path / "photos" / "n0144076.jpg",  # 7 digits: no id
        tmp_path / "n99999999" / "x.jpg",  # not one of the 1000 classes
    ]
    assert semantic.labels_for(paths) == [EGYPTIAN_CAT, 0, ESPRESSO, None, None]


def test_classes_from_the_corpus_manifest(tmp_path):
    header = "split\tsource\trepository\tcommit\tpath\tblob\toutput"
    rows = [
        "train\timagenette\tx/y\tc0\ttrain/n03394916/n03394916_58454.JPEG\tb0\ttrain/imagenette/000000.jpg",
        "val\timagenet-sample\tx/z\tc1\tn01440764_tench.JPEG\tb1\tval/imagenet-sample/000001.jpg",
        "train\tclothing\tx/w\tc2\timages/shirt_12.jpg\tb2\ttrain/clothing/000002.jpg",
    ]
    manifest = tmp_path / "corpus" / "manifest.tsv"
    manifest.parent.mkdir()
    manifest.write_text("\n".join([header, *rows]) + "\n")
    photos = tmp_path / "corpus"
    paths = [
        photos / "train" / "imagenette" / "000000.jpg",
        photos / "val" / "imagenet-sample" / "000001.jpg",
        photos / "train" / "clothing" / "000002.jpg",  # listed, without a WordNet id
        photos / "val" / "imagenette" / "000000.jpg",  # same file name, another folder: not listed
    ]
    assert semantic.labels_for(paths, manifest) == [CLASSES.index("n03394916"), 0, None, None]


def test_classes_from_a_two_column_file(tmp_path):
    labels = tmp_path / "labels.tsv"
    labels.write_text(
        "path\twnid\ncats/chelsea.jpg\tn02124075\nmugs/coffee.jpg\tn07920052\nx.jpg\tn99999999\n"
    )
    paths = [
        tmp_path / "eval" / "cats" / "chelsea.jpg",
        "mugs/coffee.jpg",
        tmp_path / "x.jpg",
        "n01440764/y.jpg",
    ]
    # the file first; a path it does not list still has the WordNet id in its folder
    assert semantic.labels_for(paths, labels) == [EGYPTIAN_CAT, ESPRESSO, None, 0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary", "cannot be read"),
        (b"a\tb\tc\n1\t2\t3\n", "neither a manifest.tsv"),
        (b"chelsea.jpg\tn02124075\ncoffee.jpg\tespresso\n", "(line 2)"),
        (b"", "neither a manifest.tsv"),
    ],
)
def test_a_bad_labels_file_is_one_line_naming_it(tmp_path, content, message):
    bad = tmp_path / "labels.tsv"
    bad.write_bytes(content)
    with pytest.raises(evaluate.EvaluateError) as err:
        semantic.labels_for(["n02124075/chelsea.jpg"], bad)
    assert message in str(err.value) and str(bad) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(evaluate.EvaluateError, match="missing.tsv: cannot be read"):
        semantic.read_labels(tmp_path / "missing.tsv")


# --- in colornet evaluate -------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny_beta(tmp_path_factory.mktemp("weights") / "tiny.weights.h5")


@pytest.fixture(scope="module")
def imagenet_folder(tmp_path_factory):
    """chelsea as an Egyptian cat, coffee as espresso, in ImageNet's folders; the astronaut: no class."""
    folder = tmp_path_factory.mktemp("imagenet")
    for name, wnid in (("chelsea", "n02124075"), ("coffee", "n07920052"), ("astronaut", "people")):
        (folder / wnid).mkdir()
        Image.fromarray(bundled_photo(name)).save(folder / wnid / f"{name}.jpg")
    return folder


def test_lite0_knows_the_cat_and_the_espresso(imagenet_folder):
    """The classes the evaluation counts on: Lite0's top-1 on the 128 px crops resized to 224."""
    import tensorflow as tf

    model = semantic.load_classifier()
    paths = [imagenet_folder / "n02124075" / "chelsea.jpg", imagenet_folder / "n07920052" / "coffee.jpg"]
    crops = np.stack([evaluate.load_crop(p, SIZE) for p in paths])
    features, probabilities = model(tf.image.resize(crops.astype(np.float32), (224, 224), antialias=True))
    assert features.shape == (2, 1280) and probabilities.shape == (2, 1000)
    top = np.argmax(probabilities, axis=-1)
    assert top[0] in (EGYPTIAN_CAT, TIGER_CAT) and top[1] == ESPRESSO
    assert top[0] == EGYPTIAN_CAT  # not tabby (281, n02123045): chelsea's folder says Egyptian cat


def test_evaluate_reports_both_measures(imagenet_folder, tiny):
    results = evaluate.evaluate({"tiny": tiny}, imagenet_folder, size=SIZE)
    # the real photos are recognized: the 2 photos of known class, not the astronaut
    assert results["semantic"]["truth"] == {"top1": 1.0, "photos": 2}
    assert set(results["semantic"]) == {"truth", "gray", "tiny"}
    for col in ("gray", "tiny"):
        hits = [row[col]["recognized"] for row in results["images"] if "recognized" in row[col]]
        assert len(hits) == 2 and results["semantic"][col]["top1"] == pytest.approx(np.mean(hits))
    astronaut = next(row for row in results["images"] if "astronaut" in row["path"])
    assert "recognized" not in astronaut["truth"]
    # colors far from the real ones (gray, a tiny untrained Beta): features far from the real photos'
    assert set(results["frechet"]) == {"gray", "tiny"} and min(results["frechet"].values()) > 1
    table = evaluate.format_table(results)
    assert (
        "Recognized by EfficientNet-Lite0 (top-1, 2 photos with a known class): real 100.0 %, gray" in table
    )
    gray = results["frechet"]["gray"]
    assert (
        f"Fréchet distance to real photos (EfficientNet-Lite0 features, lower is better): gray {gray:.2f}"
        in table
    )


def test_the_command_line_with_a_labels_file_and_without_the_measures(tmp_path, tiny, capsys):
    corpus = tmp_path / "corpus"
    (corpus / "val" / "mixed").mkdir(parents=True)
    rows = ["split\tsource\trepository\tcommit\tpath\tblob\toutput"]
    for i, (name, wnid) in enumerate((("chelsea", "n02124075"), ("coffee", "n07920052"), ("rocket", ""))):
        Image.fromarray(bundled_photo(name)).save(corpus / "val" / "mixed" / f"{i:06d}.jpg")
        rows.append(f"val\ts\tr\tc\tval/{wnid or 'misc'}/{name}.JPEG\tb\tval/mixed/{i:06d}.jpg")
    (corpus / "manifest.tsv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "eval.json"
    args = ["evaluate", "--model", tiny, "--data", corpus, "--size", SIZE, "--json", out]
    assert cli.main([*map(str, args), "--labels", str(corpus / "manifest.tsv")]) == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    assert results["semantic"]["truth"] == {"top1": 1.0, "photos": 2}
    assert set(results["frechet"]) == {"gray", "tiny"}
    assert "Recognized by EfficientNet-Lite0" in printed and "Fréchet distance" in printed
    # better than gray: the share of photos whose PSNR is above gray's, as in the per-photo rows
    share = results["summary"]["tiny"]["better_than_gray"]["mean"]
    rows = results["images"]
    assert 0 <= share <= 1 and share == pytest.approx(
        np.mean([r["tiny"]["psnr"] > r["gray"]["psnr"] for r in rows])
    )
    assert f"Photos where the PSNR is above gray's: tiny {100 * share:.1f} % (of 3)." in printed

    assert cli.main([*map(str, args), "--overwrite", "--no-semantic"]) == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    assert "semantic" not in results and "frechet" not in results
    assert all("recognized" not in row["tiny"] for row in results["images"])
    assert "EfficientNet-Lite0" not in printed and "better_than_gray" in results["summary"]["tiny"]

    (tmp_path / "bad.tsv").write_bytes(b"\xff\xfe\x00garbage")
    assert cli.main([*map(str, args), "--overwrite", "--labels", str(tmp_path / "bad.tsv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.tsv: cannot be read" in err and len(err.splitlines()) == 1


def test_without_lite0_weights_or_with_one_photo(imagenet_folder, tiny, monkeypatch):
    one = imagenet_folder / "n07920052"
    results = evaluate.evaluate({"tiny": tiny}, one, size=32)
    assert results["semantic"]["truth"]["photos"] == 1 and "frechet" not in results
    assert any(
        "Fréchet distance left out: it needs 2 photos or more, 1 evaluated." in n for n in results["notes"]
    )

    def missing(weights="imagenet"):
        raise WeightsError("efficientnet_lite0.weights.h5 is not in weights/; get it back with git checkout.")

    monkeypatch.setattr(semantic, "load_classifier", missing)
    results = evaluate.evaluate({"tiny": tiny}, imagenet_folder, size=32)
    assert "semantic" not in results and "frechet" not in results and results["evaluated"] == 3
    (note,) = [n for n in results["notes"] if "Lite0" in n]
    assert "not loaded" in note and "efficientnet_lite0.weights.h5 is not in weights/" in note
    assert note in evaluate.format_table(results)
