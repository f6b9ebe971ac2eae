"""Transport protocols (UDP, TCP) over IPv4."""
