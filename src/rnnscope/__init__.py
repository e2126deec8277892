"""rnnscope: a laboratory for how recurrent networks learn long time scales."""

__version__ = "0.1.0"
