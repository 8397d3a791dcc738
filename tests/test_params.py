from dataclasses import fields

import pytest

from sparkcourse.params import (
    SCALES,
    ParameterError,
    Scale,
    check_choice,
    check_int,
    check_master,
    check_number,
    check_scale,
)


def test_every_size_grows_from_ci_to_large():
    ci, small, medium, large = (SCALES[name] for name in ("ci", "small", "medium", "large"))
    for size in fields(Scale):
        if size.type in ("int", "float") and size.name != "shuffle_partitions":
            values = [getattr(scale, size.name) for scale in (ci, small, medium, large)]
            assert values == sorted(values) and values[0] < values[-1], size.name
    assert ci.subscribers < small.subscribers and small.max_evals < medium.max_evals


def test_the_scales_are_one_table_named_by_their_rows():
    assert list(SCALES) == ["ci", "small", "medium", "large"]
    assert all(scale.name == name for name, scale in SCALES.items())


def test_unknown_scale_names_the_choices():
    with pytest.raises(ParameterError, match="ci, small, medium, large; got 'huge'"):
        check_scale("huge")


@pytest.mark.parametrize("master", ["local", "local[*]", "local[4]", "local[2,3]",
                                    "spark://127.0.0.1:7077", "spark://a:7077,b:7077",
                                    "yarn", "k8s://https://host:443", "sc://127.0.0.1:15002",
                                    "sc://host:443/;use_ssl=true;token=abc"])
def test_valid_masters(master):
    assert check_master(master) == master


@pytest.mark.parametrize("master", ["", "local[0]", "local[x]", "spark:/x", "spark://host",
                                    "http://host:7077", "spark://h:77 77", "sc://host", None, 3])
def test_malformed_masters(master):
    with pytest.raises(ParameterError, match="spark_master must look like"):
        check_master(master)


def test_check_int():
    assert check_int("n", 3) == 3
    with pytest.raises(ParameterError, match="n must be >= 0; got -1"):
        check_int("n", -1)
    with pytest.raises(ParameterError, match="whole number"):
        check_int("n", 2.5)
    with pytest.raises(ParameterError, match="whole number"):
        check_int("n", True)
    assert check_int("port", 65535, maximum=65535) == 65535
    with pytest.raises(ParameterError, match="port must be <= 65535; got 70000"):
        check_int("port", 70000, maximum=65535)


def test_check_choice():
    assert check_choice("engine", "a", ("a", "b")) == "a"
    with pytest.raises(ParameterError, match="engine must be one of a, b"):
        check_choice("engine", "c", ("a", "b"))


def test_check_number():
    assert check_number("cost", 2) == 2.0 and check_number("cost", 0.5) == 0.5
    assert check_number("cost", -1, minimum=-1) == -1.0
    with pytest.raises(ParameterError, match="cost must be >= 0.0; got -0.5"):
        check_number("cost", -0.5)
    for bad in ("1", None, True, float("nan")):
        with pytest.raises(ParameterError, match="cost must be a number"):
            check_number("cost", bad)


def test_a_notebook_needing_the_classic_api_refuses_spark_connect_up_front(tmp_path):
    from sparkcourse.notebook import setup_notebook

    def setup(master):
        return setup_notebook("03_lesson", scale="ci", spark_master=master, seed=0,
                              work_dir=str(tmp_path), classic_api="barrier stages")

    with pytest.raises(ParameterError, match=r"^03_lesson needs Spark's classic API \(barrier stages\), "
                                             r"which Spark Connect does not have: run it with"):
        setup("sc://127.0.0.1:15002")
    assert setup("spark://127.0.0.1:7077").master == "spark://127.0.0.1:7077"


def test_repeats_overrides_only_the_scales_timed_runs(tmp_path):
    from sparkcourse.notebook import setup_notebook

    def setup(repeats):
        return setup_notebook("04_lesson", scale="small", spark_master="local[2]", seed=0,
                              work_dir=str(tmp_path), repeats=repeats)

    assert setup(0).scale == SCALES["small"] and setup(0).scale.repeats == 3
    quick = setup(1).scale
    assert quick.repeats == 1 and quick.name == "small" and quick.stores == SCALES["small"].stores
    with pytest.raises(ParameterError, match=r"^repeats must be >= 0; got -1$"):
        setup(-1)
