"""Payload encoding: small payloads as is, large ones zlib-compressed; a tag byte says which."""

import zlib

COMPRESS_ABOVE = 4096


def encode_payload(data: bytes) -> bytes:
    if len(data) > COMPRESS_ABOVE:
        return b"z" + zlib.compress(data, 1)
    return b"j" + data


def decode_payload(blob: bytes) -> bytes:
    tag, body = blob[:1], blob[1:]
    if tag == b"z":
        return zlib.decompress(body)
    if tag == b"j":
        return body
    raise ValueError(f"unknown payload encoding {tag!r}")
