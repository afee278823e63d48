"""The PyTorch bridge (optional: ``pip install 'cnncalc[torch]'``).

* :func:`build` turns a spec into a real ``torch.nn.Module`` (:mod:`cnncalc.torch.build`);
* :func:`verify` checks the analysis against that module, layer by layer
  (:mod:`cnncalc.torch.verify`);
* :func:`to_pytorch_source` writes the spec as standalone PyTorch code
  (:mod:`cnncalc.torch.export`), and :func:`to_onnx` as an ONNX file.

Writing source needs no torch: :mod:`.names` and :mod:`.export` import without it, and so does this
package, which then offers only :func:`to_pytorch_source` and :func:`to_onnx` (which needs torch and
onnx when called). With torch installed, importing this package imports torch.
"""

from .export import to_onnx, to_pytorch_source

try:
    from .build import BuildError, Net, build
    from .verify import Refused, Verification, verify
except ImportError as e:  # no torch: the source writer above still works
    if e.name != "torch":
        raise

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
