from tests.h2.fixtures import certs, h2server, start_harness, tls_server  # noqa: F401
