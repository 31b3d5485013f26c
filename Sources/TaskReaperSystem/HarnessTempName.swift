#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// The harness's own temp and tombstone name (`random_temp_name` in its persistence.rs):
/// `.aft-tmp-` + 32 lowercase hex from 16 `getrandom` bytes. We use exactly its pattern so
/// the harness (and every reader) treats our temps and tombstones as its own: never a task.
public enum HarnessTempName {
    public static let prefix = ".aft-tmp-"
    static let hexDigits = 32

    /// A fresh name. 128 random bits: a collision is only ever an attacker's pre-placed
    /// name, which every caller handles (O_EXCL, RENAME_NOREPLACE) by drawing another.
    public static func make() throws(SystemError) -> FileName {
        FileName(prefix + (try randomHex(bytes: hexDigits / 2)))
    }

    /// `2 * bytes` lowercase hex digits from getrandom: also the harness's quarantine suffix
    /// (`<name>.<reason>-<16 hex>`, 8 bytes).
    public static func randomHex(bytes count: Int) throws(SystemError) -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        guard taskreaper_random_bytes(&bytes, bytes.count) == 0 else { throw SystemError("getrandom", "\(count) bytes") }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether `name` has exactly that shape (what `finishTombstone` insists on).
    public static func matches(_ name: FileName) -> Bool {
        let utf8 = Array(name.escaped.utf8)
        let prefixLength = prefix.utf8.count
        guard utf8.count == prefixLength + hexDigits, utf8.starts(with: prefix.utf8) else { return false }
        return utf8[prefixLength...].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}
