// SHA-256 (FIPS 180-4), streaming, for fingerprints of model weights, reference images and object
// tokens. Tested against the FIPS 180-2 example vectors (Tests/LikenessKitTests/SHA256Tests.swift).
// Not constant-time; never use it for secrets.

import Foundation

public struct SHA256: Sendable {
    private var state: [UInt32] = [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    public init() { buffer.reserveCapacity(64) }

    public mutating func update<D: DataProtocol>(_ data: D) {
        for region in data.regions {
            region.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                update(UnsafeRawBufferPointer(start: base, count: raw.count))
            }
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var i = 0
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, bytes.count)
            buffer.append(contentsOf: bytes[0..<take])
            i = take
            if buffer.count == 64 {
                buffer.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let blocks = (bytes.count - i) / 64
        if blocks > 0 {
            compress(bytes.baseAddress! + i, blocks: blocks)
            i += blocks * 64
        }
        if i < bytes.count { buffer.append(contentsOf: bytes[i...]) }
    }

    /// The 32-byte digest; the hasher itself is left unchanged.
    public func finalize() -> [UInt8] {
        var copy = self
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        while (copy.buffer.count + tail.count) % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        let savedLength = copy.length
        tail.withUnsafeBytes { copy.update($0) }
        copy.length = savedLength
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in copy.state {
            out += [UInt8(word >> 24), UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
        }
        return out
    }

    public func hexDigest() -> String { finalize().map { String(format: "%02x", $0) }.joined() }

    public static func hash<D: DataProtocol>(_ data: D) -> String {
        var h = SHA256()
        h.update(data)
        return h.hexDigest()
    }

    /// Hashes a file in 1 MiB reads.
    public static func hash(fileAt url: URL) throws -> String {
        var h = SHA256()
        try h.update(fileAt: url)
        return h.hexDigest()
    }

    public mutating func update(fileAt url: URL) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw KitError("\(url.path): cannot open the file for reading")
        }
        defer { try? handle.close() }
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw KitError("\(url.path): read failed: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            update(chunk)
        }
    }

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// `blocks` consecutive 64-byte blocks. Written with while loops, pointer access and explicit
    /// rotations so that debug builds (no optimizer) still hash a few tens of MB/s.
    private mutating func compress(_ start: UnsafeRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { wb in
            guard let w = wb.baseAddress else { return }
            state.withUnsafeMutableBufferPointer { sb in
                guard let st = sb.baseAddress else { return }
                Self.k.withUnsafeBufferPointer { kb in
                    guard let k = kb.baseAddress else { return }
                    var n = 0
                    while n < blocks {
                        Self.round(start + n &* 64, w, st, k)
                        n &+= 1
                    }
                }
            }
        }
    }

    private static func round(_ block: UnsafeRawPointer, _ w: UnsafeMutablePointer<UInt32>,
                              _ st: UnsafeMutablePointer<UInt32>, _ k: UnsafePointer<UInt32>) {
        var t = 0
        while t < 16 {
            w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self))
            t &+= 1
        }
        while t < 64 {
            let x = w[t &- 15], y = w[t &- 2]
            let s0 = (x >> 7 | x << 25) ^ (x >> 18 | x << 14) ^ (x >> 3)
            let s1 = (y >> 17 | y << 15) ^ (y >> 19 | y << 13) ^ (y >> 10)
            w[t] = w[t &- 16] &+ s0 &+ w[t &- 7] &+ s1
            t &+= 1
        }
        var a = st[0], b = st[1], c = st[2], d = st[3]
        var e = st[4], f = st[5], g = st[6], h = st[7]
        var i = 0
        while i < 64 {
            let s1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
            let ch = (e & f) ^ (~e & g)
            let t1 = h &+ s1 &+ ch &+ k[i] &+ w[i]
            let s0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            h = g; g = f; f = e; e = d &+ t1
            d = c; c = b; b = a; a = t1 &+ s0 &+ maj
            i &+= 1
        }
        st[0] &+= a; st[1] &+= b; st[2] &+= c; st[3] &+= d
        st[4] &+= e; st[5] &+= f; st[6] &+= g; st[7] &+= h
    }
}
