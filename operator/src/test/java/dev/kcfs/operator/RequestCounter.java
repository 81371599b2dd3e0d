package dev.kcfs.operator;

import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Counts a client's API requests by method and resource kind ("PATCH composefsimages/status"). */
final class RequestCounter implements Interceptor {
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

    @Override
    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
        counts.computeIfAbsent(
                        request.method() + " " + kind(request.uri().getPath()),
                        k -> new LongAdder())
                .increment();
    }

    /** "/apis/kcfs.dev/v1alpha1/composefsimages/x/status" -> "composefsimages/status". */
    private static String kind(String path) {
        String[] p = path.split("/");
        int i = path.startsWith("/api/") ? 3 : 4;
        if (i < p.length && p[i].equals("namespaces") && i + 2 < p.length) {
            i += 2;
        }
        String kind = i < p.length ? p[i] : path;
        return kind + (path.endsWith("/status") ? "/status" : "");
    }

    long writes() {
        return counts.entrySet().stream()
                .filter(e -> !e.getKey().startsWith("GET "))
                .mapToLong(e -> e.getValue().sum())
                .sum();
    }

    long count(String key) {
        LongAdder a = counts.get(key);
        return a == null ? 0 : a.sum();
    }

    Map<String, Long> snapshot() {
        Map<String, Long> out = new TreeMap<>();
        counts.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
