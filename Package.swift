// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "taskreaper",
    products: [
        .executable(name: "taskreaper", targets: ["taskreaper"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // libsystemd through pkg-config: sd-journal, sd-daemon (notify, socket activation).
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // The harness's aft.db (CONTRACT §6).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // epoll, signalfd, pidfd: not in Swift's Glibc module.
        .target(name: "CLinux"),
        // The contract: task document, marker, policy, decide(). No syscalls, no clock.
        .target(name: "TaskReaperCore"),
        // The world: dir-fd tree access, atomic writes, probes, journald.
        .target(
            name: "TaskReaperSystem",
            dependencies: [
                "TaskReaperCore", "CSystemd", "CLinux", "CSQLite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Observe/decide/act glue: the sweeper, the watcher and its parts. No syscalls
        // of its own: everything goes through TaskReaperSystem.
        .target(
            name: "TaskReaper",
            dependencies: [
                "TaskReaperCore", "TaskReaperSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .executableTarget(
            name: "taskreaper",
            dependencies: [
                "TaskReaper", "TaskReaperCore", "TaskReaperSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shared by the test targets only: temp trees, task fixtures, harness-style processes.
        .target(name: "TaskReaperTestSupport", dependencies: ["CSQLite"], path: "Tests/Support"),
        .testTarget(name: "TaskReaperCoreTests", dependencies: ["TaskReaperCore"]),
        .testTarget(
            name: "TaskReaperSystemTests",
            dependencies: ["TaskReaperSystem", "TaskReaperCore", "TaskReaperTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "TaskReaperTests",
            dependencies: ["TaskReaper", "TaskReaperSystem", "TaskReaperCore", "TaskReaperTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["TaskReaperCore", "TaskReaperTestSupport"]
        ),
    ]
)
