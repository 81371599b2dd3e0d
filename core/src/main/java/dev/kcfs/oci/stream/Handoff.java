package dev.kcfs.oci.stream;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;

/**
 * Streams bytes from a producer thread to a consumer on the calling thread, and ends both sides
 * promptly when either fails.
 *
 * <p>Why not {@link java.io.PipedInputStream}: its reader notices a dead writer only once the writer
 * has written something, so a producer that fails before its first byte leaves the reader waiting
 * forever (with whatever locks it holds); and it cannot carry the producer's error to the reader.
 * Here a producer failure fails the consumer's next read with the producer's message, a consumer
 * that stops (returns, throws, is interrupted) fails the producer's next write, and {@link #run}
 * returns only after the producer thread has ended, reporting the first failure.
 */
public final class Handoff {
    /** Writes the whole stream to {@code out}; the hand-off closes {@code out} when it returns normally. */
    @FunctionalInterface
    public interface Producer {
        void write(OutputStream out) throws IOException;
    }

    /** Reads {@code in} (to its end, for the result to count) and returns what it made of it. */
    @FunctionalInterface
    public interface Consumer<T> {
        T read(InputStream in) throws IOException;
    }

    private static final int CHUNK = 64 * 1024;

    private final String name;
    private final long capacity;
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private long queued;
    private boolean producerDone;
    private Throwable producerFailure;
    private boolean consumerGone;

    private Handoff(String name, long capacity) {
        this.name = name;
        this.capacity = capacity;
    }

    /**
     * Runs {@code producer} on a new thread named {@code name} and {@code consumer} on this one,
     * with at most {@code capacity} bytes in flight.
     *
     * @return the consumer's result, only if both sides completed
     * @throws IOException the first failure of either side; the producer's failure (any
     *                     {@link Throwable}, including an {@link Error}) becomes an IOException naming
     *                     {@code name}, so it never escapes as an Error of the caller's thread
     */
    public static <T> T run(String name, long capacity, Producer producer, Consumer<T> consumer)
            throws IOException {
        Handoff h = new Handoff(name, capacity);
        Thread thread = new Thread(() -> h.produce(producer), name);
        thread.setDaemon(true);
        thread.start();
        T result = null;
        Throwable consumerFailure = null;
        try (InputStream in = h.new Source()) {
            result = consumer.read(in);
        } catch (Throwable e) {
            consumerFailure = e;
        }
        h.consumerGone();
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
                thread.interrupt(); // the producer gets an error at its next write at the latest
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable produced = h.producerFailure();
        if (consumerFailure == null || causedBy(consumerFailure, ProducerFailed.class)) {
            if (produced != null) {
                throw asIOException(name, produced);
            }
            return result;
        }
        // the consumer failed on its own: its error is the one to report, the producer's is context
        if (produced != null && !(produced instanceof ConsumerGone)) {
            consumerFailure.addSuppressed(produced);
        }
        if (consumerFailure instanceof IOException io) {
            throw io;
        }
        if (consumerFailure instanceof RuntimeException re) {
            throw re;
        }
        throw asIOException(name + " (reading side)", consumerFailure);
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static IOException asIOException(String name, Throwable e) {
        if (e instanceof IOException io) {
            return io;
        }
        if (e instanceof OutOfMemoryError) {
            return new IOException(name + " ran out of memory (" + e.getMessage() + ")", e);
        }
        String message = e.getMessage();
        return new IOException(name + " failed: " + (message != null ? message : e.toString()), e);
    }

    private void produce(Producer producer) {
        Sink out = new Sink();
        try {
            producer.write(out);
            out.close();
        } catch (Throwable e) {
            fail(e);
        }
    }

    private synchronized void fail(Throwable e) {
        if (!producerDone) {
            producerFailure = e;
            producerDone = true;
            queue.clear();
            notifyAll();
        }
    }

    private synchronized Throwable producerFailure() {
        return producerFailure;
    }

    private synchronized void consumerGone() {
        consumerGone = true;
        queue.clear();
        notifyAll();
    }

    private synchronized void put(byte[] chunk) throws IOException {
        while (!consumerGone && queued + chunk.length > capacity && !queue.isEmpty()) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(
                        name + ": interrupted while the reading side was busy");
            }
        }
        if (consumerGone) {
            throw new ConsumerGone(
                    name + ": the reading side stopped before the end of the stream");
        }
        queue.add(chunk);
        queued += chunk.length;
        notifyAll();
    }

    private synchronized void finish() {
        if (!producerDone) {
            producerDone = true;
            notifyAll();
        }
    }

    /** The next chunk, or null at the end; fails with the producer's error once it has failed. */
    private synchronized byte[] take() throws IOException {
        while (queue.isEmpty() && !producerDone) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(name + ": interrupted while waiting for data");
            }
        }
        if (producerFailure != null) {
            String message = producerFailure.getMessage();
            throw new ProducerFailed(
                    name + " failed: " + (message != null ? message : producerFailure.toString()));
        }
        byte[] chunk = queue.poll();
        if (chunk != null) {
            queued -= chunk.length;
            notifyAll();
        }
        return chunk;
    }

    /** The consumer saw the producer's failure (the caller reports the producer's own exception). */
    private static final class ProducerFailed extends IOException {
        ProducerFailed(String message) {
            super(message);
        }
    }

    /** The producer's write after the consumer stopped (the caller reports why the consumer stopped). */
    private static final class ConsumerGone extends IOException {
        ConsumerGone(String message) {
            super(message);
        }
    }

    private final class Sink extends OutputStream {
        private byte[] buffer = new byte[CHUNK];
        private int filled;
        private boolean closed;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException(name + ": write after close");
            }
            while (len > 0) {
                int n = Math.min(len, buffer.length - filled);
                System.arraycopy(b, off, buffer, filled, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == buffer.length) {
                    flush();
                }
            }
        }

        @Override
        public void flush() throws IOException {
            if (filled > 0) {
                byte[] chunk =
                        filled == buffer.length ? buffer : java.util.Arrays.copyOf(buffer, filled);
                put(chunk);
                if (chunk == buffer) {
                    buffer = new byte[CHUNK];
                }
                filled = 0;
            }
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                flush();
                closed = true;
                finish();
            }
        }
    }

    private final class Source extends BlockInputStream {
        private byte[] current;
        private int pos;
        private boolean end;

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (current == null || pos == current.length) {
                if (end) {
                    return -1;
                }
                current = take();
                pos = 0;
                if (current == null) {
                    end = true;
                    return -1;
                }
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void close() {
            consumerGone();
        }
    }
}
