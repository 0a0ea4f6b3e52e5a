"""``python -m backprop_reference.reports.bench``: the benchmark's command line (``reports.bench.cli``)."""

import sys

from backprop_reference.reports.bench.cli import main

if __name__ == "__main__":  # importing this module (pkgutil.walk_packages, say) runs nothing
    sys.exit(main())
