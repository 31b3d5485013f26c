/// What one step of a checked replace (`CheckedReplace.swift`) put at the target and what it
/// expects to get back, written into the name of the temp that takes part in the step. After
/// `renameat2(RENAME_EXCHANGE)` that temp holds whatever the target held, which may be a
/// writer's newer version: the name is what lets anyone who finds the temp later (the next
/// pass, after a crash) tell whether to discard it or to put it back.
public struct ExchangeIntent: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// Our new version goes to the target; the file we decided from should come back.
        case commit
        /// A writer's version that came back goes to the target again; what we put there
        /// before should come back.
        case restore
    }

    public let kind: Kind
    /// The file the temp held before the exchange (63 bits of its digest: the top bit of
    /// the encoding is the kind).
    public let put: UInt64
    /// The file the target held when the step began.
    public let expect: UInt64

    static let putMask: UInt64 = (1 << 63) - 1

    public init(_ kind: Kind, put: FileDigest, expect: FileDigest) {
        self.kind = kind
        self.put = put.value & Self.putMask
        self.expect = expect.value
    }

    public func isPut(_ digest: FileDigest) -> Bool { digest.value & Self.putMask == put }
    public func isExpected(_ digest: FileDigest) -> Bool { digest.value == expect }

    /// 32 lowercase hex digits: exactly the shape of the harness's `.aft-tmp-<32 hex>` names.
    public var hex: String {
        let high = (kind == .restore ? 1 << 63 : 0) | put
        return Self.hex16(high) + Self.hex16(expect)
    }

    public init?<S: StringProtocol>(hex text: S) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 32, let high = Self.parse16(utf8[0..<16]), let low = Self.parse16(utf8[16..<32]) else { return nil }
        kind = high >> 63 == 1 ? .restore : .commit
        put = high & Self.putMask
        expect = low
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func parse16(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for byte in bytes {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}

/// A file's identity as one number that survives in a name: FNV-1a over (device, inode,
/// birth time). The birth time is there because ext4 hands a freed inode number to the next
/// file created: without it a later writer's file could pass for one we had put down. While
/// a checked replace holds a file open its number cannot be reused; the digest is what a
/// later pass compares, with nothing held open.
public struct FileDigest: Equatable, Sendable {
    public let value: UInt64

    public init(_ status: FileStatus) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for word in [status.device, status.inode, status.born ?? 0] {
            var w = word
            for _ in 0..<8 {
                hash = (hash ^ (w & 0xff)) &* 0x0000_0100_0000_01b3
                w >>= 8
            }
        }
        value = hash
    }
}
