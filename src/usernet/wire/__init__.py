"""Packet formats: stateless encoders and decoders over precompiled structs.

Nothing here knows about namespaces, devices or time; every function takes
bytes (or a memoryview) and returns plain values, so the receive path can
parse a header with one ``Struct.unpack_from`` and no intermediate objects.
"""
