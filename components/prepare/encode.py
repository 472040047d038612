"""tf.train.Example and gzip TFRecord bytes built column by column, without importing TensorFlow.

The bytes equal `Example.SerializeToString(deterministic=True)` (features sorted by name) and
what `tf.io.TFRecordWriter` frames; tests compare both against TensorFlow. Workers skip the
seconds a TensorFlow import costs, and a batch costs a few list comprehensions instead of a
protobuf object per row.
"""

from __future__ import annotations

# First: Beam imported through beam_import, which hides its import-time chatter.
from components.prepare import beam_import  # noqa: F401

# isort: split

import struct
from collections.abc import Sequence

import google_crc32c  # C crc32c; installed with google-cloud-storage, which kfp requires
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.schema import Schema

# Distinct values whose encoded feature is remembered, per string or int column.
CACHE_VALUES = 1 << 14
_SMALL = 1 << 14
_PACK_F32 = struct.Struct("<f").pack
_PACK_U32 = struct.Struct("<I").pack
_PACK_U64 = struct.Struct("<Q").pack
_INF32 = {True: _PACK_F32(float("-inf")), False: _PACK_F32(float("inf"))}


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL_VARINTS = [_encode_varint(v) for v in range(_SMALL)]


def varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative int64 values take ten bytes (two's complement)."""
    if 0 <= value < _SMALL:
        return _SMALL_VARINTS[value]
    return _encode_varint(value & 0xFFFFFFFFFFFFFFFF)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: tag byte, varint length, payload."""
    return bytes((tag,)) + varint(len(payload)) + payload


def _map_entry(name: bytes, feature: bytes) -> bytes:
    # Features.feature is map<string, Feature>: each entry is a repeated field 1 holding
    # {key = 1, value = 2}; Feature has bytes_list = 1, float_list = 2, int64_list = 3 and
    # each list holds field 1 (packed for numbers).
    return _field(0x0A, _field(0x0A, name) + _field(0x12, feature))


class ExampleEncoder:
    """Columns of typed values (None = missing) -> serialized tf.train.Example per row.

    A missing value leaves its feature out; a row with no values is the empty Example (b"").
    """

    def __init__(self, schema: Schema):
        columns = sorted(schema.columns, key=lambda c: c.name.encode("utf-8"))
        self._order = [schema.names.index(c.name) for c in columns]
        self._encoders = [_ENTRIES[c.type](c.name.encode("utf-8")) for c in columns]

    def encode(self, columns: Sequence[Sequence]) -> list[bytes]:
        """One serialized Example per row; `columns` are in schema order, equally long."""
        entries = [encode(columns[i]) for i, encode in zip(self._order, self._encoders)]
        bodies = [b"".join(parts) for parts in zip(*entries)]
        return [b"\n" + varint(len(body)) + body if body else b"" for body in bodies]


def _float_entries(name: bytes):
    head = _map_entry(name, _field(0x12, _field(0x0A, b"\0\0\0\0")))[:-4]

    def entries(values):
        try:
            return [b"" if v is None else head + _PACK_F32(v) for v in values]
        except OverflowError:  # beyond float32: protobuf stores an infinity
            return [b"" if v is None else head + _f32(v) for v in values]

    return entries


def _int_entries(name: bytes):
    heads = {n: _map_entry(name, _field(0x1A, _field(0x0A, b"\0" * n)))[:-n] for n in range(1, 11)}

    def build(value):
        packed = varint(value)
        return heads[len(packed)] + packed

    return _cached(build)


def _string_entries(name: bytes):
    def build(value):
        return _map_entry(name, _field(0x0A, _field(0x0A, value.encode("utf-8"))))

    return _cached(build)


def _cached(build):
    """Column encoder remembering the entry of up to CACHE_VALUES distinct values."""
    cache: dict = {}

    def miss(value):
        entry = build(value)
        if len(cache) < CACHE_VALUES:
            cache[value] = entry
        return entry

    def entries(values):
        get = cache.get
        return [b"" if v is None else get(v) or miss(v) for v in values]

    return entries


_ENTRIES = {"int": _int_entries, "float": _float_entries, "string": _string_entries}


def _f32(value: float) -> bytes:
    try:
        return _PACK_F32(value)
    except OverflowError:
        return _INF32[value < 0]


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class TFRecordFile:
    """A gzip TFRecord file on any Beam filesystem, written a batch of records at a time.

    Same records, same bytes: gzip output carries no timestamp, so a retried chunk rewrites
    its file identically.
    """

    def __init__(self, path: str):
        self.path = path
        self.records = 0
        self._file = FileSystems.create(
            path, mime_type="application/octet-stream", compression_type=CompressionTypes.GZIP
        )
        self._headers: dict[int, bytes] = {}

    def write(self, records: Sequence[bytes]) -> None:
        if not records:
            return
        parts = []
        headers = self._headers
        for record in records:
            header = headers.get(len(record))
            if header is None:
                length = _PACK_U64(len(record))
                header = headers[len(record)] = length + _PACK_U32(_masked_crc(length))
            parts += (header, record, _PACK_U32(_masked_crc(record)))
        self._file.write(b"".join(parts))
        self.records += len(records)

    def close(self) -> None:
        self._file.close()
