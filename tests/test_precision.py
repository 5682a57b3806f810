"""The precision choice (train, evaluate, predict) and predict's TTA views spent on the least confident share."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kagglekit.cli import main
from kagglekit.exceptions import UsageError
from kagglekit.paths import CompetitionPaths
from kagglekit.training import precision
from kagglekit.training.runs import load_run

AMD_ZEN4 = "model name\t: AMD EPYC 9R14\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512_bf16 avx512_vnni\n"
XEON_AMX = (
    "model name\t: Intel(R) Xeon(R) Platinum 8488C\nflags\t\t: avx2 avx512f amx_bf16 amx_tile amx_int8 avx512_bf16\n"
)
AVX2_ONLY = "model name\t: AMD EPYC 7R13\nflags\t\t: fpu sse avx avx2 fma\n"
TINY = ["--epochs", "1", "--batch-size", "32", "--set", "widths=[8,16,16]"]


def test_cpu_flags_and_model_are_read_from_cpuinfo() -> None:
    assert precision.cpu_flags(XEON_AMX) == {"avx512f", "amx_bf16", "amx_tile", "amx_int8", "avx512_bf16"}
    assert precision.cpu_flags(AVX2_ONLY) == set()
    assert precision.cpu_model(AMD_ZEN4) == "AMD EPYC 9R14"


@pytest.mark.parametrize(
    "cpuinfo, policy, reason",
    [
        (AMD_ZEN4, "mixed_bfloat16", "CPU has avx512_bf16"),
        (XEON_AMX, "mixed_bfloat16", "CPU has amx_bf16+avx512_bf16"),
        (AVX2_ONLY, "float32", "CPU without AVX512_BF16/AMX"),
    ],
)
def test_auto_on_a_tensorflow_cpu_follows_its_bfloat16_instructions(cpuinfo: str, policy: str, reason: str) -> None:
    chosen = precision.choose("auto", "CPU", "tensorflow", flags=precision.cpu_flags(cpuinfo))
    assert (chosen.policy, chosen.reason) == (policy, reason)


def test_auto_elsewhere_and_explicit_choices() -> None:
    bf16 = precision.cpu_flags(AMD_ZEN4)
    assert precision.choose("auto", "CPU", "jax", flags=bf16).policy == "float32"  # XLA's CPU code gains nothing
    assert precision.choose("auto", "GPU", "jax", "mixed_float16").policy == "mixed_float16"
    assert precision.choose("auto", "TPU", "jax", "mixed_bfloat16").policy == "mixed_bfloat16"
    assert precision.choose("float32", "CPU", "tensorflow", flags=bf16) == precision.Precision(
        "float32", "--precision float32"
    )
    assert precision.choose("bfloat16", "CPU", "tensorflow", flags=set()).policy == "mixed_bfloat16"
    assert precision.choose("float16", "GPU", "jax").policy == "mixed_float16"
    with pytest.raises(UsageError, match="float16 needs a GPU"):
        precision.choose("float16", "CPU", "tensorflow")
    with pytest.raises(UsageError, match="unknown precision"):
        precision.choose("float64", "CPU", "tensorflow")


def fake_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpuinfo: str) -> None:
    (tmp_path / "cpuinfo").write_text(cpuinfo)
    monkeypatch.setattr(precision, "CPUINFO", tmp_path / "cpuinfo")


def train_fast(prepared: CompetitionPaths, runs: Path, capsys: pytest.CaptureFixture, *extra: str) -> tuple[dict, str]:
    assert (
        main(["train", "--model", "fast", "--data-dir", str(prepared.data_dir), "--runs-dir", str(runs), *TINY, *extra])
        == 0
    )
    header = capsys.readouterr().out.splitlines()[0]
    config = json.loads(next(runs.glob("*/config.json")).read_text())
    return config, header


@pytest.mark.skipif("os.environ.get('KERAS_BACKEND', 'tensorflow') != 'tensorflow'")
def test_fast_trains_in_bfloat16_without_xla_on_a_bfloat16_cpu_and_says_why(
    prepared: CompetitionPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    fake_cpu(monkeypatch, tmp_path, AMD_ZEN4)
    config, header = train_fast(prepared, tmp_path / "auto", capsys)
    assert config["device"]["mixed_precision"] == "mixed_bfloat16" and config["device"]["jit_compile"] is False
    assert config["device"]["precision_reason"] == "CPU has avx512_bf16"
    assert "| mixed_bfloat16 (CPU has avx512_bf16) | XLA off |" in header

    forced, header = train_fast(prepared, tmp_path / "forced", capsys, "--precision", "float32")
    assert forced["device"]["mixed_precision"] == "float32" and "float32 (--precision float32)" in header
    assert forced["version_id"] == config["version_id"]  # precision is how, not what: the same version


@pytest.mark.skipif("os.environ.get('KERAS_BACKEND', 'tensorflow') != 'tensorflow'")
def test_a_cpu_without_bfloat16_trains_float32_and_predicts_a_bfloat16_run_in_float32(
    prepared: CompetitionPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    fake_cpu(monkeypatch, tmp_path, AVX2_ONLY)
    config, _ = train_fast(prepared, tmp_path / "plain", capsys)
    assert config["device"]["mixed_precision"] == "float32"
    assert config["device"]["jit_compile"] is False  # airbench's convolutions run faster through oneDNN than XLA

    trained, _ = train_fast(prepared, tmp_path / "bf16", capsys, "--precision", "bfloat16")
    run_dir = next((tmp_path / "bf16").glob("fast-*"))
    here = load_run(run_dir)  # this (fake) CPU emulates bfloat16: predict rebuilds the model in float32
    assert here.compute_precision().policy == "float32" and policies(here.model) == {"float32"}
    as_trained = load_run(run_dir, "bfloat16")
    assert policies(as_trained.model) == {"mixed_bfloat16"}
    images = CompetitionPaths(prepared.data_dir).cache_images("train")
    x = np.load(images)[:64]
    # bfloat16 keeps 8 bits of mantissa: the two agree to a few hundredths, and on nearly every label
    p32, p16 = here.predict_proba(x), as_trained.predict_proba(x)
    assert np.abs(p32 - p16).max() < 0.05 and (p32.argmax(1) == p16.argmax(1)).mean() >= 0.95


def policies(model: object) -> set[str]:
    """The dtype policies of the layers that compute (those with weights)."""
    return {layer.dtype_policy.name for layer in model._flatten_layers(include_self=False) if layer.weights}


def test_tta_views_go_to_the_least_confident_share(tiny_run: Path, prepared: CompetitionPaths) -> None:
    run = load_run(tiny_run)
    x = np.load(CompetitionPaths(prepared.data_dir).cache_images("train"))[:80]
    plain, full = run.predict_proba(x, "none"), run.predict_proba(x, "flip-translate")
    assert not np.allclose(plain, full)
    counted: list[int] = []
    np.testing.assert_allclose(
        run.predict_proba(x, "flip-translate", budget=0.0, on_view=counted.append), plain, atol=1e-6
    )
    assert counted == [80]  # no budget: the five other views never run
    np.testing.assert_allclose(run.predict_proba(x, "flip-translate", budget=1.0), full, atol=1e-6)

    counted.clear()
    mixed, spend = run.predict_spending(x, "flip-translate", budget=0.25, on_view=counted.append)
    unsure = np.zeros(len(x), bool)
    unsure[np.argsort(plain.max(axis=1), kind="stable")[:20]] = True
    np.testing.assert_allclose(mixed[unsure], full[unsure], atol=1e-5)
    np.testing.assert_allclose(mixed[~unsure], plain[~unsure], atol=1e-6)
    assert counted == [80] + [20] * 5
    assert (spend.budget, spend.images, spend.views) == (0.25, 20, 80 + 20 * 5)
    assert spend.cutoff == pytest.approx(plain.max(axis=1)[unsure].max())
