import os
import sys

# TensorFlow's C++ start-up logging (CUDA probes on CPU machines, oneDNN notes) hides the real output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tfgan.cli import main

sys.exit(main())
