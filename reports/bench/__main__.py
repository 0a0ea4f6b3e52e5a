"""``python -m reports.bench``: the benchmark's command line (``reports.bench.cli``)."""

import sys

from reports.bench.cli import main

if __name__ == "__main__":  # importing this module (pkgutil.walk_packages, say) runs nothing
    sys.exit(main())
