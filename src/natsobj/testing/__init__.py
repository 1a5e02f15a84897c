"""Helpers for testing and benchmarking natsobj against real nats-server processes.

`natsobj.testing.cluster.Cluster` runs a 3-node JetStream cluster on 127.0.0.1 with fault injection.
"""
