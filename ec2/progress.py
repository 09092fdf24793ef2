"""Watching a run from anywhere: its status, its log, and fetching its run folder.

Everything comes from what the run keeps in S3 (``runs/RUN/ec2/``: the
bootstrap's status line and log, the checkpoint pointer with the progress,
the attempts, the self-test's ``device.json``) and from EC2's view of its
instances, so ``status`` works from any machine while the run trains.
"""
import os
import sys
import time

from ec2 import aws, lifecycle, plan, preflight, transfer
from ec2.spec import LaunchSpec
from errors import UserError

__all__ = ['status', 'logs', 'fetch']


def _describe_instances(instances, now, out):
    for i in instances:
        launched = i.get('LaunchTime')
        hours = ((now - plan.utc(launched)).total_seconds() / 3600.0
                 if launched is not None and hasattr(launched, 'tzinfo') else None)
        out.write('%s %s %s %s %s%s\n' % (
            lifecycle.tag_of(i, plan.TAG_RUN), i['InstanceId'], i['InstanceType'],
            i['State']['Name'], i.get('InstanceLifecycle', 'on-demand'),
            '' if hours is None else ' up %.2f h' % hours))


def status(api, run_id, bucket, prefix, out=None, now=None):
    """status(api, run_id, bucket, prefix, out=None, now=None) -> dict

    The run's instances (or every run's, without ``run_id``) and, with a
    bucket, its progress: the bootstrap's status, the epoch, losses and
    seconds per epoch of the last uploaded checkpoint, the ETA, the
    restarts, the cost so far and the cost cap.
    """
    out = out or sys.stdout
    now = plan.utc(now)
    instances = lifecycle.find_instances(api, run_id)
    _describe_instances(instances, now, out)
    if not instances:
        out.write('no instance%s\n' % (' for run %s' % run_id if run_id else ''))
    report = {'instances': instances}
    if not (run_id and bucket):
        return report
    layout = plan.s3_layout(bucket, prefix, run_id)
    line = (aws.read_bytes(api, bucket, layout['status']) or b'').decode('utf-8', 'replace')
    when, state, detail = plan.parse_status(line)
    out.write('bootstrap status: %s\n' % (line.strip() or 'nothing uploaded yet'))
    report.update(bootstrap_status=line.strip() or None, state=state or None)

    pointer = aws.read_json(api, bucket, layout['pointer'])
    if pointer:
        report['progress'] = pointer
        out.write('progress: %s\n' % _progress_line(pointer))
    history = (aws.read_bytes(api, bucket, layout['run'] + 'history.csv') or b'').decode()
    last = history.strip().splitlines()[-1] if history.strip() else None
    if last and not last.startswith('epoch'):
        out.write('last epoch (epoch,train_loss,valid_loss,...): %s\n' % last)
    report['last_epoch'] = last

    saved = aws.read_json(api, bucket, layout['launch'])
    spec = LaunchSpec.from_json(saved) if saved and saved.get('version') else None
    attempts = (aws.read_json(api, bucket, layout['attempts']) or {}).get('attempts', [])
    device = aws.read_json(api, bucket, layout['device'])
    if device:
        out.write('self-test: %s on %s, %s s/batch, predicted %s s/epoch and %s h%s\n' % (
            device.get('net'), (device.get('gpu') or {}).get('name') or device.get('device'),
            _num(device.get('s_per_batch'), '%.4f'),
            _num(device.get('predicted_s_per_epoch'), '%.2f'),
            _num(device.get('predicted_hours'), '%.2f'),
            '; it cannot finish before the cost cap' if device.get('fits_deadline') is False
            else ''))
    if spec and attempts:
        live = [i for i in instances if i['State']['Name'] in ('pending', 'running')]
        # The status line ends the last attempt only when that instance is gone.
        last_live = any(i['InstanceId'] == attempts[-1]['instance_id'] for i in live)
        ended = when if state in plan.TERMINAL_STATES and not last_live else None
        hours = plan.hours_used(attempts, now, last_end=ended)
        usd = spec.usd_per_hour
        restarts = plan.restarts_since_manual(attempts)
        out.write('restarts: %d of %d (automatic, after spot interruptions); %d attempt%s\n'
                  % (restarts, spec.max_restarts, len(attempts),
                     '' if len(attempts) == 1 else 's'))
        out.write('cost so far: %.2f instance-hours%s\n' % (
            hours, ', at most $%.2f (on-demand price; spot is less)' % (hours * usd)
            if usd is not None else ''))
        deadline = plan.parse_utc(attempts[-1]['deadline'])
        out.write('cost cap: powers off by %s (%.2f h left)\n'
                  % (plan.iso(deadline), max(0.0, (deadline - now).total_seconds() / 3600.0)))
        report.update(restarts=restarts, hours=hours, cost_usd=usd and hours * usd)
        if not live and state not in plan.TERMINAL_STATES:
            out.write('warning: no instance runs and the status is not final: the run was '
                      'lost mid-way; `ec2/launch resume %s` continues from its last '
                      'checkpoint\n' % run_id)
    out.write('bootstrap log: s3://%s/%s (ec2/launch logs %s --follow)\n'
              % (bucket, layout['log'], run_id))
    return report


def _num(value, fmt):
    return '?' if value is None else fmt % value


def _progress_line(pointer):
    """One line of a checkpoint pointer's progress."""
    epoch, total = pointer.get('epoch'), pointer.get('epochs_total')
    sec = pointer.get('sec_per_epoch')
    parts = ['epoch %s%s' % (epoch, ' of %s' % total if total else '')]
    if pointer.get('train_loss') is not None:
        parts.append('train loss %.5f, valid loss %.5f' % (pointer['train_loss'],
                                                           pointer['valid_loss']))
    if sec:
        parts.append('%.2f s/epoch' % sec)
        if total:
            parts.append('ETA %.2f h' % (max(0, total - epoch) * sec / 3600.0))
    parts.append('checkpoint uploaded %s' % pointer.get('written_at'))
    return '; '.join(parts)


def logs(api, run_id, bucket, prefix, follow=False, out=None, interval=10.0, sleep=time.sleep):
    """logs(api, run_id, bucket, prefix, follow=False, out=None, interval=10) -> bytes shown

    Print the bootstrap log as S3 holds it (the instance uploads it every
    minute); with ``follow``, keep printing what is added until the
    bootstrap's status is final.
    """
    out = out or sys.stdout
    preflight.check_bucket_name(bucket)
    layout = plan.s3_layout(bucket, prefix, run_id)
    shown = 0
    while True:
        piece = aws.read_bytes(api, bucket, layout['log'], start=shown)
        if piece is None and not follow:
            raise UserError('no log of run %s yet under s3://%s/%s'
                            % (run_id, bucket, layout['log']))
        if piece:
            out.write(piece.decode('utf-8', 'replace'))
            out.flush()
            shown += len(piece)
        if not follow:
            return shown
        line = (aws.read_bytes(api, bucket, layout['status']) or b'').decode('utf-8', 'replace')
        if plan.parse_status(line)[1] in plan.TERMINAL_STATES and not piece:
            out.write('--- status: %s\n' % line.strip())
            return shown
        sleep(interval)


def fetch(api, run_id, bucket, prefix, dest=None, out=None):
    """fetch(api, run_id, bucket, prefix, dest=None) -> local folder

    Downloads ``s3://bucket/prefix/runs/RUN/`` to ``dest`` (default
    ``runs/RUN``), each file written beside its place then renamed; the
    checkpoint comes from its verified archive (not the archives
    themselves); files listed in ``ec2/upload.json`` are checked against
    their SHA-256.
    """
    out = out or sys.stdout
    preflight.check_bucket_name(bucket)
    layout = plan.s3_layout(bucket, prefix, run_id)
    keys = aws.list_keys(api, bucket, layout['run'])
    if not keys:
        raise UserError('nothing under s3://%s/%s yet: see `ec2/launch status %s`'
                        % (bucket, layout['run'], run_id))
    dest = dest or os.path.join('runs', run_id)
    archives = set(layout['archives'].values())
    count = 0
    for key, _size in keys:
        relative = key[len(layout['run']):]
        if not relative or relative.endswith('/') or key in archives:
            continue
        target = os.path.join(dest, *relative.split('/'))
        if not os.path.abspath(target).startswith(os.path.abspath(dest) + os.sep):
            continue   # a key with '..' in it would land outside dest
        os.makedirs(os.path.dirname(target), exist_ok=True)
        aws.get_file(api, bucket, key, target)
        count += 1
    epoch = transfer.restore_checkpoint(api, layout, bucket, dest)
    record = aws.read_json(api, bucket, layout['upload'])
    if record:
        for relative, expected in sorted(record['files'].items()):
            path = os.path.join(dest, *relative.split('/'))
            if not os.path.isfile(path) or aws.file_sha256(path) != expected['sha256']:
                raise UserError('%s does not match the SHA-256 the instance uploaded: '
                                'fetch again' % path)
    out.write('fetched %d files to %s%s%s\n' % (
        count, dest, '' if epoch is None else ', checkpoint of epoch %d' % epoch,
        ', verified against ec2/upload.json' if record else ''))
    return dest
