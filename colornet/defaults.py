"""Defaults every command shares, in a module that imports nothing (the package's `__init__` and the
command line read it without loading TensorFlow)."""

# The model that colorize, video, the web page, export and notebook 00 use when none is named
DEFAULT_MODEL = "features"
# The model colorize and the web page use with color hints when none is named: the default model's
# network with hint channels (Zhang et al. 2017)
HINTS_MODEL = "features-hints"
