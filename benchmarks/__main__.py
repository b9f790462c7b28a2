"""``python -m benchmarks``: the same as ``tinygrad-rnn bench``."""

import argparse
import sys

from tinygrad_rnn import bench

parser = argparse.ArgumentParser(prog="python -m benchmarks", description=bench.__doc__)
bench.configure(parser)
sys.exit(bench.run(parser.parse_args()))
