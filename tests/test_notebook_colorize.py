"""The notebook for people who only want results runs top to bottom in quick mode: an empty folder filled
with the sample photos, each colorized at its own size with the provided weights, shown and zipped; and it
runs again after a reader changes MODEL."""

import zipfile

import figure_audit
from PIL import Image

from conftest import RERUN, notebook_text, run_notebook

NOTEBOOK = "00_colorize_your_photos.ipynb"


def size(path) -> tuple:
    with Image.open(path) as image:
        return image.size


def sizes(folder) -> dict:
    return {p.stem: size(p) for p in sorted(folder.iterdir()) if p.suffix in (".jpg", ".png")}


@RERUN
def test_colorize_notebook_fills_colorizes_shows_zips_and_runs_again_with_another_model(tmp_path, rerun):
    photos, out = tmp_path / "photos", tmp_path / "out"
    env = {"COLORNET_PHOTOS": photos, "COLORNET_OUT": out}
    figures = tmp_path / "figures.json"
    nb = run_notebook(NOTEBOOK, {**env, **figure_audit.env(figures)})
    text = notebook_text(nb)
    assert not figure_audit.reported(figures)  # titles that never overlap
    assert "had no photos: added" in text and "3 photos from" in text
    assert "3 colorized into" in text and "0 failed" in text
    results = sizes(out / "features")
    assert len(results) == 3
    assert all(
        results[stem] == shape for stem, shape in sizes(photos).items() if stem in results
    )  # sizes kept
    with zipfile.ZipFile(out / "features.zip") as archive:
        assert sorted(archive.namelist()) == sorted(f"{stem}.png" for stem in results)

    if not rerun:  # the run after a changed setting is in the second test command (-m slow)
        return
    nb = run_notebook(NOTEBOOK, env, edits={'MODEL = "features"': 'MODEL = "iizuka"'})
    text = notebook_text(nb)
    assert "had no photos" not in text  # the folder is kept, photos added by the reader too
    assert len(sizes(out / "iizuka")) == 3 and (out / "iizuka.zip").exists()
