package dev.kcfs.pull.layer;

import dev.kcfs.oci.stream.BlockInputStream;
import dev.kcfs.verity.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Overlaps layer parsing with hashing and writing: the thread that inflates and parses the tar copies
 * each file body into fixed-size chunks and hands them to worker threads, which run the
 * {@link BodySink} (hash + write) on them. Memory is bounded by the chunk pool: when all chunks are in
 * flight the parser waits, so a multi-GiB file streams through a few MiB.
 *
 * <p>No deadlock: a worker only ever waits for chunks of its own file, and the parser only starts a
 * new file after the previous one is fully queued, so at most one file is incomplete and every other
 * started worker can finish. That argument needs a single parser: a pipeline serves <b>one layer
 * stream at a time</b> (two parsers could each hold an incomplete file while queued complete files
 * hold every chunk). {@link dev.kcfs.pull.Importer} serialises its imports for this reason.
 */
public final class BodyPipeline implements AutoCloseable {
    public static final int CHUNK_SIZE = 256 * 1024;

    private final ExecutorService workers;
    private final BlockingQueue<byte[]> pool;

    /**
     * @param threads     worker threads that hash and write (2 cores: 2 workers next to the parser works well)
     * @param bufferBytes total chunk memory in flight
     */
    public BodyPipeline(int threads, long bufferBytes) {
        if (threads < 1) {
            throw new IllegalArgumentException("need at least one worker thread, got " + threads);
        }
        int chunks = (int) Math.max(2, bufferBytes / CHUNK_SIZE);
        this.pool = new ArrayBlockingQueue<>(chunks);
        for (int i = 0; i < chunks; i++) {
            pool.add(new byte[CHUNK_SIZE]);
        }
        AtomicInteger n = new AtomicInteger();
        this.workers =
                Executors.newFixedThreadPool(
                        threads,
                        r -> {
                            Thread t = new Thread(r, "kcfs-body-" + n.incrementAndGet());
                            t.setDaemon(true);
                            return t;
                        });
    }

    /** A pipeline sized for this machine: one worker per core, 32 MiB of chunks. */
    public static BodyPipeline forThisMachine() {
        return new BodyPipeline(Math.max(1, Runtime.getRuntime().availableProcessors()), 32L << 20);
    }

    /**
     * Copies {@code size} bytes of {@code body} into chunks for a worker running {@code sink}; returns
     * when the body is fully queued (not when it is stored). The future fails if the sink fails.
     */
    CompletableFuture<Digest> submit(InputStream body, long size, BodySink sink)
            throws IOException {
        Pipe pipe = new Pipe();
        CompletableFuture<Digest> result = new CompletableFuture<>();
        workers.execute(
                () -> {
                    try (Pipe.Reader reader = pipe.reader()) {
                        Digest d = sink.add(reader, size);
                        if (!reader.atEnd()) {
                            throw new IOException(
                                    "the object store consumed only part of a "
                                            + size
                                            + "-byte file body");
                        }
                        result.complete(d);
                    } catch (Throwable e) {
                        result.completeExceptionally(e);
                    }
                });
        long left = size;
        try {
            while (left > 0) {
                byte[] chunk = take();
                int filled = 0;
                int want = (int) Math.min(CHUNK_SIZE, left);
                try {
                    while (filled < want) {
                        int r = body.read(chunk, filled, want - filled);
                        if (r < 0) {
                            throw new IOException(
                                    "file body ended " + (left - filled) + " bytes early");
                        }
                        filled += r;
                    }
                } catch (IOException e) {
                    pool.add(chunk);
                    throw e;
                }
                left -= filled;
                if (!pipe.push(chunk, filled)) {
                    pool.add(chunk);
                    break; // the worker failed; its future says why
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            // every failure (an Error too) must reach the worker, or it waits for the next chunk
            // forever
            pipe.fail(e);
            // let the worker see the failure and clean up before the caller discards the store
            // batch
            try {
                result.join();
            } catch (RuntimeException expected) {
                // it fails with our exception; ours is the one to report
            }
            throw e;
        }
        pipe.finish();
        return result;
    }

    private byte[] take() throws InterruptedIOException {
        try {
            return pool.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a free body buffer");
        }
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }

    /** One file's chunks, from the parser to one worker. */
    private final class Pipe {
        private final ArrayDeque<Object> queue = new ArrayDeque<>();
        private boolean readerClosed;

        private final Object end = new Object();

        synchronized boolean push(byte[] chunk, int length) {
            if (readerClosed) {
                return false;
            }
            queue.add(new Chunk(chunk, length));
            notifyAll();
            return true;
        }

        synchronized void finish() {
            queue.add(end);
            notifyAll();
        }

        synchronized void fail(Throwable e) {
            queue.add(e);
            notifyAll();
        }

        synchronized Object next() throws InterruptedIOException {
            while (queue.isEmpty()) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException(
                            "interrupted while waiting for file body data");
                }
            }
            Object o = queue.peek();
            if (o instanceof Chunk) {
                queue.poll();
            }
            return o;
        }

        synchronized void closeReader() {
            readerClosed = true;
            for (Object o : queue) {
                if (o instanceof Chunk c) {
                    pool.add(c.data);
                }
            }
            queue.removeIf(o -> o instanceof Chunk);
        }

        Reader reader() {
            return new Reader();
        }

        final class Reader extends BlockInputStream {
            private Chunk current;
            private int pos;
            private boolean atEnd;

            boolean atEnd() throws IOException {
                if (!atEnd && (current == null || pos == current.length)) {
                    return read() < 0;
                }
                return atEnd;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                while (current == null || pos == current.length) {
                    if (current != null) {
                        pool.add(current.data);
                        current = null;
                    }
                    if (atEnd) {
                        return -1;
                    }
                    Object o = next();
                    if (o == end) {
                        atEnd = true;
                        return -1;
                    }
                    if (o instanceof Throwable e) {
                        throw new IOException(
                                "layer stream failed while this file was streaming: "
                                        + e.getMessage(),
                                e);
                    }
                    current = (Chunk) o;
                    pos = 0;
                }
                int n = Math.min(len, current.length - pos);
                System.arraycopy(current.data, pos, b, off, n);
                pos += n;
                return n;
            }

            @Override
            public void close() {
                if (current != null) {
                    pool.add(current.data);
                    current = null;
                }
                closeReader();
            }
        }
    }

    private record Chunk(byte[] data, int length) {}
}
