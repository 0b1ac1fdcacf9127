"""Building blocks of `scripts/build_demo_data.py`: the bundled demo mirror under `data/demo/`.

Developer tooling only: nothing in `corpus`, `tokenizer`, `model`, `train` or `flows` imports this
package, and CI never runs it (the built mirror is committed).
"""
