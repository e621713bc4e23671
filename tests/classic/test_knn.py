"""k-nearest neighbours: the three distance routines, voting, errors, digits accuracy."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from fovea.classic import KNearestNeighbor

ROUTINES = ("compute_distances_two_loops", "compute_distances_one_loop",
            "compute_distances_no_loops")


def _random_problem(rng, n_train=40, n_test=13, dim=7, classes=4, dtype=np.float64):
    X = rng.standard_normal((n_train, dim)).astype(dtype)
    y = rng.integers(0, classes, n_train)
    Xt = rng.standard_normal((n_test, dim)).astype(dtype)
    return X, y, Xt


@pytest.mark.parametrize("metric, scipy_metric", [("l2", "euclidean"), ("l1", "cityblock")])
@pytest.mark.parametrize("routine", ROUTINES)
def test_every_distance_routine_matches_scipy_cdist(rng, routine, metric, scipy_metric):
    X, y, Xt = _random_problem(rng)
    knn = KNearestNeighbor().train(X, y)
    d = getattr(knn, routine)(Xt, metric=metric)
    assert d.shape == (13, 40)
    np.testing.assert_allclose(d, cdist(Xt, X, scipy_metric), rtol=1e-10, atol=1e-10)


def test_no_loop_distances_in_float32_stay_float32_and_close(rng):
    X, y, Xt = _random_problem(rng, dtype=np.float32)
    d = KNearestNeighbor().train(X, y).compute_distances_no_loops(Xt)
    assert d.dtype == np.float32
    np.testing.assert_allclose(d, cdist(Xt.astype(np.float64), X.astype(np.float64)),
                               rtol=1e-4, atol=1e-4)


def test_no_loop_distances_of_identical_rows_are_zero_not_nan(rng):
    X = rng.random((5, 300)) * 1000
    d = KNearestNeighbor().train(X, np.arange(5)).compute_distances_no_loops(X)
    assert np.isfinite(d).all()
    # The expansion cancels |x|² ≈ 3e8: the error is rounding relative to |x|, not to 0.
    assert (np.diag(d) <= 1e-7 * np.linalg.norm(X, axis=1)).all()


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_no_loop_batches_stay_within_the_memory_budget_and_give_the_same_result(rng, metric):
    X, y, Xt = _random_problem(rng, n_train=100, n_test=23, dim=4)
    whole = KNearestNeighbor().train(X, y).compute_distances_no_loops(Xt, metric=metric)
    budget = 4096
    knn = KNearestNeighbor(batch_bytes=budget).train(X, y)
    rows_seen = []
    block = knn._block

    def spy(Xb, *args, **kwargs):
        rows_seen.append(Xb.shape[0])
        return block(Xb, *args, **kwargs)

    knn._block = spy
    np.testing.assert_allclose(knn.compute_distances_no_loops(Xt, metric=metric), whole,
                               rtol=1e-12, atol=1e-12)
    per_row = 100 * 8 * (4 if metric == "l1" else 1)  # bytes of one row's temporaries
    assert sum(rows_seen) == 23 and len(rows_seen) > 1
    assert max(rows_seen) * per_row <= budget or max(rows_seen) == 1
    rows_seen.clear()
    assert (knn.predict(Xt, k=3, metric=metric)
            == KNearestNeighbor().train(X, y).predict(Xt, k=3, metric=metric)).all()
    assert sum(rows_seen) == 23 and len(rows_seen) > 1


@pytest.mark.parametrize("metric, sk_metric", [("l2", "euclidean"), ("l1", "manhattan")])
@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_predict_matches_scikit_learn_brute_force(rng, k, metric, sk_metric):
    from sklearn.neighbors import KNeighborsClassifier

    X, y, Xt = _random_problem(rng, n_train=60, n_test=50, dim=5)
    ours = KNearestNeighbor().train(X, y).predict(Xt, k=k, metric=metric)
    ref = KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric=sk_metric)
    np.testing.assert_array_equal(ours, ref.fit(X, y).predict(Xt))


@pytest.mark.parametrize("num_loops", [1, 2])
def test_predict_is_the_same_whichever_routine_computes_the_distances(rng, num_loops):
    X, y, Xt = _random_problem(rng)
    knn = KNearestNeighbor().train(X, y)
    for k in (1, 3, 5):
        np.testing.assert_array_equal(knn.predict(Xt, k=k, num_loops=num_loops),
                                      knn.predict(Xt, k=k))


def test_vote_ties_go_to_the_smallest_label():
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    y = np.array([5, 3, 7, 7])
    knn = KNearestNeighbor().train(X, y)
    # Two nearest of 0.4 are 0 (label 5) and 1 (label 3): a 1-1 tie -> 3.
    assert knn.predict(np.array([[0.4]]), k=2)[0] == 3
    assert knn.predict(np.array([[0.6]]), k=2)[0] == 3
    # k = 4: labels {5, 3, 7, 7}: 7 wins outright.
    assert knn.predict(np.array([[0.4]]), k=4)[0] == 7
    # With k = 1 the nearest alone decides.
    assert knn.predict(np.array([[0.1]]), k=1)[0] == 5


def test_labels_need_not_be_contiguous_or_positive():
    X = np.array([[0.0], [1.0], [5.0]])
    y = np.array([-4, 9, 9])
    knn = KNearestNeighbor().train(X, y)
    np.testing.assert_array_equal(knn.predict(np.array([[0.2], [4.0]]), k=1), [-4, 9])
    assert knn.predict(np.array([[0.5]]), k=2)[0] == -4  # tie -4 vs 9 -> smallest


def test_predict_labels_votes_over_a_given_distance_matrix():
    knn = KNearestNeighbor().train(np.zeros((3, 2)), np.array([2, 0, 1]))
    dists = np.array([[0.1, 0.5, 0.2], [0.9, 0.1, 0.8], [0.3, 0.2, 0.1]])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=1), [2, 0, 1])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=3), [0, 0, 0])


def test_constructor_k_and_metric_are_the_defaults_of_predict(rng):
    X, y, Xt = _random_problem(rng)
    knn = KNearestNeighbor(k=5, metric="l1").train(X, y)
    np.testing.assert_array_equal(knn.predict(Xt), knn.predict(Xt, k=5, metric="l1"))


def test_knn_reaches_97_percent_on_the_digits_test_split(digits):
    knn = KNearestNeighbor().train(digits.X_train, digits.y_train)
    acc = np.mean(knn.predict(digits.X_test, k=1) == digits.y_test)
    assert acc >= 0.97, acc


# ---------------------------------------------------------------------- errors
def test_mismatched_x_and_y_lengths_are_refused():
    with pytest.raises(ValueError, match=r"X has 3 rows but y has 2"):
        KNearestNeighbor().train(np.zeros((3, 2)), np.array([0, 1]))


def test_k_larger_than_the_training_set_is_refused():
    knn = KNearestNeighbor().train(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"k=4 is larger than the training set \(3"):
        knn.predict(np.zeros((1, 2)), k=4)
    with pytest.raises(ValueError, match="k must be >= 1"):
        knn.predict(np.zeros((1, 2)), k=0)
    with pytest.raises(TypeError, match="k must be an integer"):
        knn.predict(np.zeros((1, 2)), k=1.5)


def test_unknown_metric_is_refused():
    knn = KNearestNeighbor().train(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"unknown metric 'cosine'"):
        knn.predict(np.zeros((1, 2)), metric="cosine")
    with pytest.raises(ValueError, match="metric"):
        KNearestNeighbor(metric="l3")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_are_refused(bad):
    X = np.zeros((3, 2))
    X[1, 1] = bad
    with pytest.raises(ValueError, match="X contains non-finite"):
        KNearestNeighbor().train(X, np.array([0, 1, 1]))
    knn = KNearestNeighbor().train(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="non-finite"):
        knn.predict(X)


def test_wrong_shapes_and_types_are_refused():
    knn = KNearestNeighbor()
    with pytest.raises(RuntimeError, match="has not been trained"):
        knn.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        knn.train(np.zeros(3), np.zeros(3, dtype=int))
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        knn.train(np.zeros((3, 2)), np.zeros(3))
    knn.train(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"must have 2 columns"):
        knn.predict(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="dists must have shape"):
        knn.predict_labels(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="num_loops"):
        knn.predict(np.zeros((1, 2)), num_loops=3)


def test_float32_training_data_with_float64_test_data_is_computed_in_float64(rng):
    X, y, Xt = _random_problem(rng, dtype=np.float32)
    knn = KNearestNeighbor().train(X, y)
    d = knn.compute_distances_no_loops(Xt.astype(np.float64))
    assert d.dtype == np.float64
    np.testing.assert_allclose(d, cdist(Xt.astype(np.float64), X.astype(np.float64)),
                               rtol=1e-10)
    assert knn.predict(np.zeros((0, 7))).shape == (0,)
