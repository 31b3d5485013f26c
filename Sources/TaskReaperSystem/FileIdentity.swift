/// (st_dev, st_ino): what names one file for as long as it exists, whatever it is called.
/// The harness compares exactly this before it removes a task directory ("task directory
/// identity changed before deletion"), and it is how a /proc scan recognises a directory.
public struct FileIdentity: Hashable, Sendable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    public init(_ status: FileStatus) {
        self.init(device: status.device, inode: status.inode)
    }

    public var description: String { "dev \(device) ino \(inode)" }
}

extension DirectoryHandle {
    /// The identity of the directory this handle holds open (fstat on our fd, so it cannot
    /// name anything the path was swapped to since).
    public func identity() throws(SystemError) -> FileIdentity { FileIdentity(try status()) }
}
