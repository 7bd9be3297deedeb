import sys

from colornet.cli import main

sys.exit(main())
