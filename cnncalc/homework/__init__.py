"""Homework mode: the questions a CNN course asks, answered without writing a spec.

* :mod:`.calc`    one-layer calculators (``conv``, ``pool``) and ``solve`` (which stride/padding fits);
* :mod:`.chain`   a one-line chain of layers (``32x32x3 conv5x5/6 maxpool2``) turned into a spec;
* :mod:`.answers` marking a student's answers against a spec or against calculator commands;
* :mod:`.matrix`  small-matrix arithmetic (``apply``): filters and pools on tiny matrices, exactly.

Everything here returns data; the commands in ``cnncalc.commands`` print it. The counting goes
through the same layer rules (``cnncalc.layers.RULES``) and the same pure arithmetic
(``cnncalc.arith``) as ``summarize``.
"""

from __future__ import annotations

from ..errors import CnncalcError


class UsageError(CnncalcError):
    """A question the calculators cannot answer as asked (bad numbers, bad matrix, bad token): exit 2."""
