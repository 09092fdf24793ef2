"""Moving a run between the instance and S3 so that a finished or checkpointed run is never lost.

A checkpoint goes up as **one archive plus a small pointer written last**:
the archive (a tar of ``checkpoint/`` and ``manifest.json``) goes to the
one of two slots (``ec2/checkpoint-a.tar``, ``-b.tar``) the pointer does not
name, is verified (size and SHA-256 as S3 holds them), and only then does
the pointer ``ec2/checkpoint.json`` name it, keeping the previous entry
too. A kill at any moment leaves the pointer naming a complete, verified
archive. :func:`restore_checkpoint` reads the pointer, checks the archive's
SHA-256 and falls back to the previous entry if the current one is damaged.

The final upload (:func:`upload_run`) puts every file of the run folder and
the checkpoint, verifies each, and writes ``ec2/upload.json`` (sizes and
digests) last: the run is done when that file is there. Every PUT is retried
with back-off (:func:`retry`).

The pointer also carries the run's progress (epoch, losses, seconds per
epoch) for ``ec2/launch status``. Nothing here imports Theano.
"""
import contextlib
import fcntl
import json
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
import time

from ec2 import aws, plan
from errors import UserError
from run_folder import CHECKPOINT

__all__ = ['TransferError', 'retry', 'DEFAULT_DELAYS', 'build_archive', 'upload_checkpoint',
           'restore_checkpoint', 'upload_run', 'run_files', 'progress_of']

#: Seconds between the attempts of one upload: 5 tries over about 2.5 minutes.
DEFAULT_DELAYS = (5, 10, 20, 40, 80)


class TransferError(UserError):
    """TransferError(message): an upload or download that failed every attempt, or bad data."""


def retry(action, what, delays=DEFAULT_DELAYS, sleep=time.sleep, log=None):
    """retry(action, what, delays=DEFAULT_DELAYS, sleep=time.sleep, log=None) -> action()

    Call ``action`` until it returns, sleeping ``delays[i]`` after the i-th
    failure; after the last, raise :class:`TransferError` with the reason.

    >>> import io
    >>> calls = []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise OSError('connection reset')
    ...     return 'ok'
    >>> slept = []
    >>> retry(flaky, 'x', delays=(1, 2, 4), sleep=slept.append, log=io.StringIO())
    'ok'
    >>> slept
    [1, 2]
    """
    log = log or sys.stderr
    delays = list(delays)
    for attempt in range(len(delays) + 1):
        try:
            return action()
        except (UserError, KeyboardInterrupt):
            raise
        except Exception as exc:
            reason = '%s: %s' % (type(exc).__name__, exc)
            if attempt == len(delays):
                raise TransferError('%s failed %d times; last: %s' % (what, attempt + 1, reason))
            log.write('%s failed (attempt %d of %d): %s; again in %g s\n'
                      % (what, attempt + 1, len(delays) + 1, reason, delays[attempt]))
            log.flush()
            sleep(delays[attempt])


def _put_verified(api, bucket, key, path, sha256, delays, sleep, log):
    """PUT one file and check that S3 holds its size and digest; retried as one step."""
    size = os.path.getsize(path)

    def put_and_check():
        aws.put_file(api, bucket, key, path, sha256)
        held = aws.head(api, bucket, key)
        if held is None or held['size'] != size or held['sha256'] != sha256:
            raise IOError('s3://%s/%s holds %s, not %d bytes with SHA-256 %s'
                          % (bucket, key, held, size, sha256[:12]))
    retry(put_and_check, 'upload of %s' % key, delays, sleep, log)
    return {'size': size, 'sha256': sha256}


# ---------------------------------------------------------------- checkpoints

def _checkpoint_folder(run_dir):
    """The newest complete checkpoint folder: ``checkpoint``, or ``checkpoint.old`` between
    the two renames of ``training.checkpoint.write_checkpoint``."""
    for name in (CHECKPOINT, CHECKPOINT + '.old'):
        path = os.path.join(run_dir, name)
        if os.path.isfile(os.path.join(path, 'history.json')):
            return path
    return None


def build_archive(run_dir, path):
    """build_archive(run_dir, path) -> the checkpoint's ``history.json`` (dict), or None

    Write a tar of the run's newest complete checkpoint (as ``checkpoint/``)
    and its ``manifest.json`` to ``path``. The checkpoint's files are read
    through one handle on its folder, so a checkpoint written meanwhile
    (the trainer renames whole folders) cannot mix two epochs; a folder
    removed under it makes it start again.
    """
    for _ in range(5):
        folder = _checkpoint_folder(run_dir)
        if folder is None:
            return None
        try:
            return _archive_folder(folder, os.path.join(run_dir, 'manifest.json'), path)
        except FileNotFoundError:
            continue   # the trainer replaced the checkpoint while it was read
    raise TransferError('%s changed five times while it was archived' % run_dir)


def _archive_folder(folder, manifest, path):
    handle = os.open(folder, os.O_RDONLY)
    try:
        history = None
        with tarfile.open(path, 'w') as tar:
            for name in sorted(os.listdir(handle)):
                with os.fdopen(os.open(name, os.O_RDONLY, dir_fd=handle), 'rb') as f:
                    if name == 'history.json':
                        history = json.loads(f.read().decode('utf-8'))
                        f.seek(0)
                    _add(tar, CHECKPOINT + '/' + name, f)
            if os.path.isfile(manifest):
                with open(manifest, 'rb') as f:
                    _add(tar, 'manifest.json', f)
        if history is None:
            raise FileNotFoundError(folder + '/history.json')
        return history
    finally:
        os.close(handle)


def _add(tar, name, f):
    """Stream an open file into the tar (a big net's weights are hundreds of MB)."""
    info = tarfile.TarInfo(name)
    info.size = os.fstat(f.fileno()).st_size
    info.mtime = int(time.time())
    tar.addfile(info, f)


@contextlib.contextmanager
def _one_upload_at_a_time(run_dir):
    """An exclusive lock beside the run folder: the watcher's checkpoint upload and the final
    upload never pick the same free slot."""
    path = os.path.join(os.path.dirname(os.path.abspath(run_dir)),
                        '.%s.upload-lock' % os.path.basename(os.path.abspath(run_dir)))
    with open(path, 'w') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def progress_of(history, epochs_total=None):
    """progress_of(history, epochs_total=None) -> dict for the pointer and ``status``

    >>> rows = [{'epoch': e, 'train_loss': 1.0 / e, 'valid_loss': 2.0 / e, 'dur': 3.0}
    ...         for e in (1, 2, 3, 4)]
    >>> p = progress_of({'epoch': 4, 'history': rows}, epochs_total=10)
    >>> p['epoch'], p['valid_loss'], p['sec_per_epoch'], p['epochs_total']
    (4, 0.5, 3.0, 10)
    """
    rows = history.get('history', [])
    last = rows[-1] if rows else {}
    durations = [float(r['dur']) for r in rows[-10:] if 'dur' in r]
    return {'epoch': int(history.get('epoch', len(rows))), 'epochs_total': epochs_total,
            'train_loss': last.get('train_loss'), 'valid_loss': last.get('valid_loss'),
            'sec_per_epoch': statistics.median(durations) if durations else None}


def upload_checkpoint(api, layout, bucket, run_dir, epochs_total=None, instance_id=None,
                      delays=DEFAULT_DELAYS, sleep=time.sleep, log=None, now=None):
    """upload_checkpoint(api, layout, bucket, run_dir, ...) -> the new pointer, or None

    Archive the newest checkpoint, upload it to the free slot, verify it,
    then write the pointer. None when the run has no checkpoint yet; the
    same pointer when that epoch is up already.
    """
    with _one_upload_at_a_time(run_dir):
        return _upload_checkpoint(api, layout, bucket, run_dir, epochs_total, instance_id,
                                  delays, sleep, log, now)


def _upload_checkpoint(api, layout, bucket, run_dir, epochs_total, instance_id, delays, sleep,
                       log, now):
    pointer = retry(lambda: aws.read_json(api, bucket, layout['pointer']),
                    'reading %s' % layout['pointer'], delays, sleep, log) or {}
    current = pointer.get('current')
    scratch = tempfile.mkdtemp(prefix='kfkd-upload-', dir=run_dir)
    try:
        archive = os.path.join(scratch, 'checkpoint.tar')
        history = build_archive(run_dir, archive)
        if history is None:
            return None
        progress = progress_of(history, epochs_total)
        if current and current.get('epoch') == progress['epoch']:
            return pointer
        slot = 'b' if current and current.get('slot') == 'a' else 'a'
        key = layout['archives'][slot]
        entry = dict(_put_verified(api, bucket, key, archive, aws.file_sha256(archive),
                                   delays, sleep, log),
                     slot=slot, key=key, epoch=progress['epoch'])
        new = dict(progress, current=entry, previous=current, instance_id=instance_id,
                   written_at=plan.iso(now or plan.utc()))
        retry(lambda: aws.put_json(api, bucket, layout['pointer'], new),
              'upload of %s' % layout['pointer'], delays, sleep, log)
        return new
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def restore_checkpoint(api, layout, bucket, run_dir, delays=DEFAULT_DELAYS, sleep=time.sleep,
                       log=None):
    """restore_checkpoint(api, layout, bucket, run_dir, ...) -> epoch restored, or None

    Put the run's last uploaded checkpoint into ``run_dir`` (``checkpoint/``
    and, unless there is one, ``manifest.json``), after checking the
    archive's size and SHA-256 against the pointer; a damaged current entry
    falls back to the previous one. None when nothing was ever uploaded.
    """
    log = log or sys.stderr
    pointer = retry(lambda: aws.read_json(api, bucket, layout['pointer']),
                    'reading %s' % layout['pointer'], delays, sleep, log)
    if not pointer:
        return None
    os.makedirs(run_dir, exist_ok=True)
    problems = []
    for entry in (pointer.get('current'), pointer.get('previous')):
        if not entry:
            continue
        scratch = tempfile.mkdtemp(prefix='kfkd-restore-', dir=run_dir)
        try:
            archive = os.path.join(scratch, 'checkpoint.tar')
            retry(lambda: aws.get_file(api, bucket, entry['key'], archive),
                  'download of %s' % entry['key'], delays, sleep, log)
            size, digest = os.path.getsize(archive), aws.file_sha256(archive)
            if size != entry['size'] or digest != entry['sha256']:
                problems.append('%s is %d bytes with SHA-256 %s, the pointer says %d and %s'
                                % (entry['key'], size, digest[:12], entry['size'],
                                   entry['sha256'][:12]))
                log.write('warning: %s\n' % problems[-1])
                continue
            _extract(archive, scratch, run_dir)
            return entry['epoch']
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    raise TransferError('no usable checkpoint for %s: %s' % (layout['run'], '; '.join(problems)))


def _extract(archive, scratch, run_dir):
    """Unpack into ``scratch``, then move ``checkpoint/`` (and a missing manifest) into place."""
    unpacked = os.path.join(scratch, 'unpacked')
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split('/')
            if not member.isfile() or member.name.startswith('/') or '..' in parts:
                raise TransferError('%s holds an unexpected entry %r' % (archive, member.name))
            target = os.path.join(unpacked, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'wb') as f:
                shutil.copyfileobj(tar.extractfile(member), f)
    final = os.path.join(run_dir, CHECKPOINT)
    if os.path.isdir(final):
        shutil.rmtree(final)
    os.rename(os.path.join(unpacked, CHECKPOINT), final)
    manifest = os.path.join(unpacked, 'manifest.json')
    if os.path.isfile(manifest) and not os.path.exists(os.path.join(run_dir, 'manifest.json')):
        os.rename(manifest, os.path.join(run_dir, 'manifest.json'))


# ---------------------------------------------------------------- the finished run

def run_files(run_dir):
    """run_files(run_dir) -> relative paths of the run folder's files, checkpoints left out

    (They go up as the checkpoint archive; temporary files are never final.)
    """
    found = []
    for folder, dirs, files in os.walk(run_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(CHECKPOINT)
                         and not d.startswith('kfkd-'))
        for name in sorted(files):
            if '.tmp-' not in name and not name.endswith('.part'):
                found.append(os.path.relpath(os.path.join(folder, name), run_dir))
    return sorted(p.replace(os.sep, '/') for p in found)


def upload_run(api, layout, bucket, run_dir, epochs_total=None, instance_id=None,
               delays=DEFAULT_DELAYS, sleep=time.sleep, log=None, now=None):
    """upload_run(api, layout, bucket, run_dir, ...) -> the upload record (``ec2/upload.json``)

    The final upload: the checkpoint (archive and pointer), then every file
    of :func:`run_files`, each verified, then ``ec2/upload.json`` last.
    Raises :class:`TransferError` when a file cannot be put after every retry.
    """
    if not os.path.isdir(run_dir):
        raise TransferError('%s does not exist: nothing to upload' % run_dir)
    pointer = upload_checkpoint(api, layout, bucket, run_dir, epochs_total, instance_id,
                                delays, sleep, log, now)
    files = {}
    for relative in run_files(run_dir):
        path = os.path.join(run_dir, *relative.split('/'))
        files[relative] = _put_verified(api, bucket, layout['run'] + relative, path,
                                        aws.file_sha256(path), delays, sleep, log)
    record = {'files': files, 'checkpoint': pointer and pointer['current'],
              'uploaded_at': plan.iso(now or plan.utc())}
    retry(lambda: aws.put_json(api, bucket, layout['upload'], record),
          'upload of %s' % layout['upload'], delays, sleep, log)
    return record
