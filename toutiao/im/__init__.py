"""Socket.IO: live notifications and the chat assistant (app.md §4).

``toutiao serve`` mounts :func:`create_im_asgi` around the HTTP app; ``toutiao im`` runs
:func:`run_im` alone, fed by the message queue the API publishes to.
"""

from toutiao.im.server import (
    ImConfigError,
    close_sio,
    create_im_asgi,
    create_sio,
    run_im,
    start_fanout,
)

__all__ = ["ImConfigError", "close_sio", "create_im_asgi", "create_sio", "run_im", "start_fanout"]
