"""The command line ``ec2/launch``: put a training run on an EC2 GPU instance, watch it, fetch it.

::

    ec2/launch NET [--epochs N] [--bucket B] [--max-hours H] [--dry-run] [-- RUN_OPTIONS]
    ec2/launch status [RUN] | logs RUN [--follow] | fetch RUN | resume RUN | terminate RUN
    ec2/launch cleanup
    ec2/launch cluster-setup --bucket B --ssh-from CIDR [--out FILE] | cluster-teardown

The options become one :class:`ec2.spec.LaunchSpec`, checked
(:mod:`ec2.preflight`) before any AWS call; :mod:`ec2.lifecycle` creates
and removes the instances, :mod:`ec2.progress` reads what a run uploads.
Everything the launcher creates carries the tags ``kfkd:project`` and
``kfkd:run`` (IAM objects also live under the path ``/kfkd-ec2/``), so
``terminate`` and ``cleanup`` find them from any machine; the only state is
in AWS and under ``s3://BUCKET/PREFIX/runs/RUN/ec2/``.
"""
import argparse
import os
import sys

import nets
import run_experiment
from ec2 import aws, catalog, cluster, lifecycle, plan, preflight, progress
from ec2.spec import LAUNCH_OPTIONS, LaunchSpec
from errors import UserError, command_line
from option_types import (finite_positive, non_negative_int, positive_int, price,
                          seed)

__all__ = ['main', 'parse_args', 'run_command', 'build_parser', 'COMMANDS']

COMMANDS = ('start', 'status', 'logs', 'fetch', 'terminate', 'cleanup', 'resume')
CLUSTER_COMMANDS = ('cluster-setup', 'cluster-teardown')   # the Ray cluster's (ec2/cluster.py)
COMMANDS += CLUSTER_COMMANDS
DRY_RUN_COMMANDS = ('start', 'terminate', 'cleanup') + CLUSTER_COMMANDS
new_run_id = plan.new_run_id   # (the tests fix it to make two launches collide)


def _launch_options(parser, resume=False):
    """The options of an attempt; for ``resume`` none has a default (launch.json's stay)."""
    default = (lambda value: argparse.SUPPRESS) if resume else (lambda value: value)
    keep = ' (default: as the run was launched)' if resume else ''
    add = parser.add_argument
    add('--instance-type', default=default(catalog.DEFAULT_INSTANCE_TYPE),
        help='one of %s%s' % (preflight.supported_types(), keep or ' (default %(default)s)'))
    add('--on-demand', dest='on_demand', action='store_true', default=default(False),
        help='on-demand instead of spot (spot has no maximum price)' + keep)
    if resume:
        add('--spot', dest='on_demand', action='store_false', default=argparse.SUPPRESS,
            help='spot again after an --on-demand launch')
    add('--ami-parameter', default=default(plan.DEFAULT_AMI_PARAMETER),
        help='SSM parameter holding the AMI id' + (keep or ' (default: %(default)s)'))
    add('--ssh-from', metavar='CIDR', default=default(None),
        help='allow SSH from this CIDR (default: no inbound rule)')
    add('--key-name', default=default(None), help='EC2 key pair for SSH')
    add('--subnet-id', default=default(None), help='subnet (default: the default VPC)')
    add('--no-shutdown', dest='shutdown', action='store_false', default=default(True),
        help='keep the instance up when the run ends (the cost cap still powers it off)')
    add('--price-per-hour', type=price, default=default(None),
        help='USD per hour, for the estimate and the worst-case cost')
    add('--sec-per-epoch', type=finite_positive, default=default(None),
        help='seconds per epoch, for the estimate and the default --max-hours')
    add('--max-hours', type=finite_positive, default=default(None),
        help='cost cap: every instance of the run powers off this many hours after the '
             'launch (default: %g x the estimate)' % catalog.CAP_FACTOR)
    add('--max-restarts', type=non_negative_int, default=default(3),
        help='automatic relaunches after spot interruptions (default %(default)s)'
        if not resume else 'automatic relaunches after spot interruptions' + keep)
    add('--epochs', type=positive_int, default=default(None),
        help="epochs to train (default: the study's for the net)" if not resume
        else 'raise the total number of epochs of the run')


def build_parser():
    parser = argparse.ArgumentParser(
        prog='ec2/launch', description='Train a net on an EC2 GPU instance; results via S3.')
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--region', default=(os.environ.get('AWS_REGION')
                                             or os.environ.get('AWS_DEFAULT_REGION')
                                             or 'us-east-1'))
    common.add_argument('--bucket', default=os.environ.get('KFKD_BUCKET'),
                        help='S3 bucket for data and results (default $KFKD_BUCKET)')
    common.add_argument('--prefix', default=os.environ.get('KFKD_PREFIX', plan.DEFAULT_PREFIX),
                        help='key prefix in the bucket (default %(default)s)')
    common.add_argument('--dry-run', action='store_true',
                        help='print every AWS call instead of making it (%s)'
                        % ', '.join(DRY_RUN_COMMANDS))
    commands = parser.add_subparsers(dest='command')

    start = commands.add_parser('start', parents=[common],
                                help='launch a run (the default command)')
    start.add_argument('net')
    _launch_options(start)
    start.add_argument('--preprocess')
    start.add_argument('--seed', type=seed)
    start.add_argument('--cudnn', action='store_true',
                       help="cuDNN's convolutions (KFKD_CUDNN=1); default: Theano's own, "
                            'as the study ran')
    start.add_argument('--data', choices=['s3', 'synthetic'], default='s3',
                       help='s3: Kaggle files under PREFIX/data/ (default)')
    start.add_argument('--upload-data', metavar='DIR',
                       help='first upload the Kaggle files in DIR to PREFIX/data/')
    start.add_argument('--kaggle-token-parameter', metavar='NAME',
                       help='SSM SecureString holding kaggle.json: download from Kaggle')

    resume = commands.add_parser('resume', parents=[common],
                                 help='relaunch a run by hand; it resumes from its last '
                                      'checkpoint with the options it was launched with')
    resume.add_argument('run')
    _launch_options(resume, resume=True)
    for name, text in (('status', 'instances and progress'),
                       ('logs', "the bootstrap's log"),
                       ('fetch', 'download the run folder'),
                       ('terminate', "remove the run's instance and resources")):
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument('run', nargs='?' if name == 'status' else None)
        if name == 'fetch':
            sub.add_argument('--dest', help='local folder (default runs/RUN)')
        if name == 'logs':
            sub.add_argument('--follow', action='store_true',
                             help='keep printing until the bootstrap ends')
            sub.add_argument('--interval', type=float, default=10.0,
                             help='seconds between looks with --follow (default %(default)s)')
    commands.add_parser('cleanup', parents=[common],
                        help='remove every resource of every run (results in S3 stay)')
    setup = commands.add_parser('cluster-setup', parents=[common],
                                help="the Ray cluster's security groups, roles and instance "
                                     'profiles, and a ready ray-cluster.yaml')
    setup.add_argument('--ssh-from', metavar='CIDR',
                       help='the one address the head accepts SSH from (e.g. 203.0.113.7/32)')
    setup.add_argument('--out', default='ray-cluster.yaml',
                       help='the yaml to write (default %(default)s; `ray up` it)')
    setup.add_argument('--ami-parameter', default=plan.DEFAULT_AMI_PARAMETER,
                       help='SSM parameter holding the AMI id (default: %(default)s)')
    commands.add_parser('cluster-teardown', parents=[common],
                        help="remove what cluster-setup made (stop the cluster first: "
                             '`ray down`)')
    return parser


def parse_args(argv):
    """parse_args(argv) -> options; ``start`` is implied, and what follows ``--``
    goes to run_experiment.py as it is."""
    argv = list(argv)
    run_args = []
    if '--' in argv:
        run_args = argv[argv.index('--') + 1:]
        argv = argv[:argv.index('--')]
    if argv and argv[0] not in COMMANDS and argv[0] not in ('-h', '--help'):
        argv.insert(0, 'start')
    options = build_parser().parse_args(argv)
    if options.command is None:
        build_parser().error('name a net to launch, or a command: ' + ', '.join(COMMANDS))
    if run_args and options.command != 'start':
        build_parser().error('options after -- go with a new run only')
    options.run_args = run_args
    return options


def make_api(region, dry_run=False):
    return aws.DryRun(region) if dry_run else aws.Api(region)


def start_spec(options):
    """start_spec(options) -> the checked :class:`LaunchSpec` of ``ec2/launch NET ...``"""
    nets.net_builder(options.net)   # an unknown net: one line naming the known ones
    spec = LaunchSpec.from_options(options, new_run_id(options.net),
                                   nets.default_epochs(options.net))
    preflight.check_spec(spec)
    # The run's own options, refused here as run_experiment.py on the
    # instance would refuse them (after the launch, and the bill).
    run_experiment.check_options([spec.net] + spec.run_experiment_args())
    return spec


def resume_spec(api, options):
    """resume_spec(api, options) -> the run's saved specification with the options given now

    Every option of the launch (``launch.json``) stays unless this command
    line gives it again; the cost cap (``--max-hours``, the same unless
    given) counts from this launch.
    """
    saved = lifecycle.load_spec(api, options.bucket, options.prefix, options.run)
    changes = {name: getattr(options, name) for name in LAUNCH_OPTIONS
               if hasattr(options, name) and name != 'spot'}
    if hasattr(options, 'on_demand'):
        changes['spot'] = not options.on_demand
    spec = saved.replace(**changes)
    preflight.check_spec(spec)
    return spec


def run_command(options, out=None):
    out = out or sys.stdout
    if options.dry_run and options.command not in DRY_RUN_COMMANDS:
        raise UserError('--dry-run goes with %s' % ', '.join(DRY_RUN_COMMANDS))
    if options.command == 'start':
        spec = start_spec(options)   # before any AWS call
        api = make_api(spec.region, options.dry_run)
        return lifecycle.launch(api, spec, out, data_folder=options.upload_data)
    api = make_api(options.region, options.dry_run)
    if options.command == 'resume':
        preflight.check_bucket_name(options.bucket)
        spec = resume_spec(api, options)
        if spec.region != api.region:
            api = make_api(spec.region)
        if lifecycle.find_instances(api, spec.run_id, ['pending', 'running']):
            raise UserError('run %s still has a running instance: see '
                            '`ec2/launch status %s`' % (spec.run_id, spec.run_id))
        lifecycle.terminate(api, spec.run_id, out=out)   # leftovers of the last attempt
        return lifecycle.launch(api, spec, out, kind='resume')
    if options.command == 'status':
        return progress.status(api, options.run, options.bucket, options.prefix, out)
    if options.command == 'logs':
        return progress.logs(api, options.run, options.bucket, options.prefix,
                             options.follow, out, options.interval)
    if options.command == 'fetch':
        return progress.fetch(api, options.run, options.bucket, options.prefix, options.dest,
                              out)
    if options.command == 'terminate':
        return lifecycle.terminate(api, options.run, out)
    if options.command == 'cleanup':
        return lifecycle.terminate(api, None, out)
    if options.command == 'cluster-setup':
        preflight.check_bucket_name(options.bucket)
        return cluster.setup(api, options.bucket, options.ssh_from, out, options.out,
                             options.prefix, options.ami_parameter)
    if options.command == 'cluster-teardown':
        return cluster.teardown(api, out)
    raise AssertionError(options.command)


def main(argv=None):
    """main(argv=None) -> the exit status: 0; 2 for what the user can fix (an
    option, AWS refusing a call, AWS out of reach, a path); 130 for Ctrl-C"""
    options = parse_args(sys.argv[1:] if argv is None else argv)

    def body():
        run_command(options)
    return command_line(body)


if __name__ == '__main__':
    sys.exit(main())
