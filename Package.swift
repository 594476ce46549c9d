// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Likeness",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "likeness", targets: ["likeness"]),
        .library(name: "LikenessEngine", targets: ["LikenessEngine"]),
        .library(name: "LikenessImaging", targets: ["LikenessImaging"]),
        .library(name: "LikenessKit", targets: ["LikenessKit"]),
        .library(name: "LikenessStudio", targets: ["LikenessStudio"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CCurses", path: "Sources/CCurses"),
        .systemLibrary(name: "CSixel", path: "Sources/CSixel"),
        .target(
            name: "CImageIO",
            path: "Sources/CImageIO",
            linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg")]
        ),
        .target(
            name: "CLikenessKernels",
            dependencies: ["CLikenessBF16"],
            path: "Sources/CLikenessKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        // bfloat16 GEMM (ComputePrecision.bf16). Its AVX512-BF16 functions carry
        // __attribute__((target("avx512bf16,..."))) (the per-function form of -mavx512bf16) and run
        // only after a CPUID check, so the rest of the library stays baseline x86-64.
        .target(
            name: "CLikenessBF16",
            path: "Sources/CLikenessBF16",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(
            name: "LikenessEngine",
            dependencies: ["CBLAS", "CLikenessKernels", "CLikenessBF16"],
            path: "Sources/LikenessEngine",
            // The CLIP BPE merges (MIT) for single-file checkpoints, which carry no tokenizer.
            resources: [.copy("Resources/clip-bpe")],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
        .target(
            name: "LikenessImaging",
            dependencies: ["CImageIO", "CSixel"],
            path: "Sources/LikenessImaging"
        ),
        // Shared by the CLI and the studio: object gallery, outputs, PNG parameters, settings paths.
        .target(
            name: "LikenessKit",
            dependencies: ["LikenessEngine", "LikenessImaging"],
            path: "Sources/LikenessKit"
        ),
        // The terminal studio: state + pure update + view into a cell grid; the curses driver paints it.
        .target(
            name: "LikenessStudio",
            dependencies: ["LikenessKit", "LikenessEngine", "LikenessImaging", "CCurses",
                           .product(name: "TOMLKit", package: "TOMLKit")],
            path: "Sources/LikenessStudio"
        ),
        .executableTarget(
            name: "likeness",
            dependencies: [
                "LikenessEngine", "LikenessImaging", "LikenessKit", "LikenessStudio",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/likeness"
        ),
        .executableTarget(
            name: "likeness-bench",
            dependencies: ["LikenessEngine"],
            path: "Sources/LikenessBench"
        ),
        .testTarget(name: "LikenessEngineTests", dependencies: ["LikenessEngine"], path: "Tests/LikenessEngineTests"),
        .testTarget(name: "LikenessImagingTests", dependencies: ["LikenessImaging"], path: "Tests/LikenessImagingTests"),
        .testTarget(name: "LikenessKitTests", dependencies: ["LikenessKit", "LikenessEngine", "LikenessImaging"], path: "Tests/LikenessKitTests"),
        .testTarget(name: "LikenessStudioTests", dependencies: ["LikenessStudio", "LikenessKit", "LikenessEngine", "LikenessImaging"],
                    path: "Tests/LikenessStudioTests", exclude: ["Snapshots"]),
        // Runs the built `likeness` executable (swift build --build-tests builds it) on fixture models.
        .testTarget(name: "LikenessCLITests", dependencies: ["LikenessEngine", "LikenessImaging"], path: "Tests/LikenessCLITests"),
    ],
    swiftLanguageModes: [.v5]
)
