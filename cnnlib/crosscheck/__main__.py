"""``python -m cnnlib.crosscheck``: print the table of cnnlib versus PyTorch errors."""
from . import main

raise SystemExit(main())
