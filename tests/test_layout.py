"""Every registered name stays registered: the set of names of ours in the
OpenMMLab registries is the one recorded in tests/data/registered_names.json
(written from the flat layout, before the split into subpackages)."""
import json
import os.path as osp

import backbones  # noqa: F401  registers the suite's modules
from conftest import REPO

NAMES = osp.join(REPO, 'tests', 'data', 'registered_names.json')


def registered():
    """{'scope::registry::name': module} of every class of ours in the
    registries of MMEngine, mmpretrain, mmdet and mmseg."""
    import mmdet.registry
    import mmengine.registry
    import mmpretrain.registry
    import mmseg.registry
    from mmengine.registry import Registry
    found = {}
    for mod in (mmengine.registry, mmpretrain.registry, mmdet.registry,
                mmseg.registry):
        for attr in dir(mod):
            reg = getattr(mod, attr)
            if not isinstance(reg, Registry):
                continue
            for name, obj in reg.module_dict.items():
                module = getattr(obj, '__module__', '')
                if module.split('.')[0] == 'backbones':
                    found[f'{reg.scope}::{reg.name}::{name}'] = module
    return found


def test_registered_names_are_unchanged():
    with open(NAMES) as f:
        expected = set(json.load(f))
    names = set(registered())
    assert names == expected, (
        f'missing: {sorted(expected - names)}, new: '
        f'{sorted(names - expected)} (a new name goes into {NAMES})')
