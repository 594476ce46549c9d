// Matches the numpy routines diffusers uses to build timestep and sigma lists, in float64:
// np.linspace (i * step + start, last element = stop), np.arange with a float step (length
// ceil((stop - start) / step), values start + i * ((start + step) - start)), np.round (half to
// even) and np.interp on an integer grid. Limits: only the call patterns diffusers uses.

import Foundation

enum NumpyCompat {
    /// `np.linspace(start, stop, num)` (endpoint=True).
    static func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
        guard num > 0 else { return [] }
        if num == 1 { return [start] }
        let step = (stop - start) / Double(num - 1)
        var out = (0..<num).map { Double($0) * step + start }
        out[num - 1] = stop
        return out
    }

    /// `np.arange(start, stop, step)` for float arguments.
    static func arange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let length = Int(((stop - start) / step).rounded(.up))
        guard length > 0 else { return [] }
        if length == 1 { return [start] }
        let delta = (start + step) - start
        return (0..<length).map { $0 == 0 ? start : start + Double($0) * delta }
    }

    /// `np.round` (round half to even).
    static func round(_ x: Double) -> Double {
        x.rounded(.toNearestOrEven)
    }

    /// `np.interp(x, arange(fp.count), fp)` with clamping at both ends.
    static func interp(_ x: Double, _ fp: [Float]) -> Double {
        guard let first = fp.first, let last = fp.last else { return .nan }
        if x <= 0 { return Double(first) }
        let n = fp.count
        if x >= Double(n - 1) { return Double(last) }
        let j = Int(x.rounded(.down))
        if Double(j) == x { return Double(fp[j]) }
        let slope = (Double(fp[j + 1]) - Double(fp[j])) / 1.0
        return slope * (x - Double(j)) + Double(fp[j])
    }
}
