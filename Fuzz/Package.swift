// swift-tools-version: 6.1
// Fuzz targets for the XML extractor and the definition loader (libFuzzer). Kept apart so that
// `swift test` never builds them. Run: fuzz/run [SECONDS]  (see ../docs/fuzzing.md).
import PackageDescription

let package = Package(
    name: "DroplineFuzz",
    // The parent package is named after its folder ("main" in a checkout called main); refer to it by path identity.
    dependencies: [.package(name: "main", path: "..")],
    targets: [
        .executableTarget(
            name: "DroplineFuzz",
            dependencies: [.product(name: "DroplineFuzzKit", package: "main")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
