"""AF_UNIX: local sockets, named in the filesystem or per namespace."""
