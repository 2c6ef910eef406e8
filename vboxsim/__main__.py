"""`python -m vboxsim ARGS` behaves like `VBoxManage ARGS`."""

import sys

from vboxsim.cli import main

sys.exit(main())
