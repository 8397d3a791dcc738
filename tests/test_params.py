import pytest

from sparkcourse.params import (
    SCALES,
    ParameterError,
    check_choice,
    check_int,
    check_master,
    check_number,
    check_scale,
)


def test_scales_grow():
    sizes = [SCALES[name].n_users for name in ("small", "medium", "large")]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3


def test_unknown_scale_names_the_choices():
    with pytest.raises(ParameterError, match="small, medium, large; got 'huge'"):
        check_scale("huge")


@pytest.mark.parametrize("master", ["local", "local[*]", "local[4]", "local[2,3]",
                                    "spark://127.0.0.1:7077", "spark://a:7077,b:7077",
                                    "yarn", "k8s://https://host:443"])
def test_valid_masters(master):
    assert check_master(master) == master


@pytest.mark.parametrize("master", ["", "local[0]", "local[x]", "spark:/x", "spark://host",
                                    "http://host:7077", "spark://h:77 77", None, 3])
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
