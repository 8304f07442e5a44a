import sys

from incubo.cli.main import main

sys.exit(main())
