"""tools.bench: argument checks and the report table (timing itself is not a test)."""

import math

import pytest

from tools import bench


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(models=["resnet"]), "unknown model or variant"),
        (dict(variants=["turbo"]), "unknown model or variant"),
        (dict(images=0), "images must be a positive int"),
        (dict(repeats=-1), "repeats must be a positive int"),
    ],
)
def test_measure_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench.measure(**kwargs)


def test_table_reports_speed_up_over_the_reference_and_failures():
    results = [
        bench.Measurement("conv_ae", "reference", 32, 1000.0, 60.0, [1.0]),
        bench.Measurement("conv_ae", "book", 128, 2500.0, 24.0, [1.0]),
        bench.Measurement("conv_ae", "book_bf16", 128, float("nan"), float("nan"), [], "TypeError: dtype"),
    ]
    lines = bench.table(results).splitlines()
    assert lines[0].split()[:3] == ["model", "variant", "batch"]
    assert lines[1].split()[-2:] == ["1.00x", "nanx"] and lines[2].split()[-2] == "2.50x"
    assert "did not run: TypeError: dtype" in lines[3]


def test_the_range_of_runs_is_reported_in_images_per_second():
    measurement = bench.Measurement("conv_ae", "book", 128, 750.0, 80.0, [2.0, 1.0, 1.5], images_per_run=1000)
    assert measurement.images_per_second_range == (500.0, 1000.0)
    assert measurement.best_images_per_second == 1000.0
    reference = bench.Measurement("conv_ae", "reference", 32, 400.0, 150.0, [2.0, 4.0], images_per_run=1000)
    assert bench.table([reference, measurement]).splitlines()[2].split()[-2:] == ["1.88x", "2.00x"]
    assert "500-1000" in bench.table([measurement])
    assert all(
        map(math.isnan, bench.Measurement("dcgan", "book", 128, 1.0, 1.0, [1.0]).images_per_second_range)
    )


def test_xla_that_keras_would_drop_is_reported_not_silently_run_without():
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    was = tf_config.is_op_determinism_enabled()
    try:
        tf.config.experimental.enable_op_determinism()  # Keras drops jit_compile under op determinism
        with pytest.raises(NotImplementedError, match="XLA"):
            bench._build("conv_ae", jit=True)
        tf_config.disable_op_determinism()
        assert bench._build("conv_ae", jit=True).jit_compile  # without determinism XLA is really on
    finally:
        (tf.config.experimental.enable_op_determinism if was else tf_config.disable_op_determinism)()


def test_cli_rejects_unknown_model(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--models", "nope"])
    assert "unknown model" in capsys.readouterr().err


def _measurement(variant, runs, images=100):
    return bench.Measurement(
        model="conv_ae",
        variant=variant,
        batch_size=32,
        images_per_second=images / sorted(runs)[len(runs) // 2],
        seconds_per_epoch=0.0,
        runs=list(runs),
        images_per_run=images,
    )


def test_paired_ratios_compare_runs_made_at_the_same_time():
    # The machine halves its speed for the third pair: both variants slow down alike, the ratio stays 2.
    fast = _measurement("book", [1.0, 1.0, 2.0, 1.0, 1.0])
    slow = _measurement("reference", [2.0, 2.0, 4.0, 2.0, 2.0])
    assert bench.paired_ratios(fast, slow) == [2.0, 2.0, 2.0, 2.0, 2.0]
    median, low, high, verdict = bench.comparison(fast, slow)
    assert (median, low, high, verdict) == (2.0, 2.0, 2.0, "faster")
    assert bench.comparison(slow, fast)[3] == "slower"


def test_comparison_says_no_consistent_difference_when_pairs_disagree():
    a = _measurement("book", [1.0, 1.2, 0.9, 1.0, 1.1])
    b = _measurement("reference", [1.1, 1.0, 1.0, 0.95, 1.2])
    assert bench.comparison(a, b)[3] == "no consistent difference"


def test_comparison_of_a_variant_that_did_not_run():
    a = _measurement("book", [1.0])
    b = bench.Measurement("conv_ae", "book_jit", 128, float("nan"), float("nan"), [], note="XLA dropped")
    assert bench.paired_ratios(a, b) == [] and bench.comparison(a, b)[3] == "could not be measured"
