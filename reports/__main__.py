"""``python -m backprop_reference.reports``: the report's command line (``reports.cli``)."""

import sys

from backprop_reference.reports.cli import main

if __name__ == "__main__":  # importing this module (pkgutil.walk_packages, say) runs nothing
    sys.exit(main(prog="python -m backprop_reference.reports"))
