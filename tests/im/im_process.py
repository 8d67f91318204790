"""A standalone IM node, what ``toutiao im`` runs: ``python -m tests.im.im_process PORT``.

Settings come from the ``TOUTIAO_*`` environment the cross-process tests set.
"""

from __future__ import annotations

import asyncio
import sys

from toutiao.config import Settings
from toutiao.im import run_im

if __name__ == "__main__":
    asyncio.run(run_im(Settings(), "127.0.0.1", int(sys.argv[1])))
