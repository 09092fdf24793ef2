"""ec2/plan.py: the cost cap in the user-data, the estimate, what a dry run shows."""
import datetime
import os
import re
import subprocess

import pytest

from ec2_moto import launch, our_instances, put_data, run_id_of, start_argv, user_data_of
from ec2 import plan
from tests.conftest import REPO


def power_off_minutes(user_data):
    return int(re.search(r'shutdown -h \+(\d+) ', user_data).group(1))


def run_first_command(user_data, tmp_path):
    """Run the user-data's first command as an instance would (no --cpu), with stand-ins for
    shutdown and systemctl that record how they were called."""
    lines = user_data.splitlines()
    block = '\n'.join(lines[:lines.index('esac') + 1])
    bin_dir, units = tmp_path / 'bin', tmp_path / 'units'
    bin_dir.mkdir()
    units.mkdir()
    for tool in ('shutdown', 'systemctl'):
        path = bin_dir / tool
        path.write_text('#!/bin/sh\necho "%s $*" >> "%s"\n' % (tool, tmp_path / 'calls'))
        path.chmod(0o755)
    env = dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH']), KFKD_UNIT_DIR=str(units))
    subprocess.run(['bash', '-c', block, 'user-data'], env=env, check=True)
    return (tmp_path / 'calls').read_text().splitlines(), units


def test_the_first_command_of_the_user_data_schedules_the_power_off(aws, capsys, sent, tmp_path):
    put_data(aws)
    before = plan.utc()
    status, out, err = launch(capsys, *start_argv('--max-hours', '2.5', '--no-shutdown'))
    assert status == 0, err
    [instance] = our_instances(aws, run_id_of(out))
    user_data = user_data_of(aws, instance['InstanceId'])
    lines = user_data.splitlines()
    assert lines[0] == '#!/bin/bash' and lines[1] == 'case " $* " in'
    assert lines.index('esac') < lines.index('set -euo pipefail')
    assert 'KFKD_SHUTDOWN=0' in user_data          # --no-shutdown keeps the cap
    calls, units = run_first_command(user_data, tmp_path)
    assert power_off_minutes(user_data) in (149, 150)
    assert calls[0].startswith('shutdown -h +%d ' % power_off_minutes(user_data))
    assert calls[1:] == ['systemctl daemon-reload', 'systemctl enable --now kfkd-cost-cap.timer']
    deadline = re.search(r'power-off at (\S+)', calls[0]).group(1).rstrip("'")
    assert plan.parse_utc(deadline) - before < datetime.timedelta(hours=2.5, seconds=30)
    timer = (units / 'kfkd-cost-cap.timer').read_text()
    assert 'OnCalendar=%s UTC' % deadline.replace('T', ' ').rstrip('Z') in timer
    assert 'Persistent=true' in timer
    assert 'ExecStart=/bin/systemctl poweroff' in (units / 'kfkd-cost-cap.service').read_text()
    # Terminate on shutdown: the power-off ends the billing.
    [params] = [p for op, p in sent if op == 'RunInstances']
    assert params['InstanceInitiatedShutdownBehavior'] == 'terminate'
    attribute = aws.client('ec2').describe_instance_attribute(
        InstanceId=instance['InstanceId'], Attribute='instanceInitiatedShutdownBehavior')
    assert attribute['InstanceInitiatedShutdownBehavior']['Value'] == 'terminate'
    assert 'cost cap: every instance of the run powers off by %s (--max-hours 2.5); ' \
           'worst case $1.31' % deadline in out


def test_nothing_in_the_bootstrap_can_cancel_the_power_off():
    with open(os.path.join(REPO, 'ec2', 'bootstrap.sh')) as f:
        script = f.read()
    assert 'shutdown -c' not in script and 'systemctl stop kfkd-cost-cap' not in script
    assert 'systemctl disable' not in script
    assert script.splitlines()[1] == plan.POWER_OFF_MARKER


def test_a_dry_run_prints_the_deadline_and_the_worst_case(capsys):
    status, out, err = launch(capsys, *start_argv('--dry-run', '--sec-per-epoch', '7.2'))
    assert status == 0, err
    user_data = out.split('--- user-data (', 1)[1]
    assert user_data.split('\n')[2] == 'case " $* " in'
    # 3 epochs x 7.2 s + 15 min = 0.256 h; the default cap is twice that, rounded up: 0.6 h.
    assert power_off_minutes(user_data) in (35, 36)
    assert re.search(r'cost cap: every instance of the run powers off by \S+Z \(--max-hours '
                     r'0\.6, the default: 2 x the estimate\); worst case \$0\.32', out)


def test_the_default_cap_follows_the_net_and_its_epochs(capsys):
    status, out, err = launch(capsys, 'cnet_nplfxl', '--bucket', 'b-1', '--dry-run')
    assert status == 0, err
    # cnet_nplfxl: the study's 1000 epochs x 18.94 s + 15 min = 5.51 h; twice: 11.1 h.
    assert '--max-hours 11.1, the default' in out and 'worst case $5.84' in out
    assert 'for the run: 1000 epochs + 15 min setup = 5.51 h, $2.90' in out


def test_run_hours_and_the_default_cap():
    assert plan.run_hours(0, 1) == pytest.approx(0.25)
    assert plan.default_max_hours(1, 0.07) == 0.6
    assert plan.minutes_left(plan.parse_utc('2026-01-01T10:00:00Z'),
                             plan.parse_utc('2026-01-01T11:00:00Z')) == 0
