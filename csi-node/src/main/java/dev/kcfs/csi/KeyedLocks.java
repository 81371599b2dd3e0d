package dev.kcfs.csi;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One lock per key (a target path, an image digest), created on first use and dropped when no
 * thread holds or waits for it, so the map does not grow with every pod the node ever ran.
 */
final class KeyedLocks<K> {
    private static final class Holder {
        final ReentrantLock lock = new ReentrantLock();
        int users; // changed only inside ConcurrentHashMap.compute for this key
    }

    /** A held lock; close releases it. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    private final ConcurrentHashMap<K, Holder> holders = new ConcurrentHashMap<>();

    /** Locks {@code key}, waiting at most {@code timeoutNanos}; null when that was not enough. */
    Held tryLock(K key, long timeoutNanos) throws InterruptedException {
        Holder h =
                holders.compute(
                        key,
                        (k, v) -> {
                            Holder holder = v == null ? new Holder() : v;
                            holder.users++;
                            return holder;
                        });
        boolean locked = false;
        try {
            locked = h.lock.tryLock(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
        } finally {
            if (!locked) {
                leave(key);
            }
        }
        if (!locked) {
            return null;
        }
        return () -> {
            h.lock.unlock();
            leave(key);
        };
    }

    int size() {
        return holders.size();
    }

    private void leave(K key) {
        holders.compute(key, (k, v) -> --v.users == 0 ? null : v);
    }
}
