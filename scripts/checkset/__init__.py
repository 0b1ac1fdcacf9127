"""The check-set builder's parts (scripts/build_checkset.py): packages, texts, web chrome, assembly."""
