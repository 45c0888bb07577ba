"""Entry point: ``python -m evals``."""

import sys

from .cli import main

sys.exit(main())
