"""tuner: run a benchmark's containers again and again, with knobs chosen by Optuna.

Importing this package touches neither Docker nor a database.
"""

__version__ = "0.1.0"
