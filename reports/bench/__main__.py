import sys

from reports.bench.cli import main

sys.exit(main())
