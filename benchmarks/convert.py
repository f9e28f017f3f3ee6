"""Convert a released checkpoint into the suite's layout.

``mimb-convert mae IN.pth OUT.pth`` reads an official facebookresearch/mae
checkpoint (pretrained or fine-tuned, timm key layout), ``mimb-convert
convmae IN.pth OUT.pth`` an official Alpha-VL/ConvMAE one (pretrained or
fine-tuned), ``mimb-convert ummae-swin IN.pth OUT.pth`` and
``mimb-convert ummae-pvt IN.pth OUT.pth`` an official implus/UM-MAE Swin
(resp. PVT) one (pretrained or fine-tuned), ``simmim-swin`` and
``simmim-pvt`` the SimMIM baselines of implus/UM-MAE, and writes
``{'state_dict': ...}`` with ``backbone.`` / ``neck.`` / ``head.`` keys,
which every downstream config of the plain-ViT (resp. ConvViT, Swin,
PVT) family loads with ``init_cfg.checkpoint=OUT.pth`` (and
``mimb-pipeline --checkpoint OUT.pth`` transfers it through every task).
A file that is not in the named layout is refused with the list of keys it
does not recognise; nothing is written.
"""
import argparse
import os.path as osp
import sys

import torch

from backbones.engine.checkpoint import extract_state_dict
from backbones.engine.compat import safe_torch_load
from backbones.tools.converters import (convert_official_convmae,
                                        convert_official_mae,
                                        convert_official_simmim_pvt,
                                        convert_official_simmim_swin,
                                        convert_official_ummae_pvt,
                                        convert_official_ummae_swin)
from benchmarks.errors import cli_main

CONVERTERS = {'mae': convert_official_mae,
              'convmae': convert_official_convmae,
              'ummae-swin': convert_official_ummae_swin,
              'ummae-pvt': convert_official_ummae_pvt,
              'simmim-swin': convert_official_simmim_swin,
              'simmim-pvt': convert_official_simmim_pvt}


@cli_main('mimb-convert')
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog='mimb-convert', description=__doc__.split('\n\n')[0])
    parser.add_argument('format', choices=sorted(CONVERTERS),
                        help='layout of the input checkpoint')
    parser.add_argument('src', help='released checkpoint')
    parser.add_argument('dst', help='output checkpoint (suite layout)')
    args = parser.parse_args(argv)
    if osp.abspath(args.src) == osp.abspath(args.dst):
        parser.error('src and dst must differ')
    ckpt = safe_torch_load(args.src, map_location='cpu')
    state = CONVERTERS[args.format](
        extract_state_dict(ckpt, args.src), args.src)
    torch.save({'state_dict': state,
                'meta': {'converted_from': osp.abspath(args.src),
                         'format': args.format}}, args.dst)
    print(f'mimb-convert: {len(state)} tensors -> {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
