from __future__ import annotations

import sys

from scripts.shots import main

sys.exit(main())
