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
    public int compareMtime(Stat other) {
        int c = Long.compare(mtimeSec, other.mtimeSec);
        return c != 0 ? c : Integer.compare(mtimeNsec, other.mtimeNsec);
    }
}
