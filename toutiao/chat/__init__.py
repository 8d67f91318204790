"""The chat assistant: answers the IM server's chat messages over gRPC (``ChatBotService``).

``assistant`` holds the logic, ``server`` the gRPC service, ``client`` what the IM server
calls (``runtime.chat.ask``), ``main`` how processes run it.
"""

from toutiao.chat.assistant import Assistant

__all__ = ["Assistant"]
