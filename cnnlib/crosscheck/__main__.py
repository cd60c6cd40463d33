"""``python -m cnnlib.crosscheck``: print the table of cnnlib versus PyTorch errors."""
from cnnlib.crosscheck import main

raise SystemExit(main())
