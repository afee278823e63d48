"""The bounds on what a spec may ask for, and the work budget of its expansion.

A spec is untrusted input: whatever it says, reading it must finish fast or be refused fast. The
layer cap alone does not ensure that (a repeat of something that makes nothing, blocks that call
the next block twice, a long name copied into every layer's name), so the expansion also counts its
*work*: steps (each item visited, repeat copy made, block call, composite, expression evaluated and
block argument bound is one) and the characters of the names and strings it builds. A repeat projects its cost from its first copy and is refused at once when
the whole would not fit.
"""

from __future__ import annotations

MAX_INPUT_BYTES = 10 * 1024 * 1024  # a spec is a few KB; the zoo's largest is under 100 KB
MAX_NODES = 600_000  # YAML values written in a spec (a 20,000-layer chain has about 87,000)
MAX_INT = 2**31 - 1  # any integer size, argument or repeat count (torch's int32 sizes)
MAX_LAYERS = 20_000  # primitive layers made (torchvision's deepest net has under 1,000): every command
# finishes a spec at the cap in a few seconds (benchmarks/hostile_long.py measures it)
MAX_STEPS = 100_000  # 5x the layer cap: a chain needs 1 step a layer, the zoo at most 4.5
MAX_CHARS = 10_000_000  # characters of the names and substituted strings built (the zoo: under 50 a layer)
MAX_NAME = 1_000  # characters of one layer name, prefixes included
MAX_NESTING = 64  # blocks and composites inside one another


class BudgetExceeded(Exception):
    """Raised by :class:`Budget` with the message; the expander adds the location."""


class Budget:
    """Work counted during one expansion; raises :class:`BudgetExceeded` past a limit."""

    __slots__ = ("chars", "steps")

    def __init__(self) -> None:
        self.steps = 0
        self.chars = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExceeded(
                f"expanding the spec takes more than {MAX_STEPS:,} steps (items, copies and block calls); "
                "expected a spec whose blocks and repeats expand to less"
            )

    def spend_chars(self, n: int) -> None:
        self.chars += n
        if self.chars > MAX_CHARS:
            raise BudgetExceeded(
                f"expanding the spec builds more than {MAX_CHARS:,} characters of names and strings; "
                "expected shorter names or fewer copies"
            )

    def project(self, steps: int, chars: int, copies: int) -> str | None:
        """Why ``copies`` more copies, each costing what the first did, would not fit (or None)."""
        if self.steps + steps * copies > MAX_STEPS:
            return f"about {steps * copies + self.steps:,} expansion steps (at most {MAX_STEPS:,})"
        if self.chars + chars * copies > MAX_CHARS:
            return f"about {chars * copies + self.chars:,} characters of names (at most {MAX_CHARS:,})"
        return None


def check_shape(shape: object) -> str | None:
    """Why ``shape`` is not an input shape a spec may have (1 to 4 integers in 1..MAX_INT), or None.

    For shapes that do not come through the spec reader (``analyze(..., input_shape=)``)."""
    if not isinstance(shape, (tuple, list)) or not 1 <= len(shape) <= 4:
        return "an input shape is 1 to 4 sizes: channels, then 0 to 3 spatial sizes"
    for v in shape:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            return f"sizes are positive integers, got {v!r:.40}"
        if v > MAX_INT:
            return f"sizes are at most {MAX_INT:,}"
    return None
