"""What the leaderboard's differences can support.

* :func:`with_random_init_gains`: on every measured row,
  ``<metric>_vs_random_init`` = its mean minus the mean of the
  ``random-init`` row of the same encoder (backbone and smoke flag; the
  same dense init where there are several): the untrained encoder
  through the same protocols (``mimb-pipeline --random-init``), and
  ``<metric>_vs_random_init_verdict`` says whether that gain exceeds the
  seed spread (:func:`verdict`:
  ``beyond spread``, ``within spread`` or ``one seed: no spread``).
* :func:`pairwise`: every two measured settings on the same backbone (and
  smoke flag), per metric: difference of the means, the spread and the
  verdict, so a table of few seeds is not read as a ranking it cannot
  support (``leaderboard_pairs.{csv,md}``).

The rule (:func:`verdict`): two settings differ when the difference of
their means exceeds the sum of their standard deviations over seeds; with
one seed on either side there is no spread and no verdict.
"""
from itertools import combinations
from typing import List, Optional

import numpy as np
import pandas as pd

RANDOM_INIT = 'random-init'  # method of the untrained-encoder rows
ENCODER = ['backbone', 'smoke', 'dense_init']  # a baseline's match, in order
ONE_SEED = 'one seed: no spread'
WITHIN = 'within spread'
BEYOND = 'beyond spread'
PAIR_COLUMNS = ['backbone', 'smoke', 'metric', 'a', 'b', 'a_mean', 'b_mean',
                'difference', 'spread', 'a_seeds', 'b_seeds', 'verdict']


def verdict(mean_a: float, std_a: float, seeds_a: int, mean_b: float,
            std_b: float, seeds_b: int) -> str:
    """Whether setting a differs from setting b beyond their seed spread.

    Args:
        mean_a, std_a, seeds_a: Mean, standard deviation over seeds and
            seed count of a (std NaN for one seed).
        mean_b, std_b, seeds_b: The same of b.

    Returns:
        str: ``'a > b'`` or ``'a < b'`` when ``|mean_a - mean_b| > std_a +
        std_b`` with at least 2 seeds each; :data:`WITHIN` when not;
        :data:`ONE_SEED` when either has fewer than 2 seeds.
    """
    if min(seeds_a, seeds_b) < 2 or np.isnan(std_a) or np.isnan(std_b):
        return ONE_SEED
    difference = mean_a - mean_b
    if abs(difference) <= std_a + std_b:
        return WITHIN
    return 'a > b' if difference > 0 else 'a < b'


def setting_label(row: pd.Series) -> str:
    """``method[variant] schedule`` (and where the dense stages started,
    when not the pretrained encoder)."""
    text = row['method']
    if isinstance(row.get('variant'), str) and row['variant']:
        text += f"[{row['variant']}]"
    text += f" {row['schedule']}"
    init = row.get('dense_init')
    if isinstance(init, str) and init != 'pretrain':
        text += f' (dense from {init})'
    return text


def _key(row: pd.Series, columns: List[str]) -> tuple:
    return tuple('' if not isinstance(row.get(c), (str, bool, np.bool_))
                 else row.get(c) for c in columns)


def _baseline(bases: pd.DataFrame, row: pd.Series) -> Optional[pd.Series]:
    """The random-init row of ``row``'s backbone and smoke flag, the one
    with the same dense init where there are several (a row without dense
    stages, or a baseline without them, takes any)."""
    same = [b for _, b in bases.iterrows()
            if _key(b, ENCODER[:2]) == _key(row, ENCODER[:2])]
    exact = [b for b in same if _key(b, ENCODER) == _key(row, ENCODER)]
    return (exact or same or [None])[0]


def _gain_words(result: str) -> str:
    """A verdict as said of a gain (whose sign is shown beside it)."""
    return BEYOND if result in ('a > b', 'a < b') else result


def with_random_init_gains(table: pd.DataFrame,
                           metrics: List[str]) -> pd.DataFrame:
    """Add ``<metric>_vs_random_init`` (and its ``_verdict``) to the
    measured rows that have a random-init row of the same encoder.

    Args:
        table (DataFrame): The aggregated leaderboard (one row per setting,
            ``<metric>`` means, ``<metric>_std``, ``seeds``, ``source``).
        metrics (list[str]): Metric columns.

    Returns:
        DataFrame: A copy with the new columns (NaN / None elsewhere).
    """
    table = table.copy()
    measured = table.source == 'measured'
    bases = table[measured & (table.method == RANDOM_INIT)]
    # each row's baseline, found once for all metrics (None: no gain)
    pairs = [(row, None if row['source'] != 'measured'
              or row['method'] == RANDOM_INIT else _baseline(bases, row))
             for _, row in table.iterrows()]
    for metric in metrics:
        if metric not in table:
            continue
        gains, verdicts = [], []
        for row, base in pairs:
            if (base is None or pd.isna(row[metric])
                    or pd.isna(base[metric])):
                gains.append(np.nan)
                verdicts.append(None)
                continue
            gains.append(row[metric] - base[metric])
            verdicts.append(_gain_words(verdict(
                row[metric], row.get(f'{metric}_std', np.nan),
                row['seeds'], base[metric],
                base.get(f'{metric}_std', np.nan), base['seeds'])))
        table[f'{metric}_vs_random_init'] = gains
        table[f'{metric}_vs_random_init_verdict'] = verdicts
    return table


def pairwise(table: pd.DataFrame, metrics: List[str]) -> pd.DataFrame:
    """Every pair of measured settings on one backbone, per metric.

    Returns:
        DataFrame: :data:`PAIR_COLUMNS`; ``a`` / ``b`` are
        :func:`setting_label` of the two settings, ``difference`` is
        ``a_mean - b_mean``, ``spread`` the sum of their stds (NaN with one
        seed), ``verdict`` as :func:`verdict`.
    """
    rows = []
    measured = table[table.source == 'measured']
    for (backbone, smoke), group in measured.groupby(['backbone', 'smoke'],
                                                     dropna=False):
        settings = list(group.iterrows())
        for metric in metrics:
            if metric not in group:
                continue
            for (_, a), (_, b) in combinations(settings, 2):
                if pd.isna(a[metric]) or pd.isna(b[metric]):
                    continue
                std_a = a.get(f'{metric}_std', np.nan)
                std_b = b.get(f'{metric}_std', np.nan)
                rows.append(dict(
                    backbone=backbone, smoke=smoke, metric=metric,
                    a=setting_label(a), b=setting_label(b),
                    a_mean=a[metric], b_mean=b[metric],
                    difference=a[metric] - b[metric], spread=std_a + std_b,
                    a_seeds=int(a['seeds']), b_seeds=int(b['seeds']),
                    verdict=verdict(a[metric], std_a, a['seeds'], b[metric],
                                    std_b, b['seeds'])))
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def pairs_markdown(pairs: pd.DataFrame) -> str:
    """The pairs table as Markdown, with the rule under it."""
    body = (pairs.to_markdown(index=False, floatfmt='.4g') if len(pairs)
            else '(no two measured settings share a backbone)')
    return (body + '\n\nA pair differs when |a_mean - b_mean| > spread, '
            'the sum of the two standard deviations over seeds; with one '
            f"seed on either side there is no spread ('{ONE_SEED}').\n")
