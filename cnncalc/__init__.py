"""cnncalc: exact shapes, parameters, MACs, memory and receptive fields of CNNs from a YAML spec.

>>> import cnncalc
>>> report = cnncalc.analyze("specs/vgg16.yaml")
>>> report.totals.params, report.totals.macs
(138357544, 15470264320)
"""

from .analysis import Report, analyze
from .errors import CnncalcError, SpecError, SpecWarning
from .spec import NetSpec, parse_spec

__version__ = "0.1.0"
__all__ = ["CnncalcError", "NetSpec", "Report", "SpecError", "SpecWarning", "analyze", "parse_spec"]
