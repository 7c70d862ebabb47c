import Foundation

/// The Fashion-MNIST subset shipped in `datasets/fashion-mnist/` (MIT licence,
/// Zalando SE; provenance in that folder's README.md): 28×28 grey images of
/// 10 clothing classes, 1,000 training and 200 test images per class.
public enum FashionMNIST {
    /// Class names by label, as published by Zalando Research.
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Where the shipped files live, relative to the repository root.
    public static let relativeDirectory = "datasets/fashion-mnist"

    /// Which half of the dataset.
    public enum Split: String, Sendable, CaseIterable {
        case train
        case test

        /// Image and label file names (the upstream names).
        public var files: (images: String, labels: String) {
            switch self {
            case .train: return ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
            case .test: return ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
            }
        }

        /// Images per class in the shipped subset.
        public var shippedPerClass: Int { self == .train ? 1_000 : 200 }
    }

    /// The shipped dataset directory under `repoRoot`, after checking that all
    /// four files exist.
    /// - Throws: `.cannotRead` naming the first missing file and the command that rebuilds it.
    public static func directory(repoRoot: String) throws(DataError) -> String {
        let directory = (repoRoot as NSString).appendingPathComponent(relativeDirectory)
        for split in Split.allCases {
            for file in [split.files.images, split.files.labels] {
                let path = (directory as NSString).appendingPathComponent(file)
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw DataError(file: path, .cannotRead(
                        reason: "missing; rebuild with `python3 tools/import_fashion_mnist.py` from the repository root"))
                }
            }
        }
        return directory
    }

    /// The repository root at or above `path`: the first directory holding
    /// both `Package.swift` and the shipped dataset. Nil when there is none.
    /// Tests pass `#filePath`; tools pass the working directory.
    public static func findRepoRoot(from path: String) -> String? {
        var candidate = URL(fileURLWithPath: path).standardizedFileURL.path
        let marker = (relativeDirectory as NSString).appendingPathComponent(Split.train.files.images)
        while true {
            let here = candidate as NSString
            if FileManager.default.fileExists(atPath: here.appendingPathComponent("Package.swift")),
               FileManager.default.fileExists(atPath: here.appendingPathComponent(marker)) {
                return candidate
            }
            let parent = here.deletingLastPathComponent
            if parent == candidate || parent.isEmpty { return nil }
            candidate = parent
        }
    }

    /// Loads one split from `directory` (as returned by `directory(repoRoot:)`),
    /// with the 10 class names attached; named "fashion-mnist/train" or "fashion-mnist/test".
    public static func load(_ split: Split, directory: String) throws(DataError) -> Dataset {
        let files = split.files
        return try Dataset.loadIDX(
            images: (directory as NSString).appendingPathComponent(files.images),
            labels: (directory as NSString).appendingPathComponent(files.labels),
            classNames: classNames, name: "fashion-mnist/\(split.rawValue)")
    }
}
