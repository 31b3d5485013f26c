#if canImport(Glibc)
import Glibc
#endif

extension DirectoryHandle {
    /// A single name in this directory, nothing else. `O_NOFOLLOW` and `AT_SYMLINK_NOFOLLOW`
    /// protect only the LAST component: "a/b" would follow a link at "a", and "." or ".."
    /// would name this directory or its parent. Every operation that removes or writes
    /// calls this first: input names come from hostile trees and from callers' mistakes.
    static func requireSingleName(_ name: FileName, in directory: DirectoryHandle) throws(SystemError) {
        guard name.isSingleEntry else {
            throw SystemError("use of a name that is not one entry", directory.childPath(name), errno: EINVAL)
        }
    }

    /// The per-entry check of the plain operations (open, stat, unlink, rename...): a name
    /// whose escaped form holds an escape must decode to one entry (`\x2f` or `\x00` would
    /// spell what its text does not show); a verbatim name is exactly what it shows, and costs
    /// nothing more here (the removals and writes of whole trees check it fully, above).
    static func requireOneEntryBytes(_ name: FileName, in directory: DirectoryHandle) throws(SystemError) {
        if name.isVerbatim { return }
        try requireSingleName(name, in: directory)
    }
}
