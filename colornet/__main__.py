import sys

from colornet.cli import main

sys.exit(main(prog="python -m colornet"))
