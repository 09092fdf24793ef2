"""Every row of every table names a registered net that builds with its overrides."""
import pytest

from experiments.runner import net_overrides, row_epochs
from experiments.tables import TABLES, get_table, scaled_epochs
from errors import UserError


def test_tables_in_the_issues_order():
    assert list(TABLES) == ['preprocessing', 'convnet_comparison',
                            'hidden_units',
                            'conv1_filter_size', 'dropout',
                            'dct_augmentation', 'hidden_layers',
                            'nonlinearity', 'conv_nets']
    assert len(get_table('hidden_units').rows) == 10
    assert len(get_table('conv_nets').rows) == 8
    assert len(get_table('convnet_comparison').rows) == 6


def test_every_row_names_a_registered_net():
    import nets
    for table in TABLES.values():
        for row in table.rows.values():
            assert row.net in nets.NETS, (table.name, row.name)


def test_every_row_s_overrides_are_plain_keywords_of_its_net():
    import json
    import nets
    rows = [row for table in TABLES.values() for row in table.rows.values()
            if row.overrides]
    assert len(rows) == 34
    for row in rows:
        # a manifest holds them, so an interrupted row resumes
        assert json.loads(json.dumps(row.overrides)) is not None
        net = nets.build_net(row.net, **row.overrides)
        net.initialize_layers()  # a layer refuses a keyword it does not take
        for key, value in row.overrides.items():
            assert any(key.startswith(layer + '_') for layer in net.layers_)
            assert getattr(net, key) == value, (row.name, key)


def test_row_epochs_follow_the_slides_or_the_net():
    rows = get_table('conv_nets').rows
    assert row_epochs('conv_nets', rows['net6rhl'], 1.0) == 2000
    assert row_epochs('conv_nets', rows['net6'], 1.0) == 750  # net6's own
    assert row_epochs('conv1_filter_size',
                      get_table('conv1_filter_size').rows['5x5'], 0.02) == 3
    assert scaled_epochs(1000, 1e-9) == 1


def test_dropout_rows_get_a_dropout_layer():
    import nets
    row = get_table('dropout').rows['0.3']
    net = nets.build_net(row.net, **net_overrides(row))
    net.initialize_layers()
    assert [name for name, _ in net.layers] == ['input', 'hidden', 'dropout',
                                                'output']
    assert net.layers_['dropout'].p == pytest.approx(0.3)
    assert net.layers_['hidden'].num_units == 500


def test_conv1_filter_size_row_changes_conv1_only():
    import nets
    row = get_table('conv1_filter_size').rows['7x7']
    net = nets.build_net(row.net, **net_overrides(row))
    net.initialize_layers()
    assert net.layers_['conv1'].W.get_value().shape == (32, 1, 7, 7)
    assert net.layers_['conv2'].W.get_value().shape == (64, 32, 2, 2)


def test_dct_rows_replace_the_train_split():
    from experiments.augmented_split import DCTAugmentedSplit
    split = net_overrides(get_table('dct_augmentation').rows['hpf10'])[
        'train_split']
    assert isinstance(split, DCTAugmentedSplit)
    assert (split.kind, split.window, split.eval_size) == ('highpass', 10, 0.2)
    assert 'train_split' not in net_overrides(
        get_table('dct_augmentation').rows['none'])


def test_unknown_table():
    with pytest.raises(UserError, match='unknown table'):
        get_table('pools')


def test_convnet_comparison_is_net1_to_net6_beside_the_study_s_logs():
    from experiments.summary import study_log_path
    from tests.conftest import shared_path
    rows = get_table('convnet_comparison').rows
    assert [(r.name, r.net, r.study_log, r.overrides, r.preprocess, r.augment)
            for r in rows.values()] == [
        ('net%d' % i, 'net%d' % i, 'w207final_net%d.csv' % i, {}, 'none', None)
        for i in range(1, 7)]
    # 750 epochs each, as the study's logs run.
    assert [row_epochs('convnet_comparison', r, 1.0) for r in rows.values()] \
        == [750] * 6
    shared_path('data', 'w207_logs')
    assert all(study_log_path(r) and study_log_path(r).endswith(r.study_log)
               for r in rows.values())
