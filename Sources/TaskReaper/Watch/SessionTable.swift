import TaskReaperSystem

/// A session directory while the watch registry knows it: a number the registry hands out
/// when the session is first named (discovery, an event) and takes back when it forgets it.
/// The queue, the process watches and the wd table key on it: 4 bytes where a tree path and
/// a name were 40 (and a hash of two strings), at 100 000 sessions in five tables.
/// A number is reused after its session is forgotten: whoever held it forgets it in the
/// same step (`RegistryChanges.forgotten`), and a late look at a reused number is one
/// look at another session, never a decision about the wrong one (the reconciler observes).
struct SessionID: Hashable, CustomStringConvertible {
    let raw: UInt32
    var description: String { "#\(raw)" }
}

/// The registry's sessions: the only copy of each session's name, its tree (a number the
/// registry gives its trees) and its inotify watch, by `SessionID`; found by tree and name
/// through an open-addressing index of ids (4 bytes a slot, not a dictionary of names).
struct SessionTable {
    struct Session {
        let name: FileName
        let tree: UInt32
        /// The session directory's inotify watch, while it has one.
        var wd: Int32?
    }

    /// By id; nil: a free number (in `free`).
    private var sessions: [Session?] = []
    private var free: [UInt32] = []
    /// id + 1 in the slot its tree and name hash to (or the next free one: linear probing);
    /// 0: empty. At most half full, so a probe ends soon.
    private var slots: [UInt32] = []
    var count: Int { sessions.count - free.count }

    subscript(id: SessionID) -> Session? {
        Int(id.raw) < sessions.count ? sessions[Int(id.raw)] : nil
    }

    func find(tree: UInt32, name: FileName) -> SessionID? {
        guard !slots.isEmpty else { return nil }
        var slot = home(tree: tree, name: name)
        while slots[slot] != 0 {
            let id = slots[slot] - 1
            if let session = sessions[Int(id)], session.tree == tree, session.name == name { return SessionID(raw: id) }
            slot = (slot + 1) & (slots.count - 1)
        }
        return nil
    }

    /// The session's id, given it now if it has none.
    mutating func id(tree: UInt32, name: FileName) -> SessionID {
        if let id = find(tree: tree, name: name) { return id }
        if (count + 1) * 2 > slots.count { resize(to: max(64, slots.count * 2)) }
        let raw: UInt32
        if let reused = free.popLast() {
            raw = reused
            sessions[Int(raw)] = Session(name: name, tree: tree, wd: nil)
        } else {
            raw = UInt32(sessions.count)
            sessions.append(Session(name: name, tree: tree, wd: nil))
        }
        insert(raw)
        return SessionID(raw: raw)
    }

    mutating func setWatch(_ wd: Int32?, of id: SessionID) {
        guard self[id] != nil else { return }
        sessions[Int(id.raw)]?.wd = wd
    }

    /// Every session is unwatched (the event source changed): the next look watches it anew.
    mutating func forgetWatches() {
        for index in sessions.indices where sessions[index]?.wd != nil { sessions[index]?.wd = nil }
    }

    /// Forgets the session; its number is free for the next new one.
    mutating func remove(_ id: SessionID) {
        guard let session = self[id] else { return }
        var slot = home(tree: session.tree, name: session.name)
        while slots[slot] != id.raw + 1 { slot = (slot + 1) & (slots.count - 1) }
        // Backward-shift deletion: later entries of the probe run move up into the hole, so a
        // lookup never needs a tombstone.
        let mask = slots.count - 1
        var hole = slot
        var next = (hole + 1) & mask
        while slots[next] != 0 {
            let moved = slots[next] - 1
            let want = sessions[Int(moved)].map { home(tree: $0.tree, name: $0.name) } ?? next
            // Moves up unless its home lies cyclically in (hole, next].
            if (next - want) & mask >= (next - hole) & mask {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = 0
        sessions[Int(id.raw)] = nil
        free.append(id.raw)
        if count == 0 {
            // Every session gone (a tree or root went): the room goes too.
            sessions = []
            free = []
            slots = []
        }
    }

    /// Every session of a tree (a scan: trees go rarely).
    func ids(inTree tree: UInt32) -> [SessionID] {
        sessions.indices.compactMap { index in sessions[index]?.tree == tree ? SessionID(raw: UInt32(index)) : nil }
    }

    // MARK: The index

    private func home(tree: UInt32, name: FileName) -> Int {
        var hasher = Hasher()
        hasher.combine(tree)
        hasher.combine(name)
        return Int(UInt(bitPattern: hasher.finalize()) & UInt(slots.count - 1))
    }

    private mutating func insert(_ raw: UInt32) {
        guard let session = sessions[Int(raw)] else { return }
        var slot = home(tree: session.tree, name: session.name)
        while slots[slot] != 0 { slot = (slot + 1) & (slots.count - 1) }
        slots[slot] = raw + 1
    }

    private mutating func resize(to size: Int) {
        slots = [UInt32](repeating: 0, count: size)
        for raw in sessions.indices where sessions[raw] != nil { insert(UInt32(raw)) }
    }
}
