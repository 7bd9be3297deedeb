"""What arguments accept, checked alike by the Python API and the command line (whose argument
types, built on these ranges, are in `colornet.cli.arguments`)."""

WORK_SIZE_RANGE = (8, 8192)  # what --work-size and `work_size=` accept, in pixels
