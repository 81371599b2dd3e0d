package dev.kcfs.tree;

/**
 * The inode attributes every kind shares. {@code mode} is the full {@code st_mode} (type bits and
 * permissions); uid, gid and nlink are unsigned 32-bit values held in longs.
 */
public record Stat(int mode, long uid, long gid, long nlink, long mtimeSec, int mtimeNsec) {

    public FileType type() {
        return FileType.of(mode);
    }

    public int permissions() {
        return mode & ~FileType.S_IFMT;
    }

    public Stat withMode(int newMode) {
        return new Stat(newMode, uid, gid, nlink, mtimeSec, mtimeNsec);
    }

    public Stat withNlink(long newNlink) {
        return new Stat(mode, uid, gid, newNlink, mtimeSec, mtimeNsec);
    }

    public Stat withMtime(long sec, int nsec) {
        return new Stat(mode, uid, gid, nlink, sec, nsec);
    }

    /** Compares mtimes as (seconds, nanoseconds), seconds signed. */
    // Written out rather than the record's generated ones: those bootstrap through
    // java.lang.invoke on first use (~50 ms of a CLI run) and are slow until C2 compiles them,
    // while parsers intern every Stat through a hash map.
    @Override
    public boolean equals(Object o) {
        return o instanceof Stat s
                && s.mode == mode
                && s.uid == uid
                && s.gid == gid
                && s.nlink == nlink
                && s.mtimeSec == mtimeSec
                && s.mtimeNsec == mtimeNsec;
    }

    @Override
    public int hashCode() {
        long h = mode;
        h = h * 31 + uid;
        h = h * 31 + gid;
        h = h * 31 + nlink;
        h = h * 31 + mtimeSec;
        h = h * 31 + mtimeNsec;
        return (int) (h ^ (h >>> 32));
    }

    public int compareMtime(Stat other) {
        int c = Long.compare(mtimeSec, other.mtimeSec);
        return c != 0 ? c : Integer.compare(mtimeNsec, other.mtimeNsec);
    }
}
