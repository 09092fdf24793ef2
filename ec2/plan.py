"""The launch plan: names, S3 layout, policies, cost and its cap, user-data, RunInstances.

Pure functions of a :class:`ec2.spec.LaunchSpec` (or of plain values): no
AWS call, no clock unless one is passed in. The launcher and the instance
(for a relaunch after a spot interruption) build the same plan with them.
"""
import datetime
import math
import os
import shlex

from ec2 import catalog
from errors import UserError

__all__ = ['PROJECT', 'TAG_PROJECT', 'TAG_RUN', 'IAM_PATH', 'NAME_PREFIX', 'DEFAULT_PREFIX',
           'DEFAULT_AMI_PARAMETER', 'BOOTSTRAP', 'run_names', 's3_layout', 'tags_for',
           'new_run_id', 'role_policy', 'EC2_TRUST_POLICY', 'sec_per_epoch_estimate',
           'price_per_hour', 'run_hours', 'default_max_hours', 'estimate_cost', 'format_cost',
           'format_cap', 'minutes_left', 'power_off_block', 'user_data_config',
           'render_user_data', 'run_instances_params', 'restarts_since_manual', 'hours_used',
           'parse_status', 'TERMINAL_STATES', 'utc', 'parse_utc']

PROJECT = 'w207-facial-keypoints'
TAG_PROJECT = 'kfkd:project'
TAG_RUN = 'kfkd:run'
IAM_PATH = '/kfkd-ec2/'
NAME_PREFIX = 'kfkd-'
DEFAULT_PREFIX = 'kfkd'
# Named as the DLAMI guide says: the AMI's name without "Deep", "Learning", "AMI".
DEFAULT_AMI_PARAMETER = ('/aws/service/deeplearning/ami/x86_64/'
                         'base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id')
BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bootstrap.sh')
USER_DATA_LIMIT = 16 * 1024
CONFIG_MARKER = '# @CONFIG@'
POWER_OFF_MARKER = '# @POWER_OFF@'
#: Two archive slots: a checkpoint upload writes the one the pointer does not name.
CHECKPOINT_SLOTS = ('a', 'b')
#: Statuses after which the bootstrap of an attempt does nothing more.
TERMINAL_STATES = ('done', 'failed', 'interrupted', 'upload-failed')


def run_names(run_id):
    """run_names(run_id) -> dict

    The names of what a run creates: one security group, role and instance
    profile per run, all called ``kfkd-<run_id>``.

    >>> run_names('net6-20250101-120000')['role']
    'kfkd-net6-20250101-120000'
    """
    name = NAME_PREFIX + run_id
    return {'security_group': name, 'role': name, 'instance_profile': name,
            'policy': 'kfkd-s3-run-access'}


def s3_layout(bucket, prefix, run_id):
    """s3_layout(bucket, prefix, run_id) -> dict of keys

    The run folder is ``runs/RUN/`` (fetched as it is); what the launcher
    and the bootstrap keep about it is under ``runs/RUN/ec2/``.

    >>> layout = s3_layout('b', 'kfkd', 'net6-1')
    >>> layout['run'], layout['pointer']
    ('kfkd/runs/net6-1/', 'kfkd/runs/net6-1/ec2/checkpoint.json')
    >>> layout['archives']['b']
    'kfkd/runs/net6-1/ec2/checkpoint-b.tar'
    """
    base = prefix.strip('/') + '/' if prefix.strip('/') else ''
    run = base + 'runs/%s/' % run_id
    side = run + 'ec2/'
    return {'data': base + 'data/', 'run': run, 'code': base + 'code/%s.tar.gz' % run_id,
            'launch': side + 'launch.json', 'attempts': side + 'attempts.json',
            'status': side + 'status.txt', 'log': side + 'bootstrap.log',
            'device': side + 'device.json', 'pointer': side + 'checkpoint.json',
            'upload': side + 'upload.json',
            'archives': {slot: side + 'checkpoint-%s.tar' % slot for slot in CHECKPOINT_SLOTS}}


def tags_for(run_id):
    return [{'Key': TAG_PROJECT, 'Value': PROJECT}, {'Key': TAG_RUN, 'Value': run_id},
            {'Key': 'Name', 'Value': NAME_PREFIX + run_id}]


def new_run_id(net, now=None):
    """new_run_id(net, now=None) -> '<net>-<YYYYmmdd-HHMMSS>' (UTC), as run folders are named.

    >>> new_run_id('net6', datetime.datetime(2025, 1, 2, 3, 4, 5))
    'net6-20250102-030405'
    """
    now = now or utc()
    return '%s-%s' % (net, now.strftime('%Y%m%d-%H%M%S'))


def role_policy(bucket, layout, partition='aws', kaggle_parameter_arn=None, relaunch=None):
    """role_policy(bucket, layout, partition='aws', kaggle_parameter_arn=None, relaunch=None)

    Least privilege for the instance: read the data prefix, its own code
    tarball and its own run prefix (to resume); write only its own run
    prefix. ``relaunch`` (a dict of ``region``, ``account``, ``role_arn``,
    ``security_group_id``, ``instance_type``) adds what a spot instance needs
    to start its own successor: RunInstances of that one type, tagged with
    its run, in its own security group, passing only its own role.

    >>> policy = role_policy('b', s3_layout('b', 'kfkd', 'r'))
    >>> [s['Sid'] for s in policy['Statement']]
    ['ReadDataCodeAndOwnRun', 'WriteOwnRun', 'ListDataAndOwnRun']
    """
    arn = 'arn:%s:s3:::%s/' % (partition, bucket)
    statements = [
        {'Sid': 'ReadDataCodeAndOwnRun', 'Effect': 'Allow', 'Action': 's3:GetObject',
         'Resource': [arn + layout['data'] + '*', arn + layout['code'],
                      arn + layout['run'] + '*']},
        {'Sid': 'WriteOwnRun', 'Effect': 'Allow', 'Action': 's3:PutObject',
         'Resource': arn + layout['run'] + '*'},
        {'Sid': 'ListDataAndOwnRun', 'Effect': 'Allow', 'Action': 's3:ListBucket',
         'Resource': 'arn:%s:s3:::%s' % (partition, bucket),
         'Condition': {'StringLike': {'s3:prefix': [
             layout['data'], layout['data'] + '*', layout['run'], layout['run'] + '*']}}},
    ]
    if kaggle_parameter_arn:
        statements.append({'Sid': 'ReadKaggleToken', 'Effect': 'Allow',
                           'Action': 'ssm:GetParameter', 'Resource': kaggle_parameter_arn})
    if relaunch:
        ec2 = 'arn:%s:ec2:%s:' % (partition, relaunch['region'])
        own = ec2 + relaunch['account'] + ':'
        run_id = layout['run'].rstrip('/').rsplit('/', 1)[-1]
        launched = [own + 'instance/*', own + 'volume/*', own + 'spot-instances-request/*']
        statements += [
            {'Sid': 'RelaunchOwnRunInstance', 'Effect': 'Allow', 'Action': 'ec2:RunInstances',
             'Resource': launched,
             'Condition': {'StringEquals': {'aws:RequestTag/' + TAG_RUN: run_id,
                                            'ec2:InstanceType': relaunch['instance_type']}}},
            {'Sid': 'RelaunchWithOwnResources', 'Effect': 'Allow', 'Action': 'ec2:RunInstances',
             'Resource': [ec2 + ':image/*', own + 'subnet/*', own + 'network-interface/*',
                          own + 'key-pair/*',
                          own + 'security-group/' + relaunch['security_group_id']]},
            {'Sid': 'TagOnlyWhatItLaunches', 'Effect': 'Allow', 'Action': 'ec2:CreateTags',
             'Resource': launched,
             'Condition': {'StringEquals': {'ec2:CreateAction': 'RunInstances'}}},
            {'Sid': 'PassOnlyOwnRole', 'Effect': 'Allow', 'Action': 'iam:PassRole',
             'Resource': relaunch['role_arn'],
             'Condition': {'StringEquals': {'iam:PassedToService': 'ec2.amazonaws.com'}}},
        ]
    return {'Version': '2012-10-17', 'Statement': statements}


EC2_TRUST_POLICY = {'Version': '2012-10-17', 'Statement': [{
    'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'},
    'Action': 'sts:AssumeRole'}]}


# ---------------------------------------------------------------- cost and the cost cap

def sec_per_epoch_estimate(net):
    """sec_per_epoch_estimate(net) -> (seconds, where the figure comes from)

    The study's GRID K520 figure for the net, or for the longest known name
    it starts with, or the slowest net's figure when nothing matches.

    >>> sec_per_epoch_estimate('net6rhl')
    (3.01, 'GRID K520 log of net6 (2016)')
    """
    name = net.lower()
    for known in sorted(catalog.K520_SEC_PER_EPOCH, key=len, reverse=True):
        if name.startswith(known):
            return catalog.K520_SEC_PER_EPOCH[known], 'GRID K520 log of %s (2016)' % known
    return catalog.UNKNOWN_NET_SEC_PER_EPOCH, 'no log of %s: slowest net of the study' % net


def price_per_hour(region, instance_type, spot, given=None):
    """price_per_hour(region, instance_type, spot, given=None) -> (USD per hour or None, source)

    >>> price_per_hour('us-east-1', 'g4dn.xlarge', True)
    (0.526, 'on-demand price of 2025-06-01, us-east-1; spot is at most this')
    >>> price_per_hour('eu-west-1', 'g4dn.xlarge', False)[0] is None
    True
    """
    if given is not None:
        return float(given), 'given with --price-per-hour'
    known = catalog.INSTANCE_TYPES.get(instance_type)
    if known is None or region != catalog.PRICE_REGION:
        return None, 'no price of %s in %s here: pass --price-per-hour' % (instance_type, region)
    return known.usd_per_hour, 'on-demand price of %s, %s%s' % (
        known.price_read, catalog.PRICE_REGION, '; spot is at most this' if spot else '')


def run_hours(epochs, sec_per_epoch, setup_minutes=catalog.SETUP_MINUTES):
    """run_hours(epochs, sec_per_epoch, setup_minutes=15) -> hours of the whole run

    >>> round(run_hours(1000, 18.94), 2)
    5.51
    """
    return (epochs * sec_per_epoch + setup_minutes * 60) / 3600.0


def default_max_hours(epochs, sec_per_epoch):
    """default_max_hours(epochs, sec_per_epoch) -> hours, rounded up to a tenth

    :data:`ec2.catalog.CAP_FACTOR` times the estimated run, setup included:
    room for a slower GPU than estimated, not for a hang.

    >>> default_max_hours(750, 3.01)
    1.8
    """
    return math.ceil(catalog.CAP_FACTOR * run_hours(epochs, sec_per_epoch) * 10 - 1e-9) / 10.0


def estimate_cost(region, instance_type, spot, epochs, sec_per_epoch,
                  price_per_hour_given=None, setup_minutes=catalog.SETUP_MINUTES):
    """estimate_cost(...) -> dict(usd_per_hour, hours, usd, price_source)

    ``usd_per_hour`` is None when the type has no price here and none is
    given; ``hours`` is None without ``epochs``.

    >>> c = estimate_cost('us-east-1', 'g4dn.xlarge', False, 1000, 3.6)
    >>> round(c['hours'], 2), round(c['usd'], 3)
    (1.25, 0.657)
    """
    usd_per_hour, source = price_per_hour(region, instance_type, spot, price_per_hour_given)
    hours = None if epochs is None else run_hours(epochs, sec_per_epoch, setup_minutes)
    usd = None if hours is None or usd_per_hour is None else hours * usd_per_hour
    return {'usd_per_hour': usd_per_hour, 'hours': hours, 'usd': usd, 'price_source': source}


def format_cost(cost, sec_per_epoch, sec_source, epochs):
    """format_cost(cost, sec_per_epoch, sec_source, epochs) -> the estimate's lines"""
    lines = ['cost estimate (an estimate, not a quote):']
    if cost['usd_per_hour'] is None:
        lines.append('  per hour: unknown (%s)' % cost['price_source'])
    else:
        lines.append('  per hour: $%.3f (%s)' % (cost['usd_per_hour'], cost['price_source']))
    lines.append('  seconds per epoch: %.2f (%s)' % (sec_per_epoch, sec_source))
    lines.append('  for the run: %d epochs + %.0f min setup = %.2f h%s' % (
        epochs, catalog.SETUP_MINUTES, cost['hours'],
        '' if cost['usd'] is None else ', $%.2f' % cost['usd']))
    return '\n'.join(lines)


def format_cap(max_hours, deadline, usd_per_hour, default):
    """format_cap(max_hours, deadline, usd_per_hour, default) -> the cost cap's line

    >>> print(format_cap(1.8, datetime.datetime(2026, 1, 1, 13, 48), 0.526, True))
    ... # doctest: +NORMALIZE_WHITESPACE
    cost cap: every instance of the run powers off by 2026-01-01T13:48:00Z (--max-hours 1.8,
    the default: 2 x the estimate); worst case $0.95
    """
    return 'cost cap: every instance of the run powers off by %s (--max-hours %g%s); %s' % (
        iso(deadline), max_hours,
        ', the default: %g x the estimate' % catalog.CAP_FACTOR if default else '',
        'worst case $%.2f' % (max_hours * usd_per_hour) if usd_per_hour is not None
        else 'worst case unknown (no price: pass --price-per-hour)')


def minutes_left(deadline, now):
    """minutes_left(deadline, now) -> whole minutes from ``now`` to ``deadline`` (never below 0)

    >>> minutes_left(datetime.datetime(2026, 1, 1, 12, 30, 30), datetime.datetime(2026, 1, 1, 12))
    30
    """
    return max(0, int((deadline - now).total_seconds() // 60))


def power_off_block(minutes, deadline):
    """power_off_block(minutes, deadline) -> the user-data's first command

    A ``case`` that, unless the script runs with ``--cpu`` (a developer's
    machine), schedules the power-off at once (``shutdown -h +MINUTES``,
    kept by systemd whatever the script does next: no step of the bootstrap
    cancels it) and then repeats the deadline as a timer that survives a
    reboot (in ``$KFKD_UNIT_DIR``, /etc/systemd/system unless a test says
    otherwise). The instance's shutdown behaviour is terminate.

    >>> print(power_off_block(108, datetime.datetime(2026, 1, 1, 13, 48)).splitlines()[2])
      *) shutdown -h +108 'kfkd cost cap: power-off at 2026-01-01T13:48:00Z'
    """
    when = deadline.strftime('%Y-%m-%d %H:%M:%S UTC')
    units = '"${KFKD_UNIT_DIR:-/etc/systemd/system}/kfkd-cost-cap'
    return '\n'.join([
        'case " $* " in',
        '  *" --cpu "*) echo "kfkd: no power-off scheduled (--cpu)" ;;',
        "  *) shutdown -h +%d 'kfkd cost cap: power-off at %s'" % (minutes, iso(deadline)),
        "     printf '[Timer]\\nOnCalendar=%s\\nPersistent=true\\n[Install]\\n"
        "WantedBy=timers.target\\n' > %s.timer\"" % (when, units),
        "     printf '[Service]\\nType=oneshot\\nExecStart=/bin/systemctl poweroff\\n' >"
        ' %s.service"' % units,
        '     { systemctl daemon-reload && systemctl enable --now kfkd-cost-cap.timer; }'
        ' || true ;;',
        'esac'])


# ---------------------------------------------------------------- user-data

def user_data_config(spec, deadline):
    """user_data_config(spec, deadline) -> {KFKD_* name: value} the bootstrap reads

    ``KFKD_ARGS`` are the options of a fresh ``run_experiment.py`` run,
    shell-quoted; ``KFKD_EPOCHS`` the total a resumed one trains to;
    ``KFKD_DEADLINE`` the cost cap's power-off (for the self-test's warning).
    No secret belongs here: user-data is readable by anyone who can describe
    the instance; the Kaggle token stays in SSM.
    """
    layout = spec.layout
    return {
        'KFKD_RUN_ID': spec.run_id, 'KFKD_NET': spec.net, 'KFKD_REGION': spec.region,
        'KFKD_BUCKET': spec.bucket, 'KFKD_PREFIX': spec.prefix,
        'KFKD_ARGS': ' '.join(shlex.quote(a) for a in spec.run_experiment_args()),
        'KFKD_S3_RUN': 's3://%s/%s' % (spec.bucket, layout['run'].rstrip('/')),
        'KFKD_S3_CODE': 's3://%s/%s' % (spec.bucket, layout['code']),
        'KFKD_S3_DATA': 's3://%s/%s' % (spec.bucket, layout['data'].rstrip('/')),
        'KFKD_DATA_SOURCE': spec.data_source,
        'KFKD_KAGGLE_PARAMETER': spec.kaggle_token_parameter or '',
        'KFKD_SHUTDOWN': '1' if spec.shutdown else '0',
        'KFKD_EPOCHS': str(spec.epochs),
        'KFKD_CUDNN': '1' if spec.cudnn else '0', 'KFKD_DEADLINE': iso(deadline),
        'KFKD_PRICE_PER_HOUR': '' if spec.usd_per_hour is None else '%g' % spec.usd_per_hour,
    }


def render_user_data(config, power_off, bootstrap_path=BOOTSTRAP):
    """render_user_data(config, power_off, bootstrap_path=BOOTSTRAP) -> str

    ``ec2/bootstrap.sh`` with ``power_off`` (:func:`power_off_block`) as its
    first command, at the ``# @POWER_OFF@`` line right under the shebang,
    and the run's settings written in at its ``# @CONFIG@`` line, values
    shell-quoted.
    """
    with open(bootstrap_path) as f:
        script = f.read()
    first, rest = script.split('\n', 1)
    if not first.startswith('#!') or not rest.startswith(POWER_OFF_MARKER + '\n') \
            or CONFIG_MARKER not in rest:
        raise RuntimeError('%s must start with a shebang, then %s; and hold %s'
                           % (bootstrap_path, POWER_OFF_MARKER, CONFIG_MARKER))
    rest = power_off + rest[len(POWER_OFF_MARKER):]
    lines = ['%s=%s' % (key, shlex.quote(str(value))) for key, value in sorted(config.items())]
    user_data = first + '\n' + rest.replace(CONFIG_MARKER, '\n'.join(lines), 1)
    size = len(user_data.encode('utf-8'))
    if size > USER_DATA_LIMIT:
        raise UserError('user-data is %d bytes, over the 16 KB EC2 limit: '
                        'shorten the run_experiment options' % size)
    return user_data


def run_instances_params(spec, image_id, security_group_id, instance_profile_arn, user_data):
    """run_instances_params(spec, image_id, security_group_id, instance_profile_arn, user_data)

    The RunInstances parameters of one attempt of the run: IMDSv2 only,
    shutdown behaviour terminate (the cost cap's power-off ends the
    billing), one-time spot with no maximum price unless on demand, tags on
    the instance, its volume and its spot request.
    """
    tags = tags_for(spec.run_id)
    params = dict(
        ImageId=image_id, InstanceType=spec.instance_type, MinCount=1, MaxCount=1,
        UserData=user_data, SecurityGroupIds=[security_group_id],
        IamInstanceProfile={'Arn': instance_profile_arn},
        MetadataOptions={'HttpTokens': 'required', 'HttpEndpoint': 'enabled',
                         'HttpPutResponseHopLimit': 1},
        InstanceInitiatedShutdownBehavior='terminate',
        TagSpecifications=[{'ResourceType': 'instance', 'Tags': tags},
                           {'ResourceType': 'volume', 'Tags': tags}])
    if spec.spot:
        params['InstanceMarketOptions'] = {'MarketType': 'spot', 'SpotOptions': {
            'SpotInstanceType': 'one-time', 'InstanceInterruptionBehavior': 'terminate'}}
        params['TagSpecifications'].append(
            {'ResourceType': 'spot-instances-request', 'Tags': tags})
    if spec.subnet_id:
        params['SubnetId'] = spec.subnet_id
    if spec.key_name:
        params['KeyName'] = spec.key_name
    return params


# ---------------------------------------------------------------- attempts and statuses

def restarts_since_manual(attempts):
    """restarts_since_manual(attempts) -> automatic relaunches since the last launch or resume

    >>> restarts_since_manual([{'kind': 'launch'}, {'kind': 'spot-relaunch'},
    ...                        {'kind': 'resume'}, {'kind': 'spot-relaunch'}])
    1
    """
    count = 0
    for attempt in attempts:
        count = count + 1 if attempt['kind'] == 'spot-relaunch' else 0
    return count


def hours_used(attempts, now, last_end=None):
    """hours_used(attempts, now, last_end=None) -> instance-hours of the run so far

    Each attempt counts from its launch to its ``ended_at``; the last one to
    ``last_end`` (when its status says it ended) or to ``now``, and never
    past its deadline (the power-off).

    >>> t = datetime.datetime(2026, 1, 1, 12)
    >>> attempts = [{'launched_at': '2026-01-01T10:00:00Z', 'ended_at': '2026-01-01T11:00:00Z',
    ...              'deadline': '2026-01-01T20:00:00Z'},
    ...             {'launched_at': '2026-01-01T11:30:00Z', 'deadline': '2026-01-01T20:00:00Z'}]
    >>> hours_used(attempts, t)
    1.5
    """
    total = 0.0
    for index, attempt in enumerate(attempts):
        end = attempt.get('ended_at')
        end = parse_utc(end) if end else (last_end if index == len(attempts) - 1 and last_end
                                          else now)
        end = min(end, parse_utc(attempt['deadline']))
        total += max(0.0, (end - parse_utc(attempt['launched_at'])).total_seconds() / 3600.0)
    return total


def parse_status(line):
    """parse_status(line) -> (time or None, state, detail) of a ``status.txt`` line

    >>> parse_status('2026-01-01T12:00:00Z done: run folder in s3://b/r')
    (datetime.datetime(2026, 1, 1, 12, 0), 'done', 'run folder in s3://b/r')
    >>> parse_status("2026-01-01T12:00:00Z running: training")[1:]
    ('running', 'training')
    """
    line = (line or '').strip()
    when, _, rest = line.partition(' ')
    try:
        moment = parse_utc(when)
    except ValueError:
        moment, rest = None, line
    state, _, detail = rest.partition(':')
    return moment, state.strip().split(' ')[0], detail.strip()


def utc(moment=None):
    """utc(moment=None) -> a naive datetime in UTC: now, or ``moment`` converted"""
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def iso(moment):
    """iso(moment) -> 'YYYY-mm-ddTHH:MM:SSZ'

    >>> iso(datetime.datetime(2026, 1, 1, 12, 0, 5, 123))
    '2026-01-01T12:00:05Z'
    """
    return utc(moment).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_utc(text):
    """parse_utc(text) -> naive UTC datetime of an :func:`iso` string"""
    return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')
