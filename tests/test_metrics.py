import numpy as np
import pytest

from tfgan.assets import MNIST_SUBSET
from tfgan.errors import TfganError
from tfgan.evaluation import metrics
from tfgan.evaluation.metrics import (
    MetricUnavailable,
    class_coverage,
    confident_share,
    evaluate_mnist,
    format_report,
    frechet_distance,
    inception_kid,
    kernel_inception_distance,
    mnist_features_and_probs,
)


def _with_exact_stats(n: int, mean: np.ndarray, cov: np.ndarray, seed: int) -> np.ndarray:
    """n samples whose sample mean and (ddof=1) covariance are exactly ``mean`` and ``cov``."""
    z = np.random.default_rng(seed).normal(size=(n, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whiten exactly
    return z @ np.linalg.cholesky(cov).T + mean


# ---------------------------------------------------------------- Fréchet distance


def test_frechet_distance_of_identical_sets_is_zero():
    a = np.random.default_rng(0).normal(size=(400, 16))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    mu_a, mu_b = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 1.0, 0.0, -0.5])
    var_a, var_b = np.array([1.0, 4.0, 0.25, 2.0]), np.array([9.0, 1.0, 0.25, 0.5])
    a = _with_exact_stats(300, mu_a, np.diag(var_a), seed=1)
    b = _with_exact_stats(500, mu_b, np.diag(var_b), seed=2)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum(var_a + var_b - 2 * np.sqrt(var_a * var_b))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_matches_sqrtm_for_full_covariances():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(3)
    m_a, m_b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    cov_a, cov_b = m_a @ m_a.T + 0.1 * np.eye(6), m_b @ m_b.T + 0.1 * np.eye(6)
    a = _with_exact_stats(200, np.zeros(6), cov_a, seed=4)
    b = _with_exact_stats(200, np.ones(6), cov_b, seed=5)
    expected = 6.0 + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_is_symmetric():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(300, 10))
    b = rng.normal(size=(250, 10)) * np.linspace(0.5, 2.0, 10) + 0.3
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="dimensions"):
        frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))


# ---------------------------------------------------------------- KID


def test_kid_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    same_mean, same_std = kernel_inception_distance(a, b, num_subsets=10, subset_size=500)
    shift_mean, _ = kernel_inception_distance(a, b + 0.5, num_subsets=10, subset_size=500)
    assert shift_mean > 0.05
    assert abs(same_mean) < 0.05 * shift_mean
    assert same_std >= 0.0


def test_kid_is_unbiased_so_it_can_go_negative():
    rng = np.random.default_rng(8)
    means = [
        kernel_inception_distance(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)), num_subsets=1)[0]
        for _ in range(40)
    ]
    assert min(means) < 0.0 < max(means)
    assert abs(np.mean(means)) < 3 * np.std(means) / np.sqrt(len(means))


def test_kid_clips_subset_size_to_the_smaller_set():
    rng = np.random.default_rng(9)
    mean, std = kernel_inception_distance(
        rng.normal(size=(30, 4)), rng.normal(size=(50, 4)), subset_size=1000
    )
    assert np.isfinite(mean) and np.isfinite(std)


# ---------------------------------------------------------------- probability statistics


def test_class_coverage_of_a_single_class():
    probs = np.zeros((50, 10))
    probs[:, 3] = 1.0
    cov = class_coverage(probs)
    assert cov["classes_covered"] == 1
    assert cov["kl_from_uniform"] == pytest.approx(np.log(10))


def test_class_coverage_balanced_and_two_classes():
    balanced = np.eye(10)[np.arange(100) % 10] * 0.8 + 0.02
    assert class_coverage(balanced) == {"classes_covered": 10, "kl_from_uniform": pytest.approx(0.0)}
    two = np.eye(10)[np.arange(100) % 2]
    assert class_coverage(two)["classes_covered"] == 2
    assert class_coverage(two)["kl_from_uniform"] == pytest.approx(np.log(5))


def test_confident_share():
    probs = np.full((4, 10), 0.01)
    probs[0, 0], probs[1, 1], probs[2, 2] = 0.91, 0.95, 0.5
    probs[3] = 0.1
    assert confident_share(probs) == pytest.approx(0.5)
    assert confident_share(probs, threshold=0.4) == pytest.approx(0.75)


# ---------------------------------------------------------------- the shipped classifier


@pytest.fixture(scope="module")
def real_digits() -> tuple[np.ndarray, np.ndarray]:
    """The shipped 5k subset, shuffled: uint8 (5000, 28, 28) and labels."""
    data = np.load(MNIST_SUBSET)
    idx = np.random.default_rng(0).permutation(len(data["x_train"]))
    return data["x_train"][idx], data["y_train"][idx]


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(1).uniform(-1.0, 1.0, size=(500, 28, 28, 1)).astype(np.float32)


def test_classifier_classifies_real_digits(real_digits):
    x, y = real_digits[0][:1000], real_digits[1][:1000]
    feats, probs = mnist_features_and_probs(x.astype(np.float32)[..., None] / 127.5 - 1.0)
    assert feats.shape == (1000, 128) and probs.shape == (1000, 10)
    assert np.mean(probs.argmax(axis=1) == y) >= 0.95
    assert confident_share(probs) > 0.9


def test_features_accept_uint8_and_missing_channel(real_digits):
    x = real_digits[0][:20]
    f_float, p_float = mnist_features_and_probs(x[..., None].astype(np.float32) / 127.5 - 1.0)
    f_uint8, p_uint8 = mnist_features_and_probs(x)
    np.testing.assert_allclose(f_uint8, f_float, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(p_uint8, p_float, rtol=1e-5, atol=1e-6)


def test_classifier_is_not_confident_on_noise(noise):
    _, probs = mnist_features_and_probs(noise)
    assert confident_share(probs) < 0.1


def test_evaluate_mnist_real_digits_score_near_the_floor(real_digits):
    x = real_digits[0]
    m = evaluate_mnist(x[:1000], x[1000:3000])
    assert m["samples"] == 1000
    assert m["fd"] < 2.0 * m["fd_floor"] + 0.1
    assert m["kid_mean"] < m["kid_floor_mean"] + 4 * m["kid_floor_std"] + 0.01
    assert m["classes_covered"] == m["classes_covered_real"] == 10
    assert m["confident_share"] > 0.9 and m["confident_share_real"] > 0.9
    report = format_report(m)
    assert "real-vs-real floor" in report and "FD" in report and "1000 images" in report


def test_evaluate_mnist_noise_is_far_above_the_floor(real_digits, noise):
    m = evaluate_mnist(noise, real_digits[0][:1000])
    assert m["samples"] == 500
    assert m["fd"] > 50 * m["fd_floor"]
    assert m["kid_mean"] > 50 * max(m["kid_floor_mean"], m["kid_floor_std"])
    assert m["confident_share"] < 0.1
    assert m["confident_share_real"] > 0.9


def test_evaluate_mnist_is_seeded(real_digits):
    x = real_digits[0]
    a = evaluate_mnist(x[:100], x[100:400], seed=3)
    b = evaluate_mnist(x[:100], x[100:400], seed=3)
    assert a == b


# ---------------------------------------------------------------- Inception KID


def test_inception_kid_offline_raises_metric_unavailable(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        # keras.utils.get_file raises a bare Exception when the download fails.
        raise Exception(  # noqa: TRY002
            "URL fetch failure on https://storage.googleapis.com/tensorflow/keras-applications/"
            "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5: None -- "
            "[Errno -2] Name or service not known"
        )

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    monkeypatch.setattr(metrics, "_inception", None)
    images = np.zeros((4, 32, 32, 3), np.float32)
    with pytest.raises(MetricUnavailable) as info:
        inception_kid(images, images)
    assert isinstance(info.value, TfganError)
    message = str(info.value)
    assert "\n" not in message
    assert "URL fetch failure" in message
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
