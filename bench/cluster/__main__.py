"""``python -m bench.cluster``: see bench/cluster/check.py."""

import sys

from bench.cluster.check import main

sys.exit(main())
