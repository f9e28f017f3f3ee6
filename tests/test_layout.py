"""The package layout: every registered name is still registered, each
registered class lives in the subpackage of its role, imports point one way
(tools -> models -> masking, engine), and the package docstring names every
module."""
import ast
import json
import os
import os.path as osp
import pkgutil

import backbones
from conftest import REPO

PACKAGE = osp.join(REPO, 'backbones')
# written from the flat layout before the split into subpackages
NAMES = osp.join(REPO, 'tests', 'data', 'registered_names.json')
# registry -> the subpackage its classes belong in
ROLES = {
    'model': 'backbones.models', 'hook': 'backbones.engine',
    'loop': 'backbones.engine', 'optim_wrapper': 'backbones.engine',
    'optimizer wrapper constructor': 'backbones.engine',
    'weight initializer': 'backbones.engine',
    'dataset': 'backbones.datasets', 'transform': 'backbones.datasets',
}
# subpackage -> the subpackages it may import from
ALLOWED = {
    'engine': {'engine'}, 'masking': {'masking'}, 'datasets': {'datasets'},
    'models': {'models', 'masking', 'engine'},
    'tools': {'tools', 'models', 'masking', 'engine'},
}


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


def modules():
    """Dotted names of every module of the package, __init__ excluded."""
    return sorted(
        info.name for info in pkgutil.walk_packages(
            backbones.__path__, 'backbones.') if not info.ispkg)


def imports_of(module):
    """The modules of ours that ``module`` imports (relative ones
    resolved)."""
    path = osp.join(REPO, *module.split('.')) + '.py'
    tree = ast.parse(open(path).read())
    package = module.split('.')[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] \
                if node.level else []
            name = '.'.join(base + (node.module or '').split('.')).strip('.')
            found.add(name)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {n for n in found if n.split('.')[0] == 'backbones'}


def test_registered_names_are_unchanged():
    with open(NAMES) as f:
        expected = set(json.load(f))
    names = set(registered())
    assert names == expected, (
        f'missing: {sorted(expected - names)}, new: '
        f'{sorted(names - expected)} (a new name goes into {NAMES})')


def test_registered_classes_live_in_the_subpackage_of_their_role():
    wrong = {name: module for name, module in registered().items()
             if not module.startswith(ROLES[name.split('::')[1]] + '.')}
    assert not wrong


def test_imports_point_one_way():
    wrong = []
    for module in modules():
        role = module.split('.')[1]
        for target in imports_of(module):
            if target == 'backbones' or \
                    target.split('.')[1] not in ALLOWED[role]:
                wrong.append(f'{module} imports {target}')
    assert not wrong


def test_the_imports_check_sees_relative_imports():
    assert imports_of('backbones.models.selfsup.ummae') >= {
        'backbones.masking.uniform', 'backbones.models.decoders',
        'backbones.models.encoders.coord_swin'}
    assert imports_of('backbones.engine.knn') == {
        'backbones.engine.checkpoint'}


def test_the_package_docstring_names_every_module():
    doc = backbones.__doc__
    missing = [m for m in modules() if f'{m}`' not in doc]
    assert not missing
    files = [osp.join(root, f) for root, _, fs in os.walk(PACKAGE)
             for f in fs if f.endswith('.py') and f != '__init__.py']
    assert len(files) == len(modules())
