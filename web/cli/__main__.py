"""``python -m web.cli``: the ``jiedui`` command."""
import sys

from web.cli import main

sys.exit(main())
