// Allocation policy. Every op returns a fresh tensor, and a diffusion step allocates and frees
// the same large sizes over and over (activations of a few to a few hundred MB). glibc serves
// requests above its mmap threshold (at most 32 MB) with fresh mmap'd pages, which the kernel
// zero-fills and faults in one page at a time, and returns them to the system on free: at
// SD-1.5 size that was about 7% of a UNet step. The engine keeps freed memory in the process
// instead (no mmap for large blocks, no trimming of the heap top), so later steps reuse pages
// that are already mapped. Peak memory is unchanged; the process keeps it until exit, except
// where a large part is given back on purpose (`returnFreed`, after the pipeline releases its
// float32 weights). LIKENESS_MALLOC=system leaves the C library's defaults alone.

import CLikenessKernels
import Foundation

enum EngineMemory {
    static func configure() {
        guard ProcessInfo.processInfo.environment["LIKENESS_MALLOC"] != "system" else { return }
        _ = lk_keep_freed_memory()
    }

    /// Gives the heap's free pages back to the system now (every arena, also between blocks in
    /// use), after a large part was freed: the pages fault in again, zero-filled, when reused.
    static func returnFreed() {
        _ = lk_return_freed_memory()
    }
}
