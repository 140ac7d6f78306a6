// swift-tools-version: 6.1
import PackageDescription

/// Release builds leave out the run-time checks of exclusive access (debug builds, which the
/// tests run, keep them): in the per-record loops they were a few percent of the run's CPU.
/// They also let generic and small functions of one module be specialized and inlined in
/// another (the record path crosses five modules).
let releaseSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "Dropline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dropline", targets: ["dropline"]),
        .library(name: "DroplineFuzzKit", targets: ["DroplineFuzzKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .target(name: "CDroplineSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "CDroplineSystem"),
        .target(
            name: "DroplineCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "DroplineXML", dependencies: ["CLibXML2", "DroplineCore"]),
        .target(name: "DroplineExtract", dependencies: ["DroplineCore", "DroplineXML"]),
        .target(name: "DroplineTransform", dependencies: ["DroplineCore"]),
        .target(name: "DroplineValidate", dependencies: ["DroplineCore"]),
        .target(
            name: "DroplineLoad",
            dependencies: ["DroplineCore", "CDroplineSQLite", "CDroplineSystem", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")]
        ),
        .target(name: "DroplineProfessionalServices", dependencies: ["DroplineCore"]),
        .target(
            name: "DroplineRuntime",
            dependencies: [
                "DroplineCore", "DroplineXML", "DroplineExtract", "DroplineTransform",
                "DroplineValidate", "DroplineLoad", "DroplineProfessionalServices",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "DroplineTesting", dependencies: ["DroplineCore", "DroplineRuntime"]),
        .target(name: "DroplineFuzzKit", dependencies: ["DroplineCore", "DroplineXML", "DroplineExtract"]),
        .executableTarget(
            name: "dropline",
            dependencies: [
                "DroplineCore", "DroplineRuntime", "DroplineProfessionalServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "DroplineCoreTests", dependencies: ["DroplineCore", "DroplineTesting"]),
        .testTarget(name: "DroplineXMLTests", dependencies: ["DroplineXML", "DroplineExtract", "DroplineTesting", "DroplineFuzzKit"]),
        .testTarget(
            name: "DroplineStageTests",
            dependencies: ["DroplineExtract", "DroplineTransform", "DroplineValidate", "DroplineLoad", "DroplineTesting", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["dropline", "DroplineRuntime", "DroplineTesting", "DroplineXML", .product(name: "GRDB", package: "GRDB.swift")]),
    ]
)

for target in package.targets where [.regular, .executable].contains(target.type) && !target.name.hasPrefix("CDropline") {
    target.swiftSettings = (target.swiftSettings ?? []) + releaseSettings
}
