"""python -m ec2.instance COMMAND: what ec2/bootstrap.sh asks of Python on the instance.

::

    python -m ec2.instance checkpoint --run-dir DIR   # archive + pointer (ec2.transfer)
    python -m ec2.instance final      --run-dir DIR   # every file, verified, upload.json last
    python -m ec2.instance restore    --run-dir DIR   # exit 0: restored; 3: nothing uploaded
    python -m ec2.instance relaunch   --reason TEXT   # exit 0: started; 3: refused (why)

The run (``--bucket``, ``--prefix``, ``--run-id``, ``--region``) comes from
the user-data's settings. Every error is one ``error:`` line: exit 2 for a
failure, 3 for "nothing to do" (no checkpoint yet, relaunch refused).
"""
import argparse
import sys
import traceback

from ec2 import aws, lifecycle, plan, transfer
from errors import UserError

NOTHING = 3


def parser():
    p = argparse.ArgumentParser(prog='python -m ec2.instance', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('command', choices=('checkpoint', 'final', 'restore', 'relaunch'))
    p.add_argument('--bucket', required=True)
    p.add_argument('--prefix', default=plan.DEFAULT_PREFIX)
    p.add_argument('--run-id', required=True)
    p.add_argument('--region', required=True)
    p.add_argument('--run-dir')
    p.add_argument('--epochs', type=int, help='the total the run trains to (for its progress)')
    p.add_argument('--instance-id', help='this instance (for the pointer)')
    p.add_argument('--reason', default='spot interruption')
    p.add_argument('--retry-delays', default=','.join('%g' % d for d in transfer.DEFAULT_DELAYS),
                   help='seconds between upload attempts, comma-separated')
    return p


def main(argv=None, api=None, out=None):
    options = parser().parse_args(argv)
    out = out or sys.stdout
    api = api or aws.Api(options.region)
    layout = plan.s3_layout(options.bucket, options.prefix, options.run_id)
    delays = [float(d) for d in options.retry_delays.split(',') if d.strip()]
    try:
        if options.command in ('checkpoint', 'final', 'restore') and not options.run_dir:
            raise UserError('%s needs --run-dir' % options.command)
        if options.command == 'checkpoint':
            pointer = transfer.upload_checkpoint(api, layout, options.bucket, options.run_dir,
                                                 options.epochs, options.instance_id, delays)
            if pointer is None:
                out.write('no checkpoint yet\n')
                return NOTHING
            out.write('checkpoint of epoch %d is up (%s)\n'
                      % (pointer['epoch'], pointer['current']['key']))
        elif options.command == 'final':
            record = transfer.upload_run(api, layout, options.bucket, options.run_dir,
                                         options.epochs, options.instance_id, delays)
            out.write('uploaded and verified %d files and the checkpoint\n'
                      % len(record['files']))
        elif options.command == 'restore':
            epoch = transfer.restore_checkpoint(api, layout, options.bucket, options.run_dir,
                                                delays)
            if epoch is None:
                out.write('no uploaded checkpoint: a fresh run\n')
                return NOTHING
            out.write('restored the checkpoint of epoch %d (verified)\n' % epoch)
        else:
            spec = lifecycle.load_spec(api, options.bucket, options.prefix, options.run_id)
            try:
                lifecycle.relaunch(api, spec, options.reason, out=out)
            except lifecycle.RelaunchRefused as exc:
                out.write('no relaunch: %s\n' % exc)
                return NOTHING
    except UserError as exc:
        sys.stderr.write('error: %s\n' % exc)
        return 2
    except Exception as exc:
        # On the instance every failure must leave a reason for the status line.
        if not aws.is_client_error(exc):
            traceback.print_exc()
        refused = 'AWS refused: ' if aws.is_client_error(exc) else ''
        sys.stderr.write('error: %s%s: %s\n' % (refused, type(exc).__name__, exc))
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
