"""`python -m desktop_app ...` is the same as the `clinic-settle` console script."""

import sys

from desktop_app.cli.main import main

sys.exit(main())
