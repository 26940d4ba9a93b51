import Foundation

/// Exact, bit-level conversions between `Float` (IEEE binary32) and the two 16-bit float
/// formats found in checkpoints, working on raw `UInt16` bit patterns so they behave the
/// same on every platform (Swift's `Float16` type is missing on Intel macOS).
///
/// * **F16** (IEEE binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits. Largest
///   finite value 65504, smallest normal 2⁻¹⁴, smallest subnormal 2⁻²⁴.
/// * **BF16** (bfloat16): the top 16 bits of a binary32 — 1 sign, 8 exponent, 7 mantissa bits.
///
/// Widening (16 → 32 bits) is exact for every input: signed zeros, subnormals, ±inf, and NaN
/// (NaN payloads are kept). Narrowing (32 → 16 bits) rounds to nearest, ties to even —
/// what PyTorch's `.to(torch.float16)` / `.to(torch.bfloat16)` and numpy do — overflowing
/// to ±inf; NaN stays NaN (quiet, sign and top payload bits kept where they fit).
public enum HalfPrecision {

    // MARK: F16

    /// The `Float` with the value of the F16 bit pattern `bits`. Exact for all 65536 inputs.
    @inlinable
    public static func float(fromF16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2⁻²⁴ (exact: mantissa < 2¹⁰ fits a Float).
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: magnitude.bitPattern | sign)
        }
        if exponent == 0x1F {
            // ±inf (mantissa 0) or NaN (payload moved to the top of the F32 mantissa).
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        // Normal: rebias the exponent from 15 to 127.
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The F16 bit pattern nearest to `value` (round to nearest, ties to even). Values of
    /// magnitude ≥ 65520 become ±inf; magnitudes ≤ 2⁻²⁵ become ±0 (2⁻²⁵ itself is a tie
    /// that rounds to even, i.e. zero); NaN becomes a quiet NaN.
    @inlinable
    public static func f16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x007F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let e = exponent - 127  // unbiased; F32 subnormals give -127 and flush to zero below
        if e > 15 { return sign | 0x7C00 }
        if e >= -14 {
            // Normal F16 range. A carry out of the mantissa correctly bumps the exponent,
            // and a carry out of the largest exponent yields exactly 0x7C00 (inf).
            var half = UInt32(e + 15) << 10 | (mantissa >> 13)
            let rest = mantissa & 0x1FFF
            if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half += 1 }
            return sign | UInt16(truncatingIfNeeded: half)
        }
        if e < -25 { return sign }
        // Subnormal F16: value = m × 2^(e-23) with the implicit bit, and the F16 unit is
        // 2⁻²⁴, so the F16 mantissa is m >> (-1 - e), rounded. Shift is 14...24.
        let m = mantissa | 0x0080_0000
        let shift = UInt32(-1 - e)
        var half = m >> shift
        let rest = m & ((1 << shift) - 1)
        let halfway: UInt32 = 1 << (shift - 1)
        if rest > halfway || (rest == halfway && half & 1 == 1) { half += 1 }
        return sign | UInt16(truncatingIfNeeded: half)
    }

    // MARK: BF16

    /// The `Float` with the value of the BF16 bit pattern `bits`: those bits followed by
    /// 16 zero bits. Exact for all inputs.
    @inlinable
    public static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The BF16 bit pattern nearest to `value` (round to nearest, ties to even); overflow
    /// gives ±inf, NaN gives a quiet NaN with the same sign.
    @inlinable
    public static func bf16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    // MARK: Bulk conversions

    /// Widens `count` little-endian F16 values starting at `source` (any alignment) into
    /// `destination`, which must have room for `count` floats.
    public static func widenF16(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let raw = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
            destination[i] = float(fromF16: UInt16(littleEndian: raw))
        }
    }

    /// Widens `count` little-endian BF16 values starting at `source` (any alignment) into
    /// `destination`, which must have room for `count` floats.
    public static func widenBF16(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let raw = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
            destination[i] = float(fromBF16: UInt16(littleEndian: raw))
        }
    }

    /// Narrows `values` to little-endian F16 bytes (2 bytes per value), rounding to nearest even.
    public static func f16Bytes(_ values: UnsafeBufferPointer<Float>, into destination: UnsafeMutableRawPointer) {
        for (i, v) in values.enumerated() {
            destination.storeBytes(of: f16Bits(from: v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        }
    }

    /// Narrows `values` to little-endian BF16 bytes (2 bytes per value), rounding to nearest even.
    public static func bf16Bytes(_ values: UnsafeBufferPointer<Float>, into destination: UnsafeMutableRawPointer) {
        for (i, v) in values.enumerated() {
            destination.storeBytes(of: bf16Bits(from: v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        }
    }
}
