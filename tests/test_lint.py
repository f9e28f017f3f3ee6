"""The code follows the lint settings of setup.cfg (flake8, isort)."""
import sys

from conftest import REPO, run_cli

PATHS = ['backbones', 'benchmarks', 'tests', 'configs']


def test_flake8():
    run_cli([sys.executable, '-m', 'flake8', *PATHS], cwd=REPO)


def test_isort():
    run_cli([sys.executable, '-m', 'isort', '--check-only', '--diff',
             'backbones', 'benchmarks', 'tests'], cwd=REPO)
