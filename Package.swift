// swift-tools-version:6.0
// Sparrow: compile-time training plans for CNNs on microcontrollers.
// No package dependencies by design: Swift toolchain only.
import PackageDescription

/// The kernel library is the one source of numerics (DESIGN.md invariant 1).
/// Contraction of a*b+c into fused multiply-add is turned off so the host build,
/// the exported C project and the rv32 build round every operation the same way;
/// it is optimised even in debug builds so the test suite trains at real speed.
let kernelFlags: [CSetting] = [
    .unsafeFlags(["-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-O2", "-std=c11"]),
]

let package = Package(
    name: "Sparrow",
    products: [
        .library(name: "Sparrow", targets: ["Sparrow"]),
        .executable(name: "sparrow", targets: ["sparrow"]),
    ],
    targets: [
        .target(name: "SparrowIR"),
        .target(name: "SparrowAutodiff", dependencies: ["SparrowIR"]),
        .target(name: "SparrowPlanner", dependencies: ["SparrowIR", "SparrowAutodiff"]),
        .target(name: "CSparrowKernels", cSettings: kernelFlags),
        .target(name: "SparrowData", dependencies: ["SparrowIR"]),
        .target(
            name: "SparrowRuntime",
            dependencies: ["SparrowIR", "SparrowAutodiff", "SparrowPlanner", "CSparrowKernels", "SparrowData"]),
        .target(name: "SparrowExport", dependencies: ["SparrowIR", "SparrowAutodiff", "SparrowPlanner", "SparrowRuntime"]),
        .target(name: "SparrowEmulator", dependencies: ["SparrowPlanner"], swiftSettings: [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"])]),
        .target(
            name: "Sparrow",
            dependencies: ["SparrowIR", "SparrowAutodiff", "SparrowPlanner", "SparrowRuntime", "SparrowData", "SparrowExport", "SparrowEmulator"]),
        .executableTarget(name: "sparrow", dependencies: ["Sparrow"]),

        .testTarget(name: "SparrowIRTests", dependencies: ["SparrowIR"]),
        .testTarget(name: "SparrowAutodiffTests", dependencies: ["SparrowAutodiff", "SparrowRuntime"]),
        .testTarget(name: "SparrowPlannerTests", dependencies: ["SparrowPlanner", "SparrowAutodiff"]),
        .testTarget(name: "CSparrowKernelsTests", dependencies: ["CSparrowKernels"]),
        .testTarget(name: "SparrowDataTests", dependencies: ["SparrowData"]),
        .testTarget(name: "SparrowRuntimeTests", dependencies: ["SparrowRuntime"]),
        .testTarget(name: "SparrowEmulatorTests", dependencies: ["SparrowEmulator", "SparrowExport", "Sparrow"]),
        .testTarget(name: "SparrowTests", dependencies: ["Sparrow"]),
    ]
)
