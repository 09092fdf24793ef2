"""python -m data_prep.download: the token check (no network), unpacking Kaggle's archive, the
download's control flow with a stand-in for kaggle's API."""
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from errors import DataError, UserError
from data_prep import download
from data_prep.kaggle_csv import read_kaggle_arrays
from data_prep.synthetic import write_kaggle_csv
from tests.conftest import REPO

LOOKUP = 'RowId,ImageId,FeatureName,Location\r\n1,1,left_eye_center_x,\r\n'
SAMPLE = 'RowId,Location\r\n1,0\r\n'


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home without a token and no KAGGLE_ variables: the machine's own never leak in."""
    folder = tmp_path / 'home'
    folder.mkdir()
    monkeypatch.setenv('HOME', str(folder))
    for name in list(os.environ):
        if name.startswith('KAGGLE_') or name == 'XDG_CONFIG_HOME':
            monkeypatch.delenv(name)
    return folder


def put_token(folder, text='{"username": "someone", "key": "0123abcd"}'):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / 'kaggle.json'
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


@pytest.fixture
def kaggle_archive(tmp_path):
    """An archive shaped as Kaggle's facial-keypoints-detection.zip: training.zip and test.zip
    (one CSV each), IdLookupTable.csv and SampleSubmission.csv."""
    parts = tmp_path / 'parts'
    parts.mkdir()
    write_kaggle_csv(str(parts / 'training.csv'), 6, seed=1)
    write_kaggle_csv(str(parts / 'test.csv'), 3, seed=2, kind='test')
    for kind in ('training', 'test'):
        with zipfile.ZipFile(str(parts / (kind + '.zip')), 'w', zipfile.ZIP_DEFLATED) as z:
            z.write(str(parts / (kind + '.csv')), kind + '.csv')
    path = tmp_path / 'facial-keypoints-detection.zip'
    with zipfile.ZipFile(str(path), 'w') as z:
        z.write(str(parts / 'training.zip'), 'training.zip')
        z.write(str(parts / 'test.zip'), 'test.zip')
        z.writestr('IdLookupTable.csv', LOOKUP)
        z.writestr('SampleSubmission.csv', SAMPLE)
        z.writestr('__MACOSX/._training.zip', 'junk')
    return str(path)


# ------------------------------------------------------------------ the token

def test_no_token_says_where_to_put_it_without_importing_kaggle(home, tmp_path, capsys):
    sys.modules.pop('kaggle', None)
    data = tmp_path / 'data'
    assert download.main(['--data', str(data)]) == 2
    err = capsys.readouterr().err
    assert err == ('error: no Kaggle API token: create one on https://www.kaggle.com/settings '
                   '(API, Create New Token) and save the kaggle.json it gives as %s (chmod 600), '
                   'or set KAGGLE_USERNAME and KAGGLE_KEY\n'
                   % os.path.join(str(home), '.kaggle', 'kaggle.json'))
    assert 'kaggle' not in sys.modules
    assert not data.exists()


def test_no_token_from_the_command_line(home, tmp_path):
    env = dict(os.environ, HOME=str(home))
    result = subprocess.run([sys.executable, '-m', 'data_prep.download', '--data',
                             str(tmp_path / 'data')], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith('error: no Kaggle API token')
    assert result.stderr.count('\n') == 1 and result.stdout == ''


def test_token_places(home, tmp_path, monkeypatch):
    # ~/.kaggle absent: kaggle follows XDG on Linux.
    if sys.platform.startswith('linux'):
        xdg = put_token(home / '.config' / 'kaggle')
        assert download.token_location() == xdg
    dot = put_token(home / '.kaggle')
    assert download.token_location() == dot
    config_dir = tmp_path / 'elsewhere'
    monkeypatch.setenv('KAGGLE_CONFIG_DIR', str(config_dir))
    with pytest.raises(UserError, match=r'save the kaggle.json it gives as .*elsewhere'):
        download.token_location()
    assert put_token(config_dir) == download.token_location()
    monkeypatch.setenv('KAGGLE_USERNAME', 'someone')
    monkeypatch.setenv('KAGGLE_KEY', 'abc')
    assert download.token_location() == 'KAGGLE_USERNAME and KAGGLE_KEY'


def test_half_the_variables(home, monkeypatch):
    monkeypatch.setenv('KAGGLE_USERNAME', 'someone')
    with pytest.raises(UserError, match='KAGGLE_USERNAME is set but KAGGLE_KEY is not'):
        download.token_location()


@pytest.mark.parametrize('text', ['{"username": "someone"}', 'not json', '[1, 2]'])
def test_a_kaggle_json_that_is_no_token(home, text):
    path = put_token(home / '.kaggle', text)
    with pytest.raises(UserError) as e:
        download.token_location()
    assert str(e.value).startswith('%s: not a Kaggle API token' % path)
    assert '\n' not in str(e.value)


def test_token_without_the_kaggle_package(home, tmp_path, monkeypatch):
    put_token(home / '.kaggle')
    monkeypatch.setitem(sys.modules, 'kaggle', None)  # import kaggle raises ImportError
    with pytest.raises(UserError, match=r'the kaggle package is not installed: run \./setup\.sh'):
        download.download(str(tmp_path / 'data'))


# ------------------------------------------------------------------ unpacking

def test_unpack_kaggle_archive(kaggle_archive, tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    result = download.unpack(kaggle_archive, str(data))
    assert sorted(os.listdir(str(data))) == sorted(download.FILES)
    assert sorted(os.path.basename(p) for p in result['written']) == sorted(download.FILES)
    assert result['kept'] == []
    training = read_kaggle_arrays(str(data / 'training.csv'), 'training')
    assert training['images'].shape == (6, 96, 96)
    assert np.isfinite(training['keypoints']).sum() > 6 * 8
    assert read_kaggle_arrays(str(data / 'test.csv'), 'test')['image_ids'].tolist() == [1, 2, 3]
    assert (data / 'IdLookupTable.csv').read_bytes() == LOOKUP.encode()


def test_unpack_keeps_files_already_there(kaggle_archive, tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'training.csv').write_text('my own\n')
    result = download.unpack(kaggle_archive, str(data))
    assert (data / 'training.csv').read_text() == 'my own\n'
    assert result['kept'] == [str(data / 'training.csv')]
    assert len(result['written']) == 3


def test_unpack_a_broken_zip(tmp_path):
    bad = tmp_path / 'facial-keypoints-detection.zip'
    bad.write_bytes(b'PK\x03\x04 not really')
    with pytest.raises(DataError, match='facial-keypoints-detection.zip: not a readable zip'):
        download.unpack(str(bad), str(tmp_path))


# ------------------------------------------------------- download, stand-in API

class FakeApi:
    """kaggle's competition_download_files, writing a local archive (or failing)."""

    def __init__(self, archive=None, error=None):
        self.archive, self.error, self.calls = archive, error, []

    def competition_download_files(self, competition, path=None, quiet=True):
        self.calls.append((competition, path))
        if self.error:
            raise self.error
        with open(self.archive, 'rb') as f, \
                open(os.path.join(path, competition + '.zip'), 'wb') as out:
            out.write(f.read())


def test_download_fetches_and_unpacks(kaggle_archive, tmp_path):
    data = tmp_path / 'data'
    api = FakeApi(kaggle_archive)
    lines = []
    result = download.download(str(data), api=api, log=lines.append)
    assert api.calls[0][0] == 'facial-keypoints-detection'
    assert os.path.dirname(api.calls[0][1]) == str(data)
    assert sorted(os.listdir(str(data))) == sorted(download.FILES)  # no temporary left
    assert len(result['written']) == 4
    assert '%s: written' % (data / 'SampleSubmission.csv') in lines
    again = FakeApi(kaggle_archive)
    download.download(str(data), api=again, log=lines.append)
    assert again.calls == [] and 'nothing to fetch' in lines[-1]


class Response:
    def __init__(self, status_code):
        self.status_code = status_code


class HTTPError(OSError):
    """Shaped as requests.exceptions.HTTPError (an OSError with a response)."""

    def __init__(self, status_code):
        super().__init__('%d Client Error' % status_code)
        self.response = Response(status_code)


@pytest.mark.parametrize('error, message', [
    (HTTPError(403), "accept the competition's rules on "
     'https://www.kaggle.com/c/facial-keypoints-detection/rules'),
    (HTTPError(401), 'Kaggle refused the token in the given API (401 Unauthorized)'),
    (ConnectionError('Max retries exceeded\nwith url'), 'downloading '
     'facial-keypoints-detection from Kaggle failed: Max retries exceeded'),
])
def test_download_errors_are_one_line_and_leave_nothing(tmp_path, error, message):
    data = tmp_path / 'data'
    with pytest.raises(UserError) as e:
        download.download(str(data), api=FakeApi(error=error), log=lambda line: None)
    assert message in str(e.value) and '\n' not in str(e.value)
    assert os.listdir(str(data)) == []


def test_download_of_an_archive_without_the_data(tmp_path):
    archive = tmp_path / 'other.zip'
    with zipfile.ZipFile(str(archive), 'w') as z:
        z.writestr('IdLookupTable.csv', LOOKUP)
    with pytest.raises(DataError, match='held no training.csv, test.csv, SampleSubmission.csv'):
        download.download(str(tmp_path / 'data'), api=FakeApi(str(archive)),
                          log=lambda line: None)


def test_requirements_pin_kaggle():
    with open(os.path.join(REPO, 'requirements.txt')) as f:
        assert 'kaggle==1.7.4.5' in f.read().split()


def test_data_that_is_a_file_is_one_line(home, tmp_path, capsys):
    taken = tmp_path / 'training.csv'
    taken.write_text('not a folder\n')
    assert download.main(['--data', str(taken)]) == 2
    assert capsys.readouterr().err == (
        'error: --data %s is a file; name the folder to fill (e.g. %s)\n'
        % (taken, tmp_path))
    assert taken.read_text() == 'not a folder\n'
