/// The Dropline release, recorded in manifests and printed by `--version`.
public enum DroplineInfo {
    public static let version = "0.1.0"
}
