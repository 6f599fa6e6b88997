"""NSGA-II building blocks on small hand-worked cases (pure numpy, no Keras)."""

import numpy as np
import pytest

from scarlet_tf.errors import ScarletError
from scarlet_tf.search import nsga2
from scarlet_tf.search.problem import SearchProblem, parse_objectives
from scarlet_tf.space.spaces import get_space

# minimize both: (2,4) is dominated by (2,3); (4,4) by (2,4) too, so it is a front lower.
POINTS = [(1, 5), (2, 3), (3, 1), (2, 4), (4, 4)]


def test_non_dominated_sort_hand_worked():
    fronts = nsga2.non_dominated_sort(POINTS)
    assert [f.tolist() for f in fronts] == [[0, 1, 2], [3], [4]]


def test_constraint_domination():
    # 0: feasible but worst in both objectives; 1, 2: infeasible, 2 violates less.
    F, violation = [(9, 9), (0, 0), (1, 1)], [0.0, 0.5, 0.2]
    assert [f.tolist() for f in nsga2.non_dominated_sort(F, violation)] == [[0], [2], [1]]
    d = nsga2.domination_matrix(F, violation)
    assert d[0, 1] and d[0, 2] and d[2, 1] and not d[1, 2] and not d[1, 0]


def test_crowding_distance_hand_worked():
    # ranges 2 and 4; middle point: (3 - 1) / 2 + (5 - 1) / 4 = 2
    distance = nsga2.crowding_distance([(1, 5), (2, 3), (3, 1)])
    assert distance.tolist() == [np.inf, 2.0, np.inf]


def test_weighted_crowding_distance():
    F = [(1, 5), (2, 3), (3, 1), (2.5, 1.5)]
    distance = nsga2.crowding_distance(F, weights=[1.0, 0.0])
    # objective 2 ignored: only objective 1's extremes are infinite; (2,3): (2.5-1)/2
    assert distance.tolist() == [np.inf, 0.75, np.inf, 0.5]


def test_select_keeps_front_then_most_crowded():
    # (1.5, 4.5) joins the first front; of front 0 the extremes (inf) go first
    assert sorted(nsga2.select(POINTS + [(1.5, 4.5)], k=4).tolist()) == [0, 1, 2, 5]
    assert nsga2.select(POINTS + [(1.5, 4.5)], k=2).tolist() == [0, 2]
    assert nsga2.select(POINTS, k=4).tolist()[3] == 3


def test_tournament_prefers_rank_then_crowding():
    rng = np.random.default_rng(0)
    rank, crowd = np.array([0, 1]), np.array([0.0, np.inf])
    assert {nsga2.tournament(rank, crowd, rng) for _ in range(20)} == {0}
    rank, crowd = np.array([0, 0]), np.array([1.0, 3.0])
    assert {nsga2.tournament(rank, crowd, rng) for _ in range(20)} == {1}


def test_crossover_and_mutation_keep_paths_valid():
    rng = np.random.default_rng(1)
    num_choices = np.array([1, 2, 13, 13])
    a, b = np.array([0, 0, 3, 12]), np.array([0, 1, 7, 0])
    for _ in range(200):
        child = nsga2.crossover(a, b, rng)
        assert all(c in (x, y) for c, x, y in zip(child, a, b))
        mutant = nsga2.mutate(child, num_choices, rng, rate=0.5)
        assert ((0 <= mutant) & (mutant < num_choices)).all() and mutant[0] == 0
    always = nsga2.mutate(a, num_choices, rng, rate=1.0)
    assert (always[1:] != a[1:]).all()


def test_hypervolume_hand_worked():
    # staircase (1,3), (2,2), (3,1) under (4,4): 3 + 2 + 1
    assert nsga2.hypervolume([(1, 3), (2, 2), (3, 1)], (4, 4)) == 6.0
    # a dominated point and one beyond the reference add nothing
    assert nsga2.hypervolume([(1, 3), (2, 2), (3, 1), (3, 3), (5, 0)], (4, 4)) == 6.0
    # two boxes of 2 overlapping in a unit cube
    assert nsga2.hypervolume([(0, 1, 1), (1, 0, 1)], (2, 2, 2)) == 3.0
    assert nsga2.hypervolume(np.zeros((0, 2)), (1, 1)) == 0.0


def test_objectives_parse_and_refuse():
    assert [str(o) for o in parse_objectives("accuracy, params:max")] == ["accuracy",
                                                                          "params:max"]
    with pytest.raises(ScarletError, match="allowed: accuracy, loss, madds"):
        parse_objectives("accuracy,flops")
    with pytest.raises(ScarletError, match="allowed"):
        parse_objectives("madds:max")


def test_problem_bounds_repair_and_sample_are_feasible():
    space = get_space("scarlet-cifar", width=0.5)
    low = SearchProblem(space).bounds["madds"][0]
    problem = SearchProblem(space, max_madds=1.5 * low, max_params=2e6)
    rng = np.random.default_rng(0)
    largest = [n - 1 for n in space.num_choices]
    assert problem.violation(largest) > 0
    repaired = problem.repair(largest, rng)
    assert problem.violation(repaired) == 0
    for _ in range(20):
        path = problem.sample(rng)
        assert problem.violation(path) == 0 and problem.costs(path)["madds"] <= 1.5 * low
    with pytest.raises(ScarletError, match=f"smallest architecture of this space "
                                           f"\\({low / 1e6:.3f}M\\)"):
        SearchProblem(space, max_madds=low - 1)


def test_limits_that_exclude_nothing_are_named():
    space = get_space("scarlet-cifar", width=0.5)
    low, high = SearchProblem(space).bounds["madds"]
    assert SearchProblem(space, max_madds=high - 1).idle_limits() == []
    [line] = SearchProblem(space, max_madds=high, max_params=1e6).idle_limits()
    assert line.startswith("the mult-add limit") and f"({high / 1e6:.3f}M)" in line
