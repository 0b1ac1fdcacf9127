"""The training report: `checkpoints/report/report.html` + `report.json` (see `build.py`)."""
