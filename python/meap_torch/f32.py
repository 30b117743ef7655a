"""Rounding a Python float to float32, where the engine stores a number in a Float32Array."""
import struct


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]
