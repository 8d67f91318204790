"""Recommendation: behaviour events, content similarity, recall/filter/rank and feed history.

No gRPC here; ``toutiao.rpc`` exposes :class:`engine.Recommender` over the wire.
"""
