"""The PyTorch bridge (optional: ``pip install 'cnncalc[torch]'``).

* :func:`build` turns a spec into a real ``torch.nn.Module`` (:mod:`cnncalc.torch.build`);
* :func:`verify` checks the analysis against that module, layer by layer
  (:mod:`cnncalc.torch.verify`);
* :func:`to_pytorch_source` writes the spec as standalone PyTorch code
  (:mod:`cnncalc.torch.export`).

Importing this package imports torch; the CLI imports it only when a torch command runs.
"""

from .build import BuildError, Net, build
from .export import to_onnx, to_pytorch_source
from .verify import Refused, Verification, verify

__all__ = [
    "BuildError",
    "Net",
    "Refused",
    "Verification",
    "build",
    "to_onnx",
    "to_pytorch_source",
    "verify",
]
