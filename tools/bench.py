"""Training-throughput benchmark: the book's training path against the tutorials' plain way.

Introduced in the "Performance" appendix. Run it from the repository root::

    python -m tools.bench                    # all models, default settings
    python -m tools.bench --models conv_ae --images 6400 --repeats 5 --json results.json

For each of the book's main models (conv AE of chapter 3, conv VAE of chapter 5, DCGAN of
chapter 6) it times training on a fixed number of images for several *variants* and reports
images per second and the implied wall time of one epoch over 60,000 images, as the median
of several timed runs after a warm-up run. Repeats of the variants are interleaved, so a
busy machine slows them alike and the ratios stay meaningful.

Variants:

- ``reference``: the way the TensorFlow CVAE and DCGAN tutorials train: a Python loop calling a
  ``tf.function`` train step once per batch, here at batch 32 for every model (the CVAE
  tutorial's batch size and ``model.fit``'s default; the DCGAN tutorial itself uses 256);
- ``fit_b32``: Keras ``fit`` on a ``tf.data`` pipeline (what ``aeutils.train.fit`` does) at batch 32;
- ``book``: what the chapters use: ``aeutils.train``'s pipeline at the chapter's batch size;
- ``book_jit``: the same with XLA (``jit_compile=True``);
- ``book_bf16``: the same under the ``mixed_bfloat16`` policy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aeutils import config

#: The models timed (the conv AE of chapter 3, the conv VAE of chapter 5, the DCGAN of chapter 6).
MODELS = ("conv_ae", "conv_vae", "dcgan")
#: The ways of training them (see the module's docstring).
VARIANTS = ("reference", "fit_b32", "book", "book_jit", "book_bf16")
#: The batch size each chapter trains its model with.
BOOK_BATCH = {"conv_ae": 128, "conv_vae": 128, "dcgan": 64}
#: Images in one epoch of the full training set, for "seconds per epoch".
EPOCH_IMAGES = 60_000


@dataclass
class Measurement:
    """Throughput of one model trained one way."""

    model: str
    variant: str
    batch_size: int
    images_per_second: float
    seconds_per_epoch: float
    runs: list[float]
    note: str = ""
    images_per_run: int = 0

    @property
    def best_images_per_second(self) -> float:
        """The fastest timed run. On a shared machine interference only ever slows a run down, so
        this is the closest estimate of what the code itself costs (NaN when the variant did not run)."""
        return self.images_per_second_range[1]

    @property
    def images_per_second_range(self) -> tuple[float, float]:
        """Slowest and fastest timed run, in images per second (NaN when the variant did not run)."""
        if not self.runs or not self.images_per_run:
            return (float("nan"), float("nan"))
        return (self.images_per_run / max(self.runs), self.images_per_run / min(self.runs))


def paired_ratios(a: Measurement, b: Measurement) -> list[float]:
    """Throughput of ``a`` over ``b``, one ratio per pair of timed runs.

    The timed runs of all variants are interleaved, so run ``i`` of ``a`` and run ``i`` of ``b`` met
    nearly the same machine: pairing them cancels most of what the rest of the machine does.
    Empty when either variant did not run.
    """
    if not a.runs or not b.runs or not a.images_per_run or not b.images_per_run:
        return []
    return [
        (a.images_per_run / time_a) / (b.images_per_run / time_b)
        for time_a, time_b in zip(a.runs, b.runs, strict=False)
    ]


def comparison(a: Measurement, b: Measurement) -> tuple[float, float, float, str]:
    """(median ratio, lowest, highest, verdict) of ``a`` against ``b`` over paired runs.

    The verdict is "faster" when every paired ratio is above 1, "slower" when every one is below 1,
    and "no consistent difference" otherwise (with 5 pairs, all on one side happens by chance with
    probability 2/32 when there is no difference: a sign test).
    """
    ratios = paired_ratios(a, b)
    if not ratios:
        return (float("nan"), float("nan"), float("nan"), "could not be measured")
    low, high = min(ratios), max(ratios)
    verdict = "faster" if low > 1.0 else ("slower" if high < 1.0 else "no consistent difference")
    return (statistics.median(ratios), low, high, verdict)


def _build(model_name: str, *, jit: bool = False) -> Any:
    """A compiled model of the book, ready for ``fit``; raises when XLA was asked for and Keras drops it."""
    with warnings.catch_warnings():  # Keras warns when it drops jit_compile; we raise instead
        warnings.filterwarnings("ignore", message="Model doesn't support `jit_compile=True`")
        model = _compiled_model(model_name, jit)
    if jit and not model.jit_compile:
        raise NotImplementedError("Keras cannot compile this model with XLA and would run it without")
    return model


def _compiled_model(model_name: str, jit: bool) -> Any:
    import keras

    if model_name == "conv_ae":
        from aeutils.models import build_conv_autoencoder

        model = build_conv_autoencoder(32)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit)
    elif model_name == "conv_vae":
        from aeutils.vae import build_conv_vae

        model = build_conv_vae(16)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit)
    elif model_name == "dcgan":
        from aeutils.gan import build_gan

        model = build_gan()
        model.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            jit_compile=jit,
        )
    else:
        raise ValueError(f"unknown model {model_name!r}; choose from {MODELS}")
    return model


def _reference_step(model_name: str, model: Any) -> Callable[[Any], Any]:
    """The tutorials' hand-written ``@tf.function`` train step for the same architecture."""
    import keras
    import tensorflow as tf

    optimizer = keras.optimizers.Adam(1e-3)
    if model_name == "conv_ae":

        @tf.function
        def ae_step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(x - model(x, training=True)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        return ae_step
    if model_name == "conv_vae":
        from aeutils import losses

        @tf.function
        def vae_step(x):
            with tf.GradientTape() as tape:
                mean, log_var = model.encoder(x, training=True)
                z = mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean))
                logits = model.decoder(z, training=True)
                loss = tf.reduce_mean(losses.bernoulli_nll(x, logits) + losses.gaussian_kl(mean, log_var))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        return vae_step
    generator, discriminator = model.generator, model.discriminator
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def gan_step(x):  # the DCGAN tutorial's train_step: both players, one tape each
        noise = tf.random.normal([tf.shape(x)[0], model.noise_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(x, training=True)
            fake_logits = discriminator(fake, training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(
                tf.zeros_like(fake_logits), fake_logits
            )
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))
        return d_loss

    return gan_step


def _batch_size(model_name: str, variant: str) -> int:
    """The tutorials' batch of 32 for the reference and ``fit_b32``, else the chapters' batch size."""
    return 32 if variant in ("reference", "fit_b32") else BOOK_BATCH[model_name]


def _runner(model_name: str, variant: str, x: np.ndarray, images: int) -> tuple[Callable[[], None], int, int]:
    """A function that trains on about ``images`` images (after its own warm-up), its batch size and steps."""
    import keras

    from aeutils import data

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")
    batch = _batch_size(model_name, variant)
    # bfloat16 is emulated (and slow) on CPUs without bfloat16 instructions: there, time it on fewer images.
    emulated = variant == "book_bf16" and not bf16_in_hardware()
    steps = max(2, (images // 4 if emulated else images) // batch)
    warm_up_steps = min(steps, 5)
    policy = keras.mixed_precision.global_policy()
    if variant == "book_bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _build(model_name, jit=variant == "book_jit")
    finally:
        keras.mixed_precision.set_global_policy(policy)
    targets = variant != "reference" and model_name == "conv_ae"
    # Every variant draws its batches from the book's own input pipeline, the one aeutils.train.fit uses.
    dataset = data.as_tf_dataset(x, x if targets else None, batch_size=batch, seed=0).repeat()

    if variant == "reference":
        step = _reference_step(model_name, model)
        iterator = iter(dataset)

        def run(n: int = steps) -> None:
            for _ in range(n):
                step(next(iterator))

    else:

        def run(n: int = steps) -> None:
            model.fit(dataset, epochs=1, steps_per_epoch=n, verbose=0, shuffle=False)

    run(warm_up_steps)  # warm-up: tracing, graph building, thread pools
    return run, batch, steps


def measure(
    models: Sequence[str] = MODELS,
    variants: Sequence[str] = VARIANTS,
    *,
    images: int = 3_200,
    repeats: int = 5,
    n_images: int = 4096,
    seed: int = 0,
) -> list[Measurement]:
    """Time every (model, variant); return one :class:`Measurement` each.

    Args:
        models: names from :data:`MODELS`.
        variants: names from :data:`VARIANTS`.
        images: images per timed run (steps = images // batch size; a quarter of that for
            ``book_bf16`` on CPUs without bfloat16 instructions, where it is emulated and slow).
        repeats: timed runs per variant (the median is reported), interleaved across variants.
        n_images: size of the Fashion-MNIST subset the steps draw from.
    """
    for name, value in (("images", images), ("repeats", repeats), ("n_images", n_images)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    unknown = [m for m in models if m not in MODELS] + [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown model or variant {unknown}; models: {MODELS}, variants: {VARIANTS}")
    from tensorflow.python.framework import config as tf_config  # TF has no public way to switch it off

    from aeutils import data

    config.seed_everything(seed, deterministic=False)
    x = data.load("fashion_mnist", n_train=n_images).x_train
    # Op determinism (which the chapters switch on) makes Keras drop jit_compile=True without
    # error; timings need no bitwise reproducibility, so it is off while measuring.
    deterministic = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    try:
        return _measure(models, variants, x, images, repeats)
    finally:
        if deterministic:
            tf_config.enable_op_determinism()


def _measure(
    models: Sequence[str], variants: Sequence[str], x: np.ndarray, images: int, repeats: int
) -> list[Measurement]:
    results = []
    for model_name in models:
        runners, failures = {}, {}
        for variant in variants:
            try:
                runners[variant] = _runner(model_name, variant, x, images)
            except Exception as error:  # a variant that does not run is a result too
                failures[variant] = f"{type(error).__name__}: {str(error).splitlines()[0][:100]}"
        times: dict[str, list[float]] = {variant: [] for variant in runners}
        for _ in range(repeats):
            for variant, (run, _batch, _steps) in runners.items():
                start = time.perf_counter()
                run()
                times[variant].append(time.perf_counter() - start)
        for variant, (_run, batch, steps) in runners.items():
            median = statistics.median(times[variant])
            ips = steps * batch / median
            results.append(
                Measurement(
                    model_name,
                    variant,
                    batch,
                    ips,
                    EPOCH_IMAGES / ips,
                    [round(t, 4) for t in times[variant]],
                    images_per_run=steps * batch,
                )
            )
        for variant, reason in failures.items():
            batch = _batch_size(model_name, variant)
            results.append(Measurement(model_name, variant, batch, float("nan"), float("nan"), [], reason))
    return results


#: CPU flags that matter for training speed (Linux ``/proc/cpuinfo`` names).
_VECTOR_FLAGS = {
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
}


def _cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in Linux's /proc/cpuinfo, or None (another system, or no such field)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The processor's model name: two 2-core machines can differ in speed by 2x or more.

    Also recorded in every chapter's stamp and in the test-suite timing (``tools.book``).
    """
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def vector_units() -> str:
    """The processor's vector instruction sets that TensorFlow's CPU kernels use, comma-separated.

    Recorded beside :func:`cpu_model` (in :func:`machine`, every chapter's stamp and the test-suite
    timing): virtual machines often report only a family name ("AMD EPYC"), and two machines with
    the same name, one with AVX-512 and one with AVX2 only, can differ in speed by 2x (on Linux x86,
    TensorFlow switches its oneDNN kernels on by default only on processors with neural-network
    instructions such as AVX-512 VNNI, AVX VNNI, bfloat16 or AMX).
    """
    flags = _flags()
    if flags is None:
        return "unknown"
    return ", ".join(sorted(flags & _VECTOR_FLAGS)) or "none of " + "/".join(sorted(_VECTOR_FLAGS))


def bf16_in_hardware() -> bool | None:
    """Whether the CPU computes in bfloat16 itself (AVX-512 BF16 or AMX); None where it cannot be read."""
    flags = _flags()
    return None if flags is None else bool(flags & {"avx512_bf16", "amx_bf16"})


def _flags() -> set[str] | None:
    """The CPU's flags from Linux's /proc/cpuinfo, or None where they cannot be read."""
    listed = _cpuinfo("flags")
    return None if listed is None else set(listed.split())


def machine() -> dict[str, Any]:
    """A description of the machine and library versions, for the report."""
    import keras
    import tensorflow as tf

    cpu = cpu_model()
    vector = vector_units()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "vector_units": vector,
        "bf16_in_hardware": bf16_in_hardware(),
        "gpu": [d.name for d in tf.config.list_physical_devices("GPU")],
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def table(results: Sequence[Measurement]) -> str:
    """The results as a plain-text table: median images/s, the range over the timed runs, seconds per
    60,000-image epoch at the median, and the speed-up over ``reference`` (median and fastest runs)."""
    reference = {r.model: r.images_per_second for r in results if r.variant == "reference"}
    best_reference = {r.model: r.best_images_per_second for r in results if r.variant == "reference"}
    lines = [
        f"{'model':10s} {'variant':10s} {'batch':>5s} {'images/s':>9s} {'(slowest-fastest)':>18s} "
        f"{'s/epoch':>8s} {'vs ref':>7s} {'fastest vs ref':>15s}"
    ]
    for r in results:
        ratio = r.images_per_second / reference[r.model] if r.model in reference else float("nan")
        best_ratio = (
            r.best_images_per_second / best_reference[r.model] if r.model in best_reference else float("nan")
        )
        low, high = r.images_per_second_range
        spread = f"{low:.0f}-{high:.0f}" if np.isfinite(low) else "-"
        lines.append(
            f"{r.model:10s} {r.variant:10s} {r.batch_size:5d} {r.images_per_second:9.0f} {spread:>18s} "
            f"{r.seconds_per_epoch:8.1f} {ratio:6.2f}x {best_ratio:14.2f}x"
            + (f"  did not run: {r.note}" if r.note else "")
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {MODELS}")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {VARIANTS}")
    parser.add_argument(
        "--images", type=int, default=3_200, help="images per timed run (emulated bf16: a quarter)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant (median reported)")
    parser.add_argument("--json", help="also write the results (and the machine) to this JSON file")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    try:
        results = measure(models, variants, images=args.images, repeats=args.repeats)
    except ValueError as error:
        parser.error(str(error))
    info = machine()
    print(
        f"{info['cpu']} ({info['cores']} cores), TensorFlow {info['tensorflow']}, Keras {info['keras']}, "
        f"{info['date']}"
    )
    print(table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"machine": info, "results": [asdict(r) for r in results]}, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
