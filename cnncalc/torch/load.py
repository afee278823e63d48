"""Loading a model reference for ``cnncalc import``: ``torchvision:NAME`` or ``package.module:factory``.

Naming ``package.module:factory`` *runs that module's code* (importing it), and then the factory's.
That is the point of the reference, and it is the only code that runs: the rest of the process is
kept from picking up files of the working directory.

* Only the named module's top-level package may come from the current directory (a meta-path finder
  that answers for that one name). torch, sympy and every other import resolve as they would
  anywhere else, so a stray ``sympy.py`` or ``triton.py`` next to the user's model never runs.
* The factory must be a Python function or an ``nn.Module`` subclass that takes no arguments. A
  builtin such as ``os.abort``, ``sys.exit`` or ``breakpoint`` is refused before it is called
  (``os.abort`` cannot be caught once called).
* Whatever the import or the call raises, ``SystemExit`` and ``KeyboardInterrupt`` included, becomes
  one :class:`ModelError` line; ``breakpoint()`` inside them is refused instead of opening a debugger.
* torchvision models are built with ``weights=None`` and, where the builder has one,
  ``weights_backbone=None``: nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.abc
import importlib.machinery
import inspect
import os
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

from torch import nn

from ..errors import CnncalcError

DEFAULT_INPUT = (3, 224, 224)
VIDEO_INPUT = (3, 16, 224, 224)
TORCHVISION_INPUTS: dict[str, tuple[int, ...]] = {
    "inception_v3": (3, 299, 299),
    "r3d_18": (3, 16, 112, 112),
    "mc3_18": (3, 16, 112, 112),
    "r2plus1d_18": (3, 16, 112, 112),
}
TORCHVISION_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}
# torchvision.models sub-packages that cnncalc import covers, and those it does not (with why).
IN_SCOPE = ("", "segmentation", "video")
OUT_OF_SCOPE = {
    "detection": "a detection model (boxes, several outputs, data-dependent post-processing)",
    "optical_flow": "an optical-flow model (two input frames, iterative refinement)",
    "quantization": "a quantized model (integer kernels that cnncalc does not model)",
}


class ModelError(CnncalcError):
    """The model reference cannot be loaded, traced or run (a usage error: exit status 2)."""


def load_model(ref: str) -> tuple[nn.Module, str, tuple[int, ...]]:
    """``torchvision:NAME`` or ``package.module:factory`` → (model, its name, default input shape)."""
    source, sep, name = ref.partition(":")
    if not sep or not source or not name:
        raise ModelError(f"'{ref}': expected torchvision:NAME (e.g. torchvision:resnet50) or package.module:factory")
    if source == "torchvision":
        return torchvision_model(name), name, torchvision_input(name)
    module = _import_named(ref, source)
    factory = _factory(ref, module, source, name)
    model = guarded(f"'{ref}': calling {name}()", factory)
    if not isinstance(model, nn.Module):
        raise ModelError(f"'{ref}': {name}() returned {type(model).__name__}, not a torch.nn.Module")
    return model, name, DEFAULT_INPUT


# ---- package.module:factory ------------------------------------------------------------------------
class _OneLocalName(importlib.abc.MetaPathFinder):
    """Finds one top-level name in one directory, and nothing else."""

    def __init__(self, name: str, directory: str):
        self.name, self.directory = name, directory

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [self.directory])


@contextlib.contextmanager
def _local(top: str) -> Iterator[None]:
    """While importing the named module: its top-level package may come from the working directory."""
    finder = _OneLocalName(top, os.getcwd())
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _import_named(ref: str, source: str) -> ModuleType:
    if source.endswith(".py"):
        raise ModelError(f"'{ref}': name the module, not its file: {source[:-3]}:{ref.partition(':')[2]}")
    if not all(part.isidentifier() for part in source.split(".")):
        raise ModelError(f"'{ref}': '{source}' is not a module name (package.module)")
    with _local(source.split(".")[0]):
        try:
            return guarded(f"'{ref}': importing module '{source}'", importlib.import_module, source)
        except ModelError as e:
            if isinstance(e.__cause__, ModuleNotFoundError) and _missing(e.__cause__, source):
                raise ModelError(f"'{ref}': cannot import module '{source}': {e.__cause__}") from None
            raise


def _missing(e: ModuleNotFoundError, source: str) -> bool:
    """The missing module is the named one or a package above it (not one that it imports)."""
    return e.name is not None and (source == e.name or source.startswith(f"{e.name}."))


def _factory(ref: str, module: ModuleType, source: str, name: str) -> Any:
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ModelError(f"'{ref}': module '{source}' has no callable '{name}'")
    is_model_class = inspect.isclass(factory) and issubclass(factory, nn.Module)
    if not (inspect.isfunction(factory) or is_model_class):
        kind = "a builtin" if inspect.isbuiltin(factory) else f"a {type(factory).__name__}"
        raise ModelError(
            f"'{ref}': {name} is {kind}, not a model factory (a Python function or an nn.Module "
            "subclass that takes no arguments)")
    try:
        inspect.signature(factory).bind()
    except TypeError:
        raise ModelError(f"'{ref}': {name}() needs arguments; give a factory that takes none") from None
    except ValueError:  # no signature to read: let the call say
        pass
    return factory


def _no_debugger(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("breakpoint() called: cnncalc import does not open a debugger")


def guarded(what: str, f: Any, *args: Any, **kwargs: Any) -> Any:
    """``f(*args, **kwargs)``; whatever it raises (SystemExit, KeyboardInterrupt too) becomes one
    ModelError. ``breakpoint()`` raises instead of opening a debugger, and a tracer that the call
    installs (``pdb.set_trace``) is removed when it returns."""
    hook, tracer = sys.breakpointhook, sys.gettrace()
    try:
        try:
            sys.breakpointhook = _no_debugger
            return f(*args, **kwargs)
        finally:
            sys.breakpointhook = hook
            sys.settrace(tracer)
    except SystemExit as e:
        raise ModelError(f"{what} tried to exit the process (SystemExit: {e.code})") from None
    except KeyboardInterrupt:
        raise ModelError(f"{what} was interrupted") from None
    except BaseException as e:
        raise ModelError(f"{what} failed: {first_line(e)}") from e


def first_line(e: BaseException) -> str:
    """``Type: the first line of the message``."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


# ---- torchvision -----------------------------------------------------------------------------------
def _torchvision() -> Any:
    try:
        import torchvision
    except Exception as e:  # ImportError, or a RuntimeError from a build that does not match torch
        raise ModelError(f"torchvision:NAME needs a working torchvision: pip install torchvision ({first_line(e)})") from None
    return torchvision


def torchvision_kind(name: str) -> str:
    """The torchvision.models sub-package that holds ``name`` ("" for classification)."""
    models = _torchvision().models
    for kind in (*IN_SCOPE, *OUT_OF_SCOPE):
        module = getattr(models, kind) if kind else models
        if name in models.list_models(module=module):
            return kind
    return "?"


def torchvision_input(name: str) -> tuple[int, ...]:
    """The input shape a torchvision model is traced at by default."""
    if name in TORCHVISION_INPUTS:
        return TORCHVISION_INPUTS[name]
    return VIDEO_INPUT if torchvision_kind(name) == "video" else DEFAULT_INPUT


def torchvision_model(name: str) -> nn.Module:
    """A torchvision model with random weights; nothing is downloaded, backbones included."""
    models = _torchvision().models
    known = models.list_models()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else " (see torchvision.models.list_models())"
        raise ModelError(f"torchvision has no model '{name}'{hint}")
    kind = torchvision_kind(name)
    if kind in OUT_OF_SCOPE:
        raise ModelError(f"torchvision:{name} is {OUT_OF_SCOPE[kind]}; cnncalc import covers "
                         "classification, segmentation and video models")
    builder = models.get_model_builder(name)
    kwargs: dict[str, Any] = {"weights": None, **TORCHVISION_KWARGS.get(name, {})}
    if "weights_backbone" in inspect.signature(builder).parameters:
        kwargs["weights_backbone"] = None
    return guarded(f"torchvision:{name}: building the model", builder, **kwargs)
