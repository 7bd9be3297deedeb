"""The `train` command's flags, and the arguments of `train()` they make."""

from colornet.arguments import fraction, int_in, path_name, positive_float
from colornet.distribute import STRATEGIES
from colornet.errors import ColornetError
from colornet.losses import LOSS_NAMES
from colornet.models import DESIGNS, get_design
from colornet.precision import add_precision_argument
from colornet.train_args import MAX_SEED
from colornet.train_config import DEFAULT_LR, TrainConfig


def add_arguments(parser):
    """The `train` command's flags; their defaults are `TrainConfig`'s."""
    d = TrainConfig()
    parser.add_argument("model", choices=list(DESIGNS), help="which network to train")
    parser.add_argument(
        "--data", required=True, nargs="+", help="folders (recursive), files or globs of training photos"
    )
    parser.add_argument(
        "--data-weights",
        nargs="+",
        type=float,
        metavar="W",
        help="one weight per --data source: its share of the photos drawn in an epoch (e.g. --data corpus "
        "scenes faces --data-weights 2 1 1); an epoch still has as many photos as all sources together "
        "(default: every photo once an epoch)",
    )
    parser.add_argument("--val", nargs="+", help="held-out photos (default: hold out --val-split of --data)")
    parser.add_argument(
        "--size",
        type=int_in(8),
        default=d.size,
        help="training crop size, a multiple of the model's size multiple (8 for alpha, beta, full, "
        "iizuka, zhang, dahl; 2^depth for unet, unet-gan) (default: %(default)s)",
    )
    parser.add_argument(
        "--epochs", type=int_in(1), default=d.epochs, help="total epochs (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size",
        type=int_in(1),
        default=d.batch_size,
        help="photos per batch on each replica; the global batch is this x replicas (default: %(default)s)",
    )
    parser.add_argument(
        "--lr",
        type=positive_float,
        default=d.lr,
        help=f"Adam learning rate (default: {DEFAULT_LR}; unet-gan: 2e-4)",
    )
    parser.add_argument(
        "--loss",
        choices=LOSS_NAMES,
        help="default: the model's own (mse for alpha, beta, full; blurred, the distance also after Gaussian "
        "blurs of 3 and 5 px, for dahl)",
    )
    parser.add_argument(
        "--init",
        type=path_name,
        help="start from these weights (fine-tuning), e.g. weights/beta.weights.h5, or a run folder "
        "(its best.weights.h5) (default: random weights)",
    )
    parser.add_argument(
        "--out", type=path_name, help="run directory (default: runs/MODEL); an existing run there is resumed"
    )
    parser.add_argument(
        "--seed", type=int_in(0, MAX_SEED), default=d.seed, help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--val-split",
        type=fraction,
        default=d.val_split,
        help="share of --data held out when there is no --val (default: %(default)s)",
    )
    parser.add_argument("--limit", type=int_in(1), help="use at most N training photos (default: all)")
    parser.add_argument(
        "--steps-per-epoch", type=int_in(1), help="batches per epoch (default: the whole folder)"
    )
    parser.add_argument(
        "--schedule",
        choices=["none", "plateau", "cosine"],
        default=d.schedule,
        help="learning-rate schedule (default: %(default)s)",
    )
    parser.add_argument(
        "--early-stopping",
        type=int_in(1),
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without improvement (default: never stop early)",
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="no rotation/zoom/shear (crops and flips stay)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="stop at the first unreadable photo instead of skipping it"
    )
    parser.add_argument(
        "--width",
        type=positive_float,
        help="multiply every layer's filters (default: 1.0, the published network)",
    )
    parser.add_argument(
        "--batch-norm", action="store_true", help="batch normalization after each convolution (beta, full)"
    )
    parser.add_argument(
        "--global-size",
        type=int_in(32),
        help="iizuka: side of the global path's input, a multiple of 32 (default: 128)",
    )
    parser.add_argument(
        "--depth",
        type=int_in(1),
        help="unet, unet-gan: encoder steps, each halving the size (default: as many as --size allows, "
        "at most 8: 7 at 128 px)",
    )
    parser.add_argument(
        "--color-space",
        choices=["lab", "ycrcb"],
        help="unet, unet-gan: predict Lab ab, or Cr and Cb from Y (default: lab)",
    )
    parser.add_argument(
        "--encoder",
        choices=["none", "mobilenetv2", "resnet50v2"],
        help="unet, unet-gan: a keras.applications network as the encoder (default: none, pix2pix's own)",
    )
    parser.add_argument(
        "--encoder-weights",
        default=d.encoder_weights,
        metavar="imagenet|none|PATH",
        help="unet --encoder, dahl: ImageNet weights (from weights/ or ~/.keras/models/, else Keras downloads "
        "them), a *_notop.h5 file, or none to train the encoder from scratch (default: %(default)s)",
    )
    parser.add_argument(
        "--variant",
        choices=["residual", "hypercolumn"],
        help="dahl: the residual encoder, or hypercolumns of VGG16's four taps (default: residual)",
    )
    parser.add_argument(
        "--train-encoder",
        action="store_true",
        help="dahl, features: train the ImageNet encoder's layers too (default: frozen; always trained with "
        "--encoder-weights none)",
    )
    parser.add_argument(
        "--hints",
        action="store_true",
        help="features: take a person's color hints too (Zhang et al. 2017): a hint input, trained on hints "
        "simulated from each photo's true colors; --init with weights of the same model without hints "
        "starts from them, its hint branches at zero",
    )
    parser.add_argument(
        "--l1-weight",
        type=positive_float,
        help="unet-gan: lambda, the L1 term's weight next to the GAN loss (default: 100)",
    )
    parser.add_argument(
        "--perceptual",
        type=positive_float,
        metavar="W",
        help="features: add W times a perceptual term to the loss: how far MobileNetV2's features of the "
        "colors as colorize decodes them are from its features of the true colors (default: none)",
    )
    parser.add_argument(
        "--class-weight",
        type=positive_float,
        help="iizuka: weight of the scene class loss next to the color loss (default: 1/300, the paper's)",
    )
    parser.add_argument(
        "--classes",
        choices=["auto", "none"],
        default=d.classes,
        help="iizuka: learn the scene class from folder names (auto) or not (none) (default: %(default)s)",
    )
    add_precision_argument(parser, default=d.precision)
    parser.add_argument(
        "--xla",
        choices=["auto", "on", "off"],
        default="auto",
        help="compile training steps with XLA: auto (on for GPUs; for bfloat16 on CPUs where its matmul is "
        "faster), on or off. Networks of depthwise convolutions (features) can run slower with it "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=d.strategy,
        help="one device, mirrored (every GPU of this machine), multiworker (machines in TF_CONFIG); "
        "auto picks multiworker when TF_CONFIG is set, mirrored with several GPUs, else one "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=d.connect_timeout,
        metavar="SECONDS",
        help="multiworker: how long to wait for the other machines (default: %(default)s)",
    )
    parser.add_argument(
        "--embed-weights",
        default=d.embed_weights,
        help="full: the embedder's weights: imagenet, a .h5 path, or none (default: %(default)s)",
    )
    parser.add_argument(
        "--embedder",
        choices=["inception_resnet_v2", "efficientnet-lite0"],
        help="full: the ImageNet classifier whose 1000 class probabilities are fused in: Inception-ResNet-v2 "
        "(the article's; Keras downloads its weights) or EfficientNet-Lite0 (weights in weights/, works offline, "
        "about 25x faster) (default: inception_resnet_v2)",
    )
    parser.add_argument(
        "--embed-mode",
        choices=["cached", "per-batch"],
        default=d.embed_mode,
        help="full: embeddings computed once (cached) or per batch as in the article (default: %(default)s)",
    )
    parser.add_argument(
        "--head",
        choices=["ab", "bins"],
        help="beta: predict ab (the article's regression) or a distribution over ab bins, trained with the "
        "rebalanced cross-entropy of zhang (default: ab)",
    )
    parser.add_argument(
        "--prior",
        metavar="FILE",
        help="zhang, beta --head bins: the prior over the ab bins (python -m colornet prior) (default: "
        "computed from --data before training and kept in the run folder)",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=d.verbose,
        help="progress bar (1), a line per epoch (2), none (0) (default: %(default)s)",
    )


def train_arguments(args) -> dict:
    """The keyword arguments of `train(args.model, ...)` that the command line's `args` ask for.

    Raises:
        ColornetError: a model option (`--depth`, ...) that the model does not take.
    """
    options = {}
    if args.width is not None:
        options["width"] = args.width
    if args.batch_norm:
        options["batch_norm"] = True
    if args.global_size is not None:
        options["global_size"] = args.global_size
    if args.class_weight is not None:
        options["class_weight"] = args.class_weight
    if args.train_encoder:
        options["train_encoder"] = True
    if args.hints:
        options["hints"] = True
    for name in ("depth", "color_space", "encoder", "l1_weight", "perceptual", "head", "variant", "embedder"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    allowed = get_design(args.model).options
    for name in options:
        if name not in allowed:
            flag = "--" + name.replace("_", "-")
            raise ColornetError(
                f"{flag} does not apply to {args.model} (it takes: {', '.join(allowed) or 'none'})."
            )
    return dict(
        data=args.data,
        data_weights=args.data_weights,
        val=args.val,
        size=args.size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        loss=args.loss,
        seed=args.seed,
        init=args.init,
        out=args.out,
        val_split=args.val_split,
        limit=args.limit,
        steps_per_epoch=args.steps_per_epoch,
        schedule=args.schedule,
        early_stopping=args.early_stopping,
        augment=not args.no_augment,
        on_error="raise" if args.strict else "skip",
        model_options=options,
        embed_weights=args.embed_weights,
        encoder_weights=args.encoder_weights,
        embed_mode=args.embed_mode,
        precision=args.precision,
        jit_compile={"auto": "auto", "on": True, "off": False}[args.xla],
        strategy=args.strategy,
        connect_timeout=args.connect_timeout,
        classes=args.classes,
        prior=args.prior,
        verbose=args.verbose,
    )
