"""Prose rendered from the run: the notes' result sentences come from their own variables.

A note never types a measured number into its Markdown: the sentence that states it is a code cell
tagged ``hide-input`` (the site shows only its output) that calls `say`::

    say("SASRec reached Recall@10 = {r10:.3f} after {n} epochs ({secs:.0f} s).",
        r10=res["Recall@10"], n=len(hist), secs=seconds)

`say` formats the template with ``str.format`` (so ``{x:.3f}``, ``{n:,}`` and friends work), shows it
as Markdown (maths included); `render` returns the text. A missing value or a value that is not a finite
number where the template formats one is an error, never a sentence with a hole in it.
``scripts/prose_numbers.py`` checks the other direction: a Markdown cell that states a number is
an error unless the cell is tagged ``static-numbers`` (paper results, configuration constants).
"""
from __future__ import annotations

import math
import string
from numbers import Number

__all__ = ["say", "render", "minutes"]


def render(template: str, /, **values) -> str:
    """``template.format(**values)``, checked: every field is given, every given value is used, and
    no number in it is NaN or infinite."""
    fields = {f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    if "" in fields or any(f.isdigit() for f in fields):
        raise ValueError("say/render take named fields only, e.g. '{recall:.3f}', not '{}' or '{0}'")
    missing, unused = sorted(fields - set(values)), sorted(set(values) - fields)
    if missing:
        raise KeyError(f"no value given for {', '.join(missing)} in {template!r}")
    if unused:
        raise ValueError(f"values never used by the template: {', '.join(unused)}")
    for k, v in values.items():
        if isinstance(v, Number) and not isinstance(v, bool) and not math.isfinite(float(v)):
            raise ValueError(f"{k} = {v}: a sentence would state a number the run did not produce")
    return template.format(**values)


def say(template: str, /, **values) -> None:
    """Render the template (`render`) and display it as Markdown in a notebook (print it elsewhere).

    Returns None, so that a ``say(...)`` ending a cell is not echoed a second time as its value."""
    text = render(template, **values)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # plain Python: print it
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(Markdown(text))


def minutes(seconds: float) -> str:
    """A duration as a reader says it: '45 s', '3.2 min', '1 h 05 min'."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"not a duration: {seconds}")
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    h, m = divmod(round(seconds / 60), 60)
    return f"{h} h {m:02d} min"
