// OpenBLAS kernel selection. OpenBLAS 0.3.21 (Debian 12's build, DYNAMIC_ARCH) does not
// know recent Intel CPUs (e.g. family 6 model 207) and falls back to its SSE3 "Prescott"
// kernels, about 4x slower at sgemm than its AVX-512 "SkylakeX" kernels on the same CPU.
// Before the first sgemm, when OPENBLAS_CORETYPE is unset and OpenBLAS chose Prescott on a
// CPU whose /proc/cpuinfo flags show AVX-512 (F/BW/DQ/VL/CD) or AVX2+FMA, the engine sets
// OPENBLAS_CORETYPE to SkylakeX or Haswell and re-runs OpenBLAS' own dynamic core
// selection (gotoblas_dynamic_quit/init, exported by DYNAMIC_ARCH builds). Anything else
// (a user's OPENBLAS_CORETYPE, a correctly detected core, non-Linux, a non-dynamic build)
// is left alone. Results change only by float32 rounding (different kernels).
// OpenBLAS is then set to one thread: the engine splits sgemms across its own threads
// (Ops.sgemm), so OpenBLAS' spinning worker threads never compete with the engine's loops.

import CBLAS
import Foundation

/// The OpenBLAS kernel set in use.
public enum BLASCore {
    /// Name of OpenBLAS' active core (e.g. "SkylakeX"), after the engine's selection.
    public static var name: String {
        _ = configured
        return String(cString: openblas_get_corename())
    }

    /// Runs once, before the first sgemm (Swift globals initialise lazily and thread-safely).
    static let configured: Void = {
        selectCore()
        openblas_set_num_threads(1)
        EngineMemory.configure()
    }()

    private static func selectCore() {
        #if os(Linux) && arch(x86_64)
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        let current = String(cString: openblas_get_corename()).lowercased()
        guard current == "prescott" || current == "core2" || current == "nehalem" else { return }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(flagsLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
        let target: String
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(flags.contains) {
            target = "SkylakeX"
        } else if ["avx2", "fma"].allSatisfy(flags.contains) {
            target = "Haswell"
        } else {
            return
        }
        guard let quitSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
              let initSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init") else { return }
        typealias Hook = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", target, 1)
        unsafeBitCast(quitSym, to: Hook.self)()
        unsafeBitCast(initSym, to: Hook.self)()
        #endif
    }
}
