"""variant(base, **changes): a net with a few keywords changed, overrides last."""
import pytest

from nets.variants import variant


def base(max_epochs=750, **keywords):
    return dict(keywords, max_epochs=max_epochs)


def test_changes_replace_the_base_s_and_overrides_replace_the_changes():
    wide = variant(base, units=1000, depth=2)
    assert wide() == {'units': 1000, 'depth': 2, 'max_epochs': 750}
    assert wide(20, depth=3) == {'units': 1000, 'depth': 3, 'max_epochs': 20}


def test_the_base_s_epochs_and_a_docstring():
    import inspect
    build = variant(base, units=(3, 3), activation=len)
    assert inspect.signature(build).parameters['max_epochs'].default == 750
    assert build.__doc__.splitlines()[0] == 'build(max_epochs=750, **overrides)'
    assert 'activation=len, units=(3, 3)' in build.__doc__


@pytest.mark.parametrize('value', [[1], {'a': 1}, object(), ((1,), [2])])
def test_changes_that_one_net_could_leak_into_the_next_are_refused(value):
    with pytest.raises(TypeError, match='plain values, not .* \\(units\\)'):
        variant(base, units=value)
