// TorchGenerator against torch 2.13 CPU: bit-exact randn/rand streams for several seeds, sizes
// (both the < 16 scalar path and the blocks-of-16 path with its tail) and call sequences.
// Reference values quoted below were printed by torch; the rest come from
// scripts/fixtures/tokenizers_sampling.py (sampling/random.safetensors).

import XCTest
@testable import LikenessEngine

final class RandomTorchTests: XCTestCase {
    // torch.manual_seed-style generator, values from torch 2.13 (x86-64).
    func testQuotedReferenceValues() {
        var g = TorchGenerator(seed: 0)
        XCTAssertEqual(g.randn(4), [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991])
        // The next small call continues the stream (and the cached second Box–Muller sample).
        XCTAssertEqual(g.randn(1), [-1.0845223665237427])
        _ = g.randn(16)
        XCTAssertEqual(g.randn(1), [-1.3985954523086548])

        g = TorchGenerator(seed: 42)
        let a = g.randn(16)
        XCTAssertEqual(Array(a.prefix(4)), [1.9269152879714966, 1.4872840642929077, 0.9007171988487244, -2.1055209636688232])
        XCTAssertEqual(Array(a.suffix(2)), [-0.7688388824462891, 0.7624453902244568])

        g = TorchGenerator(seed: (1 << 32) + 5)
        let b = g.randn(17)
        XCTAssertEqual(Array(b.prefix(4)), [1.8423298597335815, 1.2220252752304077, -0.33644935488700867, -0.9650601744651794])
        XCTAssertEqual(Array(b.suffix(2)), [1.7470314502716064, 0.7447769641876221])

        g = TorchGenerator(seed: 1)
        let c = g.randn(4 * 64 * 64)
        XCTAssertEqual(Array(c.prefix(4)), [-1.5255959033966064, -0.7502318024635315, -0.6539809107780457, -1.6094847917556763])
        XCTAssertEqual(Array(c.suffix(2)), [0.5403899550437927, 1.7959210872650146])

        g = TorchGenerator(seed: 0)
        XCTAssertEqual(g.rand(5), [0.49625658988952637, 0.7682217955589294, 0.08847743272781372, 0.13203048706054688, 0.30742281675338745])
    }

    /// Number of elements whose bit patterns differ (NaN-safe, -0 vs +0 counts).
    private func bitMismatches(_ a: [Float], _ b: [Float]) -> Int {
        guard a.count == b.count else { return max(a.count, b.count) }
        return zip(a, b).filter { $0.0.bitPattern != $0.1.bitPattern }.count
    }

    func testRandnMatchesTorchForSeedsAndSizes() throws {
        let tensors = try LikenessFixtures.tensors("sampling/random.safetensors")
        guard let meta = try LikenessFixtures.json("sampling/random.json") as? [String: Any],
              let cases = meta["randn"] as? [[String: Any]], !cases.isEmpty else {
            return XCTFail("sampling/random.json has no randn cases")
        }
        var total = 0
        for c in cases {
            guard let name = c["name"] as? String, let seed = c["seed"] as? NSNumber, let size = c["size"] as? Int,
                  let expected = tensors[name] else { return XCTFail("bad randn case \(c)") }
            var g = TorchGenerator(seed: seed.uint64Value)
            let got = g.randn(size)
            let bad = bitMismatches(got, expected)
            XCTAssertEqual(bad, 0, "randn seed \(seed) size \(size): \(bad) values differ from torch")
            total += size
        }
        print("parity randn: \(cases.count) (seed, size) cases, \(total) values, max-abs diff 0 (bit-exact)")
    }

    func testRandMatchesTorch() throws {
        let tensors = try LikenessFixtures.tensors("sampling/random.safetensors")
        guard let meta = try LikenessFixtures.json("sampling/random.json") as? [String: Any],
              let cases = meta["rand"] as? [[String: Any]], !cases.isEmpty else {
            return XCTFail("sampling/random.json has no rand cases")
        }
        for c in cases {
            guard let name = c["name"] as? String, let seed = c["seed"] as? NSNumber, let size = c["size"] as? Int,
                  let expected = tensors[name] else { return XCTFail("bad rand case \(c)") }
            var g = TorchGenerator(seed: seed.uint64Value)
            XCTAssertEqual(bitMismatches(g.rand(size), expected), 0, "rand seed \(seed)")
        }
    }

    func testConsecutiveCallsContinueTheStream() throws {
        let tensors = try LikenessFixtures.tensors("sampling/random.safetensors")
        guard let meta = try LikenessFixtures.json("sampling/random.json") as? [String: Any],
              let sequences = meta["sequences"] as? [[String: Any]], !sequences.isEmpty else {
            return XCTFail("sampling/random.json has no sequences")
        }
        for s in sequences {
            guard let seed = s["seed"] as? NSNumber, let shapes = s["shapes"] as? [[Int]], let names = s["names"] as? [String]
            else { return XCTFail("bad sequence \(s)") }
            var g = TorchGenerator(seed: seed.uint64Value)
            for (shape, name) in zip(shapes, names) {
                guard let expected = tensors[name] else { return XCTFail("missing \(name)") }
                XCTAssertEqual(bitMismatches(g.randn(shape: shape), expected), 0, "\(name) shape \(shape)")
            }
        }
    }

    func testReseedingRestartsAndForgetsCachedSample() {
        var g = TorchGenerator(seed: 3)
        let first = g.randn(3)  // leaves a cached sample behind
        g.manualSeed(3)
        XCTAssertEqual(g.randn(3), first)
        XCTAssertEqual(g.seed, 3)
        XCTAssertEqual(TorchGenerator(seed: 5).randnCopy(20), TorchGenerator(seed: (1 << 32) + 5).randnCopy(20),
                       "only the low 32 bits seed mt19937, as in PyTorch")
        XCTAssertNotEqual(TorchGenerator(seed: 5).randnCopy(20), TorchGenerator(seed: 6).randnCopy(20))
        XCTAssertEqual(g.randn(0), [])
    }
}

private extension TorchGenerator {
    func randnCopy(_ n: Int) -> [Float] {
        var copy = self
        return copy.randn(n)
    }
}
