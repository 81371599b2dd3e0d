package dev.kcfs.tree;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class TreeWalkerTest {
    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void depthFirstSortedWithFirstOccurrence() {
        Stat ds = new Stat(040755, 0, 0, 2, 0, 0);
        Stat fs = new Stat(0100644, 0, 0, 2, 0, 0);
        Directory root = new Directory(ds, List.of());
        Directory z = new Directory(ds, List.of());
        Directory a = new Directory(ds, List.of());
        RegularFile f = new RegularFile(fs, List.of(), 0, null, null, null);
        root.put(b("z"), z);
        root.put(b("a"), a);
        root.put(b("\u00e9"), new Fifo(fs.withMode(010644), List.of()));
        a.put(b("y"), f);
        z.put(b("x"), f);
        List<TreeWalker.Entry> e = TreeWalker.entries(root);
        assertThat(e)
                .extracting(x -> new String(x.path(), StandardCharsets.ISO_8859_1))
                .containsExactly("/", "/a", "/a/y", "/z", "/z/x", "/\u00e9");
        assertThat(e.get(0).isRoot()).isTrue();
        assertThat(e.get(2).isFirstOccurrence()).isTrue();
        assertThat(e.get(4).isFirstOccurrence()).isFalse();
        assertThat(e.get(4).firstPath()).isEqualTo(b("/a/y"));
        assertThat(e.get(4).parent()).isSameAs(z);
    }

    @Test
    void hardlinkWithAnNlinkOfOneIsStillReported() {
        Stat ds = new Stat(040755, 0, 0, 2, 0, 0);
        Directory root = new Directory(ds, List.of());
        Symlink l = new Symlink(new Stat(0120777, 0, 0, 1, 0, 0), List.of(), b("t"));
        root.put(b("x"), l);
        root.put(b("y"), l);
        List<TreeWalker.Entry> e = TreeWalker.entries(root);
        assertThat(e.get(2).firstPath()).isEqualTo(b("/x"));
    }
}
