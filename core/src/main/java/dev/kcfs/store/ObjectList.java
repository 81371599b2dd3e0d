package dev.kcfs.store;

import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * The objects an image refers to, and its logical size (bytes of all its external file bodies,
 * duplicates counted, i.e. what the image would occupy without sharing).
 *
 * <p>Kept next to each image as {@code images/<digest>.objects} so GC and stats need no EROFS
 * parsing: 8-byte magic {@code KCFSOBJ1}, u64 logical bytes, u32 count, then the sorted digests
 * (big endian, 32 bytes each).
 */
public record ObjectList(List<Digest> digests, long logicalBytes) {
    private static final byte[] MAGIC = "KCFSOBJ1".getBytes(StandardCharsets.US_ASCII);

    public ObjectList {
        digests = List.copyOf(new TreeSet<>(digests));
    }

    public static ObjectList of(Collection<Digest> digests, long logicalBytes) {
        return new ObjectList(new ArrayList<>(digests), logicalBytes);
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 12 + Digest.LENGTH * digests.size());
        b.put(MAGIC).putLong(logicalBytes).putInt(digests.size());
        for (Digest d : digests) {
            b.put(d.bytes());
        }
        return b.array();
    }

    static ObjectList decode(byte[] data, String what) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (data.length < MAGIC.length + 12
                || !ByteBuffer.wrap(data, 0, MAGIC.length).equals(ByteBuffer.wrap(MAGIC))) {
            throw new StoreException(
                    what + " is not a kcfs object list (bad magic); run fsck to rebuild it");
        }
        b.position(MAGIC.length);
        long logical = b.getLong();
        int count = b.getInt();
        if (count < 0 || b.remaining() != (long) count * Digest.LENGTH) {
            throw new StoreException(
                    what
                            + " is truncated or corrupt ("
                            + count
                            + " digests announced, "
                            + b.remaining()
                            + " bytes follow); run fsck to rebuild it");
        }
        List<Digest> ds = new ArrayList<>(count);
        byte[] d = new byte[Digest.LENGTH];
        for (int i = 0; i < count; i++) {
            b.get(d);
            ds.add(new Digest(d));
        }
        return new ObjectList(ds, logical);
    }
}
