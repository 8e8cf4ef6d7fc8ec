"""aeutils.bench: argument checks and the report table (timing itself is not a test)."""

import pytest

from aeutils import bench


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
    assert lines[1].endswith("1.00x") and lines[2].endswith("2.50x")
    assert "failed: TypeError: dtype" in lines[3]


def test_cli_rejects_unknown_model(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--models", "nope"])
    assert "unknown model" in capsys.readouterr().err
