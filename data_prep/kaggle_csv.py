"""Reading and validating Kaggle's ``training.csv`` and ``test.csv``.

Both may also sit inside Kaggle's ``training.zip``/``test.zip``. Every
problem raises :class:`errors.DataError` with one line naming the file, the
line (1-based, header = line 1) and the problem, e.g.::

    data/training.csv line 17: Image has 9215 values, expected 9216 (96x96)

Nothing half-loaded is ever returned. Parsing is vectorised: the Image
strings of a block of rows are joined and parsed by one ``np.fromstring``
call; only a row already known to be bad is looked at token by token, to
name the problem.
"""
import io
import os
import re
import warnings
import zipfile

import numpy as np
import pandas as pd

from errors import DataError
from data_prep.keypoints import KEYPOINT_COLUMNS, N_PIXELS, SIDE

KINDS = ('training', 'test')

#: The columns each kind of file must have, as in Kaggle's files.
REQUIRED_COLUMNS = {
    'training': KEYPOINT_COLUMNS + ('Image',),
    'test': ('ImageId', 'Image'),
}

DOWNLOAD_HINT = (
    "get Kaggle's files with `kaggle competitions download -c "
    "facial-keypoints-detection` (needs your own Kaggle API token in "
    "~/.kaggle/kaggle.json) and unzip them into %s, or use "
    "`--data synthetic` to train on generated faces without a download")

# Rows parsed per np.fromstring call: bounds the memory of the int32 block.
_BLOCK_ROWS = 256


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError('kind must be one of %s, not %r' % (KINDS, kind))


def find_data_file(data_dir, kind):
    """find_data_file(data_dir, kind)

    Path of Kaggle's ``<kind>.csv`` in ``data_dir``, else of ``<kind>.zip``.

    Parameters
    ----------
    data_dir : str
        The data folder.
    kind : {'training', 'test'}

    Returns
    -------
    str
        The path found.

    Raises
    ------
    DataError
        Neither file exists; the message says which files were looked for
        and how to get them.
    """
    _check_kind(kind)
    candidates = [os.path.join(data_dir, kind + ext)
                  for ext in ('.csv', '.zip')]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise DataError('no %s data: looked for %s; %s' % (
        kind, ' and '.join(candidates), DOWNLOAD_HINT % data_dir))


def _open(path, kind):
    """Binary file object and display name of the CSV at ``path``."""
    if not os.path.isfile(path):
        raise DataError('%s: no such file' % path)
    if not path.lower().endswith('.zip'):
        return open(path, 'rb'), path
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError('%s: not a readable zip file (%s)' % (path, e))
    csvs = [name for name in archive.namelist()
            if name.lower().endswith('.csv')]
    wanted = [name for name in csvs
              if os.path.basename(name) == kind + '.csv']
    members = wanted or (csvs if len(csvs) == 1 else [])
    if not members:
        archive.close()
        raise DataError('%s: holds no %s.csv (it holds: %s)' % (
            path, kind, ', '.join(archive.namelist()) or 'nothing'))
    # Read the member into memory so the archive can be closed at once.
    with archive:
        data = archive.read(members[0])
    return io.BytesIO(data), '%s/%s' % (path, members[0])


def _short(text, limit=20):
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + '...')


def _read_table(path, kind):
    """Raw table of strings (no conversion) and the display name."""
    handle, name = _open(path, kind)
    with handle:
        try:
            table = pd.read_csv(handle, dtype=str, keep_default_na=False,
                                na_filter=False, skip_blank_lines=False,
                                engine='c')
        except pd.errors.EmptyDataError:
            raise DataError('%s: file is empty, expected a CSV with the '
                            'header of Kaggle\'s %s.csv' % (name, kind))
        except pd.errors.ParserError as e:
            found = re.search(r'Expected (\d+) fields in line (\d+), saw (\d+)',
                              str(e))
            if found:
                expected, line, saw = found.groups()
                raise DataError('%s line %s: has %s fields, expected %s' % (
                    name, line, saw, expected))
            raise DataError('%s: not a CSV file (%s)' % (
                name, str(e).strip().splitlines()[-1]))
        except UnicodeDecodeError:
            raise DataError('%s: not a CSV file (binary data, not text)'
                            % name)
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in table.columns]
    if missing:
        raise DataError('%s line 1: wrong header, missing column%s %s '
                        '(Kaggle\'s %s.csv has %s)' % (
                            name, 's' if len(missing) > 1 else '',
                            ', '.join(missing[:5])
                            + (', ...' if len(missing) > 5 else ''),
                            kind, ','.join(REQUIRED_COLUMNS[kind][-2:])
                            if kind == 'test' else
                            '30 keypoint columns then Image'))
    # A newline or two at the very end of the file is not a row.
    blank = (table == '').all(axis=1).to_numpy()
    n = len(blank)
    while n and blank[n - 1]:
        n -= 1
    table = table.iloc[:n]
    if n == 0:
        raise DataError('%s: no data rows after the header' % name)
    return table, name


def _row_image_problem(text):
    """What is wrong with one Image string, or None."""
    tokens = text.split()
    if not tokens:
        return 'Image is empty, expected %d values (%dx%d)' % (
            N_PIXELS, SIDE, SIDE)
    if len(tokens) != N_PIXELS:
        return 'Image has %d values, expected %d (%dx%d)' % (
            len(tokens), N_PIXELS, SIDE, SIDE)
    for position, token in enumerate(tokens, 1):
        if token.isdigit() and int(token) <= 255:
            continue
        if re.fullmatch(r'[+-]?\d+', token):
            return 'Image value %d is %s, outside 0..255' % (
                position, token)
        return 'Image value %d is %s, not an integer 0..255' % (
            position, _short(token))
    return None


def _parse_images(texts, name, first_line):
    """uint8 (n, 96, 96) from the Image strings; DataError on any problem."""
    n = len(texts)
    images = np.empty((n, N_PIXELS), dtype=np.uint8)
    for start in range(0, n, _BLOCK_ROWS):
        block = texts[start:start + _BLOCK_ROWS]
        # A cheap count of separators flags rows to look at closely.
        spaces = np.fromiter((t.count(' ') for t in block), dtype=np.int64,
                             count=len(block))
        suspects = np.flatnonzero(spaces != N_PIXELS - 1)
        for i in suspects:
            problem = _row_image_problem(block[i])
            if problem:
                raise DataError('%s line %d: %s' % (
                    name, first_line + start + i, problem))
        with warnings.catch_warnings():
            # Unparsable text stops np.fromstring early with a warning; the
            # short result is caught below by its length.
            warnings.simplefilter('ignore', DeprecationWarning)
            values = np.fromstring(' '.join(block), dtype=np.int32, sep=' ')
        if values.size != len(block) * N_PIXELS:
            for i, text in enumerate(block):
                problem = _row_image_problem(text)
                if problem:
                    raise DataError('%s line %d: %s' % (
                        name, first_line + start + i, problem))
            raise DataError('%s lines %d-%d: Image values cannot be parsed'
                            % (name, first_line + start,
                               first_line + start + len(block) - 1))
        bad = np.flatnonzero((values < 0) | (values > 255))
        if bad.size:
            row, position = divmod(int(bad[0]), N_PIXELS)
            raise DataError('%s line %d: Image value %d is %d, outside 0..255'
                            % (name, first_line + start + row, position + 1,
                               values[bad[0]]))
        images[start:start + len(block)] = values.reshape(len(block), -1)
    return images.reshape(n, SIDE, SIDE)


def _parse_keypoints(table, name, first_line):
    """float64 (n, 30) with NaN where a keypoint is missing (empty)."""
    keypoints = np.empty((len(table), len(KEYPOINT_COLUMNS)))
    first_bad = None  # (row, message): report the earliest row
    for j, column in enumerate(KEYPOINT_COLUMNS):
        text = table[column]
        present = (text.str.strip() != '').to_numpy()
        values = pd.to_numeric(text.where(present, 'nan'),
                               errors='coerce').to_numpy(dtype=np.float64)
        not_number = present & ~np.isfinite(values)
        outside = np.isfinite(values) & ((values < 0) | (values >= SIDE))
        for rows, what in ((not_number, 'not a finite number'),
                           (outside, 'outside [0, %d)' % SIDE)):
            hits = np.flatnonzero(rows)
            if hits.size and (first_bad is None or hits[0] < first_bad[0]):
                first_bad = (hits[0], '%s is %s, %s' % (
                    column, _short(text.iloc[hits[0]].strip()), what))
        keypoints[:, j] = values
    if first_bad is not None:
        raise DataError('%s line %d: %s' % (
            name, first_line + first_bad[0], first_bad[1]))
    return keypoints


def _parse_image_ids(table, name, first_line):
    text = table['ImageId'].str.strip()
    ok = text.str.fullmatch(r'\d+').to_numpy()
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise DataError('%s line %d: ImageId is %s, not a positive integer'
                        % (name, first_line + row, _short(text.iloc[row])))
    return text.to_numpy().astype(np.int64)


def read_kaggle_arrays(path, kind):
    """read_kaggle_arrays(path, kind)

    Parse and validate a Kaggle CSV (or the CSV inside a zip) into arrays.

    Parameters
    ----------
    path : str
        ``training.csv``, ``test.csv`` or a zip holding one.
    kind : {'training', 'test'}

    Returns
    -------
    dict
        ``images``: uint8 (n, 96, 96); ``keypoints``: float64 (n, 30) in
        pixels, NaN where missing (training) or None (test);
        ``image_ids``: int64 (n,), Kaggle's ImageId for test, the 1-based
        data row number for training.

    Raises
    ------
    DataError
        One line naming the file, the line and the problem.
    """
    _check_kind(kind)
    path = os.fspath(path)
    table, name = _read_table(path, kind)
    first_line = 2  # header is line 1
    images = _parse_images(table['Image'].tolist(), name, first_line)
    if kind == 'training':
        keypoints = _parse_keypoints(table, name, first_line)
        image_ids = np.arange(1, len(table) + 1, dtype=np.int64)
    else:
        keypoints = None
        image_ids = _parse_image_ids(table, name, first_line)
    return {'images': images, 'keypoints': keypoints, 'image_ids': image_ids}


def arrays_to_frame(arrays, kind):
    """arrays_to_frame(arrays, kind)

    The DataFrame :func:`read_kaggle_csv` returns, from parsed arrays.
    """
    images = arrays['images'].reshape(len(arrays['images']), -1)
    if kind == 'training':
        frame = pd.DataFrame(arrays['keypoints'], columns=KEYPOINT_COLUMNS)
    else:
        frame = pd.DataFrame({'ImageId': arrays['image_ids']})
    image_column = np.empty(len(images), dtype=object)
    image_column[:] = list(images)
    frame['Image'] = image_column
    return frame


def read_kaggle_csv(path, kind):
    """read_kaggle_csv(path, kind)

    Read and validate Kaggle's ``training.csv``/``test.csv`` (or a zip).

    Parameters
    ----------
    path : str
        The CSV, or Kaggle's ``training.zip``/``test.zip`` holding it.
    kind : {'training', 'test'}

    Returns
    -------
    pandas.DataFrame
        training: the 30 keypoint columns (float64 pixels, NaN where
        missing) and ``Image``; test: ``ImageId`` (int64) and ``Image``.
        Each ``Image`` is a uint8 array of 9216 values (row-major 96x96),
        like the study's ``np.fromstring(im, sep=' ')``.

    Raises
    ------
    DataError
        Required columns missing; an Image without exactly 9216 integers
        in 0..255; a keypoint not finite or outside [0, 96); an empty, non
        CSV or unreadable file. The message is one line: file, line,
        problem.
    """
    return arrays_to_frame(read_kaggle_arrays(path, kind), kind)


def image_texts(images):
    """image_texts(images)

    Kaggle's ``Image`` strings (``'182 206 ...'``) of uint8 images
    ``(n, 96, 96)`` or ``(n, 9216)``, vectorised.

    >>> image_texts(np.arange(9216).reshape(1, 96, 96) % 256)[0][:12]
    '0 1 2 3 4 5 '
    """
    values = np.asarray(images).reshape(len(images), N_PIXELS).astype(np.int16)
    m = len(values)
    chars = np.empty((m, N_PIXELS, 4), dtype=np.uint8)
    chars[..., 0] = 48 + values // 100
    chars[..., 1] = 48 + values // 10 % 10
    chars[..., 2] = 48 + values % 10
    chars[..., 3] = 32
    keep = np.ones(chars.shape, dtype=bool)
    keep[..., 0] = values >= 100
    keep[..., 1] = values >= 10
    keep[:, -1, 3] = False  # no space after the last value
    ends = np.cumsum(keep.reshape(m, -1).sum(axis=1))
    text = chars[keep].tobytes().decode('ascii')
    starts = np.concatenate([[0], ends[:-1]])
    return [text[a:b] for a, b in zip(starts, ends)]


def write_training_lines(out, images, keypoints):
    """write_training_lines(out, images, keypoints)

    Write a ``training.csv`` (header and rows) to the open text file `out`:
    the 30 keypoint columns (10 decimals, like Kaggle's; empty where NaN)
    and ``Image``. `images` are uint8 ``(n, 96, 96)``, `keypoints` float
    ``(n, 30)`` in pixels. :func:`read_kaggle_arrays` reads it back as
    given.

    >>> out = io.StringIO()
    >>> y = np.full((1, 30), np.nan); y[0, :2] = (66.5, 38.25)
    >>> write_training_lines(out, np.zeros((1, 96, 96), np.uint8), y)
    >>> out.getvalue().splitlines()[1][:40]
    '66.5000000000,38.2500000000,,,,,,,,,,,,,'
    """
    out.write(','.join(KEYPOINT_COLUMNS + ('Image',)) + '\n')
    prefixes = [','.join('' if np.isnan(x) else '%.10f' % x for x in row)
                + ',' for row in np.asarray(keypoints, dtype=np.float64)]
    for start in range(0, len(prefixes), _BLOCK_ROWS):
        texts = image_texts(images[start:start + _BLOCK_ROWS])
        out.write(''.join(prefix + text + '\n' for prefix, text
                          in zip(prefixes[start:start + _BLOCK_ROWS], texts)))
