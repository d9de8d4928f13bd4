#!/usr/bin/env python3
"""Counts the code lines of each guide example in crates/rill/examples/ against the same task
written with Keras (tools/keras_guides/), both as their formatters lay them out (rustfmt,
Black). Blank lines, comments, docstrings and import/use lines are not counted.

    python3 tools/example_lines.py      # prints the README's markdown table
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = [
    ("functional_api", "The Functional API: two inputs, two outputs"),
    ("custom_training_loop", "Writing a training loop from scratch"),
    ("transfer_learning", "Transfer learning & fine-tuning"),
    ("custom_layer", "Making new layers via subclassing, saved and loaded"),
    ("augmentation_callbacks", "Data augmentation + callbacks"),
    ("predict_image", "Predict an image file"),
    ("serving", "Serving with TF Serving, queried over REST"),
]


def rust_lines(text):
    code = [l.strip() for l in text.splitlines()]
    return sum(1 for l in code if l and not l.startswith("//") and not l.startswith("use "))


def python_lines(text):
    # Drop the module docstring, then count what is left.
    text = re.sub(r'^\s*""".*?"""', "", text, count=1, flags=re.S)
    code = [l.strip() for l in text.splitlines()]
    skip = ("#", "import ", "from ")
    return sum(1 for l in code if l and not l.startswith(skip))


def main():
    print("| example | Keras guide | Rill lines | Keras lines | ratio |")
    print("|---|---|---|---|---|")
    for name, guide in EXAMPLES:
        rill = rust_lines((ROOT / f"crates/rill/examples/{name}.rs").read_text())
        keras = python_lines((ROOT / f"tools/keras_guides/{name}.py").read_text())
        print(f"| `{name}` | {guide} | {rill} | {keras} | {rill / keras:.1f}× |")


if __name__ == "__main__":
    main()
