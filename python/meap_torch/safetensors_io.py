"""Reads the engine's safetensors (src/export/safetensors.ts) with the standard library only: 8-byte
little-endian header length, a JSON header, raw little-endian F32 data."""
import json
import struct
import sys
from array import array


def read_safetensors(path: str) -> tuple:
    """(name -> array('f') of flat values, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {entry['dtype']}, the engine writes F32")
        start, end = entry["data_offsets"]
        values = array("f")
        values.frombytes(data[base + start:base + end])
        if sys.byteorder != "little":
            values.byteswap()
        tensors[name] = values
    return tensors, metadata
