package dev.kcfs.tree;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Directory's children behave like a map sorted by unsigned name bytes, whatever the put order. */
class DirectoryTest {
    private static final Stat DIR = new Stat(FileType.S_IFDIR | 0755, 0, 0, 2, 0, 0);

    static Directory dir() {
        return new Directory(DIR, List.of());
    }

    static Inode file(int n) {
        return new Fifo(new Stat(FileType.S_IFIFO | 0644, n, 0, 1, 0, 0), List.of());
    }

    /** Random puts, replaces, removes and lookups against a TreeMap model, small and large. */
    @ParameterizedTest(name = "{0} names")
    @ValueSource(ints = {10, 300, 5000})
    void behavesLikeASortedMap(int names) {
        Random r = new Random(names);
        Directory d = dir();
        TreeMap<byte[], Inode> model = new TreeMap<>(Arrays::compareUnsigned);
        for (int step = 0; step < names * 4; step++) {
            byte[] name = name(r.nextInt(names), r);
            int op = r.nextInt(10);
            if (op < 6) {
                Inode f = step % 5 == 0 ? dir() : file(step);
                d.put(name, f);
                model.put(name, f);
            } else if (op < 8) {
                assertThat(d.remove(name)).isSameAs(model.remove(name));
            } else {
                assertThat(d.child(name)).isSameAs(model.get(name));
            }
            if (step % 97 == 0) {
                assertSame(d, model);
            }
        }
        assertSame(d, model);
    }

    @Test
    void inOrderPutsAppendAndALaterPutOfANameReplacesIt() {
        Directory d = dir();
        for (int i = 0; i < 1000; i++) {
            d.put(String.format("n%05d", i).getBytes(StandardCharsets.US_ASCII), file(i));
        }
        // out of order into a large directory (it moves to a tree): the last put of a name wins
        byte[] again = "n00500".getBytes(StandardCharsets.US_ASCII);
        Inode first = file(-1);
        Inode last = file(-2);
        d.put(again, first);
        d.put("a".getBytes(StandardCharsets.US_ASCII), file(-3));
        d.put(again, last);
        assertThat(d.size()).isEqualTo(1001);
        assertThat(d.child(again)).isSameAs(last);
        assertThat(new String(d.entries().get(0).name(), StandardCharsets.US_ASCII)).isEqualTo("a");
        // bytes compare unsigned: 0xff sorts after ASCII
        d.put(new byte[] {(byte) 0xff}, file(-4));
        assertThat(d.entries().get(d.size() - 1).name()).containsExactly((byte) 0xff);
    }

    private static byte[] name(int n, Random r) {
        // mixed lengths and a byte above 0x7f, so unsigned order differs from signed
        return n % 7 == 0
                ? new byte[] {(byte) 0xe9, (byte) n, (byte) (n >> 8)}
                : ("f" + n).getBytes(StandardCharsets.US_ASCII);
    }

    private static void assertSame(Directory d, TreeMap<byte[], Inode> model) {
        assertThat(d.size()).isEqualTo(model.size());
        assertThat(d.subdirectoryCount())
                .isEqualTo(model.values().stream().filter(i -> i instanceof Directory).count());
        List<byte[]> names = new ArrayList<>(d.children().keySet());
        assertThat(names).containsExactlyElementsOf(model.keySet());
        List<Directory.Entry> entries = d.entries();
        int i = 0;
        for (Map.Entry<byte[], Inode> e : model.entrySet()) {
            assertThat(entries.get(i++).inode()).isSameAs(e.getValue());
            assertThat(d.children().get(e.getKey())).isSameAs(e.getValue());
        }
    }
}
