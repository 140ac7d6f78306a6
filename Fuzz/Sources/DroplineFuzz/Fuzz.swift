import DroplineFuzzKit

/// libFuzzer entry point: the first byte picks the target (XML extractor or YAML definition
/// loader), the rest is the input. Any crash, hang or leak is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    FuzzTargets.run(bytes)
    return 0
}
