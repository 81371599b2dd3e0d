package dev.kcfs.oci.tar;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes tar archives byte by byte for tests, including what commons-compress cannot write (binary
 * PAX values) and what no good writer would (bad checksums, hostile names, missing end blocks).
 */
public final class TarBuilder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** One member; chain setters, then {@link #add()}. */
    public final class Entry {
        byte[] name;
        byte type = '0';
        int mode = 0644;
        long uid;
        long gid;
        long mtime = 1_700_000_000L;
        byte[] link = new byte[0];
        byte[] body = new byte[0];
        long major;
        long minor;
        Long sizeOverride;
        final Map<String, byte[]> pax = new LinkedHashMap<>();
        boolean gnuLongName;
        boolean gnuLongLink;
        boolean corruptChecksum;

        Entry(byte[] name) {
            this.name = name;
        }

        public Entry type(char t) {
            type = (byte) t;
            return this;
        }

        public Entry mode(int m) {
            mode = m;
            return this;
        }

        public Entry owner(long u, long g) {
            uid = u;
            gid = g;
            return this;
        }

        public Entry mtime(long t) {
            mtime = t;
            return this;
        }

        public Entry link(String l) {
            link = b(l);
            return this;
        }

        public Entry link(byte[] l) {
            link = l;
            return this;
        }

        public Entry body(byte[] data) {
            body = data;
            return this;
        }

        public Entry body(String data) {
            body = b(data);
            return this;
        }

        public Entry dev(long ma, long mi) {
            major = ma;
            minor = mi;
            return this;
        }

        public Entry size(long s) {
            sizeOverride = s;
            return this;
        }

        public Entry pax(String key, byte[] value) {
            pax.put(key, value);
            return this;
        }

        public Entry pax(String key, String value) {
            return pax(key, b(value));
        }

        public Entry xattr(String name, byte[] value) {
            return pax("SCHILY.xattr." + name, value);
        }

        public Entry gnuLongName() {
            gnuLongName = true;
            return this;
        }

        public Entry gnuLongLink() {
            gnuLongLink = true;
            return this;
        }

        public Entry corruptChecksum() {
            corruptChecksum = true;
            return this;
        }

        public TarBuilder add() {
            if (!pax.isEmpty()) {
                byte[] records = paxRecords(pax);
                writeHeader(
                        b("PaxHeader"),
                        (byte) 'x',
                        0644,
                        0,
                        0,
                        0,
                        records.length,
                        new byte[0],
                        0,
                        0,
                        false);
                writeBody(records);
            }
            byte[] headerName = name;
            byte[] headerLink = link;
            if (gnuLongName) {
                byte[] nul = Arrays.copyOf(name, name.length + 1);
                writeHeader(
                        b("././@LongLink"),
                        (byte) 'L',
                        0644,
                        0,
                        0,
                        0,
                        nul.length,
                        new byte[0],
                        0,
                        0,
                        false);
                writeBody(nul);
                headerName = Arrays.copyOf(name, Math.min(name.length, 99));
            }
            if (gnuLongLink) {
                byte[] nul = Arrays.copyOf(link, link.length + 1);
                writeHeader(
                        b("././@LongLink"),
                        (byte) 'K',
                        0644,
                        0,
                        0,
                        0,
                        nul.length,
                        new byte[0],
                        0,
                        0,
                        false);
                writeBody(nul);
                headerLink = Arrays.copyOf(link, Math.min(link.length, 99));
            }
            if (headerName.length > 100) {
                headerName = Arrays.copyOf(headerName, 100);
            }
            long size = sizeOverride != null ? sizeOverride : body.length;
            writeHeader(
                    headerName,
                    type,
                    mode,
                    uid,
                    gid,
                    mtime,
                    size,
                    headerLink,
                    major,
                    minor,
                    corruptChecksum);
            writeBody(body);
            return TarBuilder.this;
        }
    }

    public Entry entry(String name) {
        return new Entry(b(name));
    }

    public Entry entry(byte[] name) {
        return new Entry(name);
    }

    public TarBuilder file(String name, String content) {
        return entry(name).body(content).add();
    }

    public TarBuilder file(String name, byte[] content) {
        return entry(name).body(content).add();
    }

    public TarBuilder dir(String name) {
        return entry(name).type('5').mode(0755).add();
    }

    public TarBuilder raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    /** The archive with the two end-of-archive blocks. */
    public byte[] build() {
        byte[] end = new byte[1024];
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(out.toByteArray());
        all.writeBytes(end);
        return all.toByteArray();
    }

    /** The archive without end blocks (a stream cut at an entry boundary). */
    public byte[] buildWithoutEnd() {
        return out.toByteArray();
    }

    static byte[] paxRecords(Map<String, byte[]> pax) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> e : pax.entrySet()) {
            byte[] key = e.getKey().getBytes(StandardCharsets.ISO_8859_1);
            int rest = 1 + key.length + 1 + e.getValue().length + 1; // ' ' key '=' value '\n'
            int len = rest + 1;
            while (String.valueOf(len).length() + rest != len) {
                len = String.valueOf(len).length() + rest;
            }
            o.writeBytes(b(String.valueOf(len)));
            o.write(' ');
            o.writeBytes(key);
            o.write('=');
            o.writeBytes(e.getValue());
            o.write('\n');
        }
        return o.toByteArray();
    }

    private void writeHeader(
            byte[] name,
            byte type,
            int mode,
            long uid,
            long gid,
            long mtime,
            long size,
            byte[] link,
            long major,
            long minor,
            boolean corrupt) {
        byte[] h = new byte[512];
        System.arraycopy(name, 0, h, 0, Math.min(100, name.length));
        octal(h, 100, 8, mode);
        octal(h, 108, 8, uid);
        octal(h, 116, 8, gid);
        if (size >= 077777777777L) {
            // GNU base-256
            h[124] = (byte) 0x80;
            for (int i = 0; i < 8; i++) {
                h[135 - i] = (byte) (size >>> (8 * i));
            }
        } else {
            octal(h, 124, 12, size);
        }
        octal(h, 136, 12, mtime);
        h[156] = type;
        System.arraycopy(link, 0, h, 157, Math.min(100, link.length));
        System.arraycopy(b("ustar\0"), 0, h, 257, 6);
        h[263] = '0';
        h[264] = '0';
        octal(h, 329, 8, major);
        octal(h, 337, 8, minor);
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte x : h) {
            sum += x & 0xff;
        }
        if (corrupt) {
            sum += 1;
        }
        octal(h, 148, 7, sum);
        h[155] = ' ';
        out.writeBytes(h);
    }

    private void writeBody(byte[] body) {
        out.writeBytes(body);
        int pad = (512 - body.length % 512) % 512;
        out.writeBytes(new byte[pad]);
    }

    private static void octal(byte[] h, int off, int len, long v) {
        String s = Long.toOctalString(v);
        if (s.length() > len - 1) {
            throw new IllegalArgumentException("does not fit: " + v);
        }
        String padded = "0".repeat(len - 1 - s.length()) + s;
        System.arraycopy(b(padded), 0, h, off, len - 1);
        h[off + len - 1] = 0;
    }

    public static List<TarEntry> readAll(byte[] tar) throws java.io.IOException {
        TarReader r = new TarReader(new java.io.ByteArrayInputStream(tar), "test.tar");
        List<TarEntry> all = new ArrayList<>();
        TarEntry e;
        while ((e = r.next()) != null) {
            all.add(e);
        }
        return all;
    }
}
