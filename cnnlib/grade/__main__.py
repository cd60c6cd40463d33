import sys

from cnnlib.grade.cli import main

sys.exit(main())
