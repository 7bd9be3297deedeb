"""The design contract, checked for every registered design with its tiny options.

A new design is tested by registering its `Design`: these tests then build it, run it
at several sizes, save and load it, train it one step, and decode its outputs to ab.
"""

import keras
import numpy as np
import pytest

from colornet.codecs import Codec, LabTanhCodec, first_input
from colornet.models import DESIGNS, Design, Setup, get_design, register
from colornet.models.iizuka import CLASS_LOSS_WEIGHT
from colornet.models.spec import DESIGNS as REGISTRY
from colornet.precision import precision_scope
from colornet.predict import Colorizer

NAMES = sorted(DESIGNS)
ABILITIES = {"uses_prior", "decodes_bins", "takes_hints", "takes_style", "gives_classes"}


def lab_batch(b, h, w, seed=0):
    """A random but plausible Lab batch `(b, h, w, 3)`: L in [0, 100], ab in [-60, 60]."""
    rng = np.random.default_rng(seed)
    L = rng.uniform(0, 100, (b, h, w, 1))
    ab = rng.uniform(-60, 60, (b, h, w, 2))
    return np.concatenate([L, ab], axis=-1).astype(np.float32)


def extras_for(design: Design, b: int, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {k: rng.random((b, *shape)).astype(np.float32) for k, shape in design.extra_shapes.items()}


def build_tiny(design: Design, **kwargs) -> keras.Model:
    keras.utils.set_random_seed(0)
    return design.build(**design.tiny_options, **kwargs)


def test_the_article_designs_are_registered():
    assert {"alpha", "beta", "full"} <= set(DESIGNS)
    assert get_design("beta") is DESIGNS["beta"]
    with pytest.raises(ValueError, match="unknown model 'gamma'; choose one of alpha"):
        get_design("gamma")


@pytest.mark.parametrize("name", NAMES)
def test_configure_is_what_the_codec_loss_and_multiple_say(name):
    design = get_design(name)
    setup = design.configure(design.tiny_options)
    assert isinstance(setup, Setup) and isinstance(setup.codec, Codec)
    assert design.make_codec(design.tiny_options) == setup.codec
    assert design.make_loss(design.tiny_options) == (setup.loss, setup.loss_weights)
    assert design.multiple(design.tiny_options) == setup.size_multiple


def test_configure_fills_in_the_options_that_follow_the_size_and_the_classes():
    unet = get_design("unet")
    assert unet.configure({}).size_multiple == 128  # depth 7 unless given
    assert unet.configure({}, size=256).size_multiple == 256  # as deep as a 256 px crop allows
    assert unet.configure({"depth": 3}, size=256).size_multiple == 8
    iizuka = get_design("iizuka")
    setup = iizuka.configure({}, classes=["forest", "sea"])
    assert setup.codec.classes and setup.loss_weights == {"ab": 1.0, "class": CLASS_LOSS_WEIGHT}
    assert iizuka.configure({}, classes=0).loss == "mse"
    beta = get_design("beta")
    assert beta.configure({}, size=64, classes=3) == beta.configure({}) == Setup(LabTanhCodec(), "mse")


def test_the_abilities_are_the_codec_base_class_attributes():
    assert {name for name, value in vars(Codec).items() if type(value) is bool} == ABILITIES


@pytest.mark.parametrize(
    "name, options, abilities",
    [
        ("alpha", {}, set()),
        ("beta", {}, set()),
        ("beta", {"head": "bins"}, {"uses_prior", "decodes_bins"}),
        ("zhang", {}, {"uses_prior", "decodes_bins"}),
        ("features", {}, {"uses_prior", "decodes_bins"}),
        ("features", {"hints": True}, {"uses_prior", "decodes_bins", "takes_hints"}),
        ("iizuka", {}, {"takes_style", "gives_classes"}),
        ("iizuka", {"n_classes": 3}, {"takes_style", "gives_classes"}),
        ("full", {}, set()),
        ("unet", {"color_space": "ycrcb"}, set()),
        ("unet-gan", {}, set()),
        ("dahl", {}, set()),
    ],
)
def test_each_codec_declares_its_abilities(name, options, abilities):
    codec = get_design(name).make_codec(options)
    assert {a for a in ABILITIES if getattr(codec, a)} == abilities
    assert codec.takes_hints == ("hints" in codec.extra_inputs)
    if codec.decodes_bins:
        assert codec.temperature > 0 and 0 <= codec.undo <= 1
    if codec.uses_prior:
        assert codec.prior is None and codec.with_prior(np.full(261, 1 / 261)).prior is not None


def test_a_codec_without_an_ability_has_the_default():
    codec = LabTanhCodec()
    assert codec.class_probabilities({"class": np.zeros((1, 3))}) is None
    assert codec.ab_range() == (-128.0, 128.0)
    with pytest.raises(ValueError, match="the lab_tanh codec has no use for a prior"):
        codec.with_prior(np.full(261, 1 / 261))
    with pytest.raises(TypeError):
        Codec()  # encode_inputs, encode_targets and decode are every codec's own
    with pytest.raises(TypeError, match="derives from colornet.codecs.Codec"):
        Setup(codec=object())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("h, w", [(1, 1), (2, 3), (5, 1)])
def test_any_size_that_is_a_multiple_works(name, h, w):
    design = get_design(name)
    m = design.multiple(design.tiny_options)
    h, w = h * m, w * m
    model = build_tiny(design)
    extras = extras_for(design, 2)
    codec = design.make_codec(design.tiny_options)
    inputs = codec.encode_inputs(lab_batch(2, h, w)[..., :1], extras)
    ab = np.asarray(codec.decode(model(inputs), inputs))
    assert ab.shape == (2, h, w, 2) and ab.dtype == np.float32
    low, high = codec.ab_range()
    assert np.all(np.isfinite(ab)) and ab.min() >= low and ab.max() <= high


@pytest.mark.parametrize("name", NAMES)
def test_sizes_that_are_not_a_multiple_are_refused(name):
    design = get_design(name)
    m = design.multiple(design.tiny_options)
    bad = m + m // 2
    with pytest.raises(ValueError, match=f"multiple of {m}"):
        design.build(input_size=bad, **design.tiny_options)
    with pytest.raises(ValueError, match=f"use {m} or {2 * m}"):
        design.check_size(bad, options=design.tiny_options)
    design.check_size(4 * m, options=design.tiny_options)


@pytest.mark.parametrize("name", NAMES)
def test_layers_are_named_after_the_design(name):
    model = build_tiny(get_design(name))
    assert model.name == name
    assert all(layer.name.startswith(f"{name}_") for layer in model.layers)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip(name, tmp_path):
    design = get_design(name)
    model = build_tiny(design)
    codec = design.make_codec(design.tiny_options)
    inputs = codec.encode_inputs(lab_batch(1, 16, 24)[..., :1], extras_for(design, 1))
    model.save(tmp_path / f"{name}.keras")
    again = keras.models.load_model(tmp_path / f"{name}.keras")
    np.testing.assert_allclose(np.asarray(again(inputs)), np.asarray(model(inputs)), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_one_training_step_changes_the_weights(name):
    from colornet.losses import get_loss

    design = get_design(name)
    model = build_tiny(design)
    setup = design.configure(design.tiny_options)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss=get_loss(setup.loss), loss_weights=setup.loss_weights
    )
    batch = setup.codec.encode(lab_batch(2, 16, 16), extras_for(design, 2))
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(*batch)
    assert np.isfinite(loss)
    changed = [not np.array_equal(b, np.asarray(a)) for b, a in zip(before, model.trainable_weights)]
    assert any(changed)


@pytest.mark.parametrize("name", NAMES)
def test_outputs_stay_float32_under_mixed_precision(name):
    design = get_design(name)
    with precision_scope("mixed_bfloat16"):
        model = build_tiny(design)
    assert any(layer.compute_dtype == "bfloat16" for layer in model.layers)
    assert all(w.dtype == "float32" for w in model.weights)  # weights files move between precisions
    assert all(output.dtype == "float32" for output in model.outputs)
    assert keras.config.dtype_policy().name == "float32"  # the scope restores the policy


@pytest.mark.parametrize("name", NAMES)
def test_a_colorizer_decodes_to_valid_ab(name):
    design = get_design(name)

    class RandomFeatures:  # stands in for the Full model's Inception embedder
        def extras(self, L):
            return extras_for(design, int(L.shape[0]))

    colorizer = Colorizer(model=build_tiny(design), design=design, features=RandomFeatures())
    L = lab_batch(3, 24, 16)[..., :1]
    ab = colorizer.predict_ab(L)
    assert ab.shape == (3, 24, 16, 2) and np.all(np.isfinite(ab))
    assert np.abs(ab).max() <= 128


@pytest.mark.slow
def test_a_design_can_bring_its_own_training_step(tmp_path, photo_folder):
    """`Design.training_model` wraps the network in a model with its own `train_step` (as a GAN
    does); `train` fits that model and saves the network's weights."""
    from colornet.models.beta import build_beta
    from colornet.train import train

    steps = []

    @keras.saving.register_keras_serializable(package="colornet_tests")
    class CountingTrainer(keras.Model):  # last.keras holds it: it must be serializable
        def __init__(self, net, **kwargs):
            super().__init__(**kwargs)
            self.net = net

        def call(self, inputs, training=False):
            return self.net(inputs, training=training)

        def train_step(self, data):
            steps.append(1)
            return super().train_step(data)

        def get_config(self):
            return {**super().get_config(), "net": keras.saving.serialize_keras_object(self.net)}

        @classmethod
        def from_config(cls, config):
            config["net"] = keras.saving.deserialize_keras_object(config["net"])
            return cls(**config)

    design = register(
        Design(name="counting", build=lambda **o: build_beta(name="counting", **o), training_model=lambda net, options, codec=None: CountingTrainer(net),
               tiny_options={"width": 0.125}, options=("width",))
    )  # fmt: skip
    try:
        result = train(
            "counting", data=photo_folder, size=16, epochs=1, batch_size=4, out=str(tmp_path / "run"),
            model_options={"width": 0.125}, verbose=0, samples=1, precision="float32", strategy="one",
        )  # fmt: skip
        assert steps, "the design's train_step was not used"
        assert result.best_weights.exists() and result.model.name == "counting"
        assert isinstance(first_input(result.model.inputs), keras.KerasTensor)
        again = train(
            "counting", data=photo_folder, size=16, epochs=2, batch_size=4, out=str(tmp_path / "run"),
            model_options={"width": 0.125}, verbose=0, samples=1, precision="float32", strategy="one",
        )  # fmt: skip
        assert again.epochs_run == 1  # resumed from the wrapped model's last.keras
    finally:
        REGISTRY.pop(design.name)
