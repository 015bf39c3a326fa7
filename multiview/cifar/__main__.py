"""`python -m multiview.cifar ...`: the `multiview cifar` command on its own."""

import sys

from multiview.cifar.cli import main

sys.exit(main())
