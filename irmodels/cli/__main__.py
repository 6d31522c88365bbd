"""``python -m irmodels.cli``: the ``irmodels`` command."""

import sys

from irmodels.cli import main

sys.exit(main())
