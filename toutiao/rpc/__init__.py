"""gRPC surfaces: the recommendation service (server, client, generated protos)."""
