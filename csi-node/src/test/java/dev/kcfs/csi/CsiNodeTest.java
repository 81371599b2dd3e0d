package dev.kcfs.csi;

import dev.kcfs.testing.Root;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A test against a node plugin on a real Unix socket (needs root: the images are tmpfs mounts),
 * started before each test over fresh tmpfs images and closed after it. A subclass names the
 * images and may set what the node needs before it starts ({@link #configure}).
 */
abstract class CsiNodeTest {
    private final String[] imageNames;

    @TempDir Path tmp;
    CsiTestNode node;
    TmpfsImages images;

    CsiNodeTest(String... imageNames) {
        this.imageNames = imageNames;
    }

    /** Sets image access, verity, expected digests and the like before the node starts. */
    void configure(CsiTestNode node) throws Exception {}

    @BeforeEach
    final void startNode() throws Exception {
        Root.assumeRoot();
        node = CsiTestNode.overTmpfs(tmp, imageNames);
        images = node.images;
        configure(node);
        node.start();
    }

    @AfterEach
    final void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }
}
