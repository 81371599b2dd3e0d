package dev.kcfs.oci.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kcfs.oci.BlobRanges;
import dev.kcfs.oci.Descriptor;
import dev.kcfs.oci.Digests;
import dev.kcfs.oci.ImageManifest;
import dev.kcfs.oci.ImageReference;
import dev.kcfs.oci.ImageSource;
import dev.kcfs.oci.Manifests;
import dev.kcfs.oci.OciException;
import dev.kcfs.oci.Platform;
import dev.kcfs.oci.VerifiedBlobStream;
import dev.kcfs.oci.stream.BlockInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A thin OCI distribution (Docker registry v2) client on {@code java.net.http}, for pulling.
 *
 * <p>Hand-written because the Java registry SDKs are heavy (oras-java: Jackson 3, BouncyCastle,
 * 24 MB) or need features registries lack (referrers API); pulling needs only a few GETs.
 *
 * <ul>
 *   <li>Manifests and indexes with an Accept list for OCI and Docker schema 2; at most
 *       {@link Manifests#MAX_MANIFEST_SIZE} bytes; checked against the pinned digest and the
 *       registry's {@code Docker-Content-Digest}.</li>
 *   <li>Blobs streamed through a {@link VerifiedBlobStream} (size and sha256); redirects (to CDNs)
 *       followed by hand so credentials never go to another host.</li>
 *   <li>Auth: anonymous first; on a 401, the {@code WWW-Authenticate} challenge decides: {@code Basic}
 *       sends the configured credentials, {@code Bearer} fetches a token from the realm with the
 *       challenge's service and scope (authenticating to the realm with the credentials if there
 *       are any). Tokens are cached per repository.</li>
 *   <li>HTTPS with the JVM's system trust store; plain HTTP only for all registries when
 *       {@code plainHttp} is set, or for the registries listed in {@link Options#plainHttpRegistries()}.</li>
 *   <li>Transient failures (connection errors, 429, 500, 502, 503, 504) are retried with exponential
 *       backoff, honouring a short {@code Retry-After}.</li>
 * </ul>
 *
 * <p>Failures are {@link OciException}s whose {@link OciException.Kind} says whether the registry was
 * unreachable, refused the login, lacked the manifest or blob, or served bad content.
 */
public final class RegistryClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REDIRECTS = 5;

    private final HttpClient http;
    private final DockerConfig credentials;
    private final Options options;
    private final int attempts;
    private final Duration firstBackoff;
    private final Map<String, String> authorization = new ConcurrentHashMap<>();
    private final Duration stallTimeout;
    private final java.util.concurrent.ScheduledExecutorService watchdog;

    /**
     * @param credentials  where to look up credentials per registry
     * @param plainHttp    talk HTTP instead of HTTPS (for loopback test registries only)
     * @param attempts     tries per request for transient failures (1 = no retry)
     * @param firstBackoff wait before the first retry; doubles each time, capped at 10 s
     */
    public RegistryClient(
            DockerConfig credentials, boolean plainHttp, int attempts, Duration firstBackoff) {
        this(credentials, plainHttp, attempts, firstBackoff, Duration.ofSeconds(60));
    }

    /**
     * @param stallTimeout a blob download that receives nothing for this long is dropped and resumed
     *                     (java.net.http has no read timeout for bodies once the headers arrived)
     */
    public RegistryClient(
            DockerConfig credentials,
            boolean plainHttp,
            int attempts,
            Duration firstBackoff,
            Duration stallTimeout) {
        this(
                credentials,
                Options.defaults()
                        .withPlainHttp(plainHttp)
                        .withRetries(attempts, firstBackoff)
                        .withStallTimeout(stallTimeout));
    }

    /** With every setting in {@code options}. */
    public RegistryClient(DockerConfig credentials, Options options) {
        this(
                credentials,
                options,
                HttpClient.newBuilder()
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .connectTimeout(options.connectTimeout())
                        .version(
                                options.plainHttp()
                                        ? HttpClient.Version.HTTP_1_1
                                        : HttpClient.Version.HTTP_2)
                        .build(),
                java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "kcfs-registry-watchdog");
                            t.setDaemon(true);
                            return t;
                        }));
    }

    private RegistryClient(
            DockerConfig credentials,
            Options options,
            HttpClient http,
            java.util.concurrent.ScheduledExecutorService watchdog) {
        this.credentials = credentials;
        this.options = options;
        this.attempts = Math.max(1, options.attempts());
        this.firstBackoff = options.firstBackoff();
        this.stallTimeout = options.stallTimeout();
        this.watchdog = watchdog;
        this.http = http;
    }

    /**
     * A client with other credentials that shares this one's connections and watchdog thread, for a
     * caller that serves many images with different pull secrets (the operator). Its token cache is
     * its own: a token or login obtained with one set of credentials is never sent for another.
     */
    public RegistryClient withCredentials(DockerConfig credentials) {
        return new RegistryClient(credentials, options, http, watchdog);
    }

    /**
     * How the client reaches registries. Built from {@link #defaults()} with the {@code with…} methods.
     *
     * @param plainHttp           talk HTTP instead of HTTPS to every registry (loopback test registries)
     * @param plainHttpRegistries registries reached over HTTP although {@code plainHttp} is off, as
     *                            host[:port] (lowercase); an entry without a port matches every port of
     *                            that host. Redirects and token realms of these may be HTTP too.
     * @param attempts            tries per request for transient failures (1 = no retry)
     * @param firstBackoff        wait before the first retry; doubles each time, capped at 10 s
     * @param stallTimeout        a body that receives nothing for this long is dropped (and a blob resumed)
     * @param connectTimeout      TCP and TLS connection set-up
     * @param requestTimeout      wait for the response headers of one request
     */
    public record Options(
            boolean plainHttp,
            Set<String> plainHttpRegistries,
            int attempts,
            Duration firstBackoff,
            Duration stallTimeout,
            Duration connectTimeout,
            Duration requestTimeout) {
        public Options {
            Set<String> hosts = new HashSet<>();
            for (String h : plainHttpRegistries) {
                hosts.add(h.trim().toLowerCase(Locale.ROOT));
            }
            plainHttpRegistries = Set.copyOf(hosts);
        }

        /** HTTPS only, 5 attempts from 500 ms, 60 s stall, 30 s connect and 2 min request timeouts. */
        public static Options defaults() {
            return new Options(
                    false,
                    Set.of(),
                    5,
                    Duration.ofMillis(500),
                    Duration.ofSeconds(60),
                    Duration.ofSeconds(30),
                    Duration.ofMinutes(2));
        }

        public Options withPlainHttp(boolean all) {
            return new Options(
                    all,
                    plainHttpRegistries,
                    attempts,
                    firstBackoff,
                    stallTimeout,
                    connectTimeout,
                    requestTimeout);
        }

        public Options withPlainHttpRegistries(Set<String> registries) {
            return new Options(
                    plainHttp,
                    registries,
                    attempts,
                    firstBackoff,
                    stallTimeout,
                    connectTimeout,
                    requestTimeout);
        }

        public Options withRetries(int attempts, Duration firstBackoff) {
            return new Options(
                    plainHttp,
                    plainHttpRegistries,
                    attempts,
                    firstBackoff,
                    stallTimeout,
                    connectTimeout,
                    requestTimeout);
        }

        public Options withStallTimeout(Duration stallTimeout) {
            return new Options(
                    plainHttp,
                    plainHttpRegistries,
                    attempts,
                    firstBackoff,
                    stallTimeout,
                    connectTimeout,
                    requestTimeout);
        }

        public Options withTimeouts(Duration connectTimeout, Duration requestTimeout) {
            return new Options(
                    plainHttp,
                    plainHttpRegistries,
                    attempts,
                    firstBackoff,
                    stallTimeout,
                    connectTimeout,
                    requestTimeout);
        }

        /**
         * Whether {@code registry} (host[:port] of a reference) is spoken to over HTTP: every registry
         * with {@code plainHttp}, those listed, and always those on the loopback address. This is the
         * one place that rule lives; the CLI, the node agent and the operator all ask it.
         */
        public boolean isPlainHttp(String registry) {
            if (plainHttp || isLoopback(registry)) {
                return true;
            }
            String r = registry.toLowerCase(Locale.ROOT);
            if (plainHttpRegistries.contains(r)) {
                return true;
            }
            // the host without its port: "[::1]:5000" -> "[::1]", "reg:5000" -> "reg"
            int end = r.startsWith("[") ? r.indexOf(']') + 1 : r.indexOf(':');
            return end > 0 && end < r.length() && plainHttpRegistries.contains(r.substring(0, end));
        }
    }

    /**
     * Whether a registry (host[:port]) is on the loopback address. Such registries talk plain HTTP,
     * as Docker and containerd assume for {@code localhost}: a node-local mirror or a test registry
     * rarely has a certificate, and the traffic never leaves the host. Names other than
     * {@code localhost} are never resolved here: DNS must not decide the transport.
     */
    public static boolean isLoopback(String registry) {
        String host = registry.toLowerCase(Locale.ROOT);
        if (host.startsWith("[")) {
            host = host.substring(1, host.indexOf(']') < 0 ? host.length() : host.indexOf(']'));
        } else if (host.indexOf(':') >= 0) {
            host = host.substring(0, host.indexOf(':'));
        }
        if (host.equals("localhost")) {
            return true;
        }
        if (!host.matches("[0-9.]+|[0-9a-f:]+")) {
            return false;
        }
        try {
            return java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** Anonymous or configured credentials, HTTPS, 5 attempts starting at 500 ms. */
    public RegistryClient(DockerConfig credentials) {
        this(credentials, false, 5, Duration.ofMillis(500));
    }

    /** An image source for one reference. */
    public ImageSource open(ImageReference ref) {
        return new Source(ref);
    }

    /** A manifest or index as fetched. */
    public record FetchedManifest(byte[] bytes, String contentType, String digest) {}

    /** Fetches {@code reference} (a tag or digest) of the repository, verified if it is a digest. */
    public FetchedManifest manifest(ImageReference ref, String reference, String expectedMediaType)
            throws IOException {
        URI uri = api(ref, "/manifests/" + reference);
        String what = manifestWhat(ref, reference);
        HttpResponse<InputStream> r = get(ref, uri, Manifests.ACCEPT, what);
        try (InputStream in = r.body();
                Deadline d = deadline(in)) {
            long declared = r.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (declared > Manifests.MAX_MANIFEST_SIZE) {
                throw new OciException(
                        OciException.Kind.INVALID_CONTENT,
                        what
                                + ": the registry announces "
                                + declared
                                + " bytes, over the "
                                + Manifests.MAX_MANIFEST_SIZE
                                + "-byte manifest limit");
            }
            byte[] bytes;
            try {
                bytes = in.readNBytes(Manifests.MAX_MANIFEST_SIZE + 1);
            } catch (IOException e) {
                throw new OciException(
                        OciException.Kind.UNREACHABLE,
                        what
                                + ": reading the manifest failed or took longer than "
                                + stallTimeout.toSeconds()
                                + " s ("
                                + e.getMessage()
                                + ")",
                        e);
            }
            if (bytes.length > Manifests.MAX_MANIFEST_SIZE) {
                throw new OciException(
                        OciException.Kind.INVALID_CONTENT,
                        what
                                + ": larger than the "
                                + Manifests.MAX_MANIFEST_SIZE
                                + "-byte manifest limit");
            }
            String digest = Digests.sha256(bytes);
            if (Digests.isDigest(reference) && !digest.equals(reference)) {
                throw new OciException(
                        OciException.Kind.INVALID_CONTENT,
                        what
                                + ": digest mismatch, the registry served content with digest "
                                + digest);
            }
            Optional<String> announced = r.headers().firstValue("Docker-Content-Digest");
            if (announced.isPresent()
                    && announced.get().startsWith("sha256:")
                    && !announced.get().equals(digest)) {
                throw new OciException(
                        OciException.Kind.INVALID_CONTENT,
                        what
                                + ": the registry says its digest is "
                                + announced.get()
                                + " but the content has "
                                + digest);
            }
            String type = r.headers().firstValue("Content-Type").orElse(expectedMediaType);
            return new FetchedManifest(bytes, type, digest);
        }
    }

    /**
     * The digest of the manifest {@code ref} names; for a multi-platform image that is the digest of
     * the index itself, so pinning it keeps every platform. A reference that carries a digest is
     * answered without a request. Otherwise one HEAD request: the registry's
     * {@code Docker-Content-Digest} is taken as is (whoever pulls by that digest verifies the
     * content); a registry that omits it gets a GET, and the digest of the body is returned.
     */
    public String manifestDigest(ImageReference ref) throws IOException {
        if (ref.digest() != null) {
            return ref.digest();
        }
        String what = manifestWhat(ref, ref.tag());
        HttpResponse<InputStream> r =
                request(
                        ref,
                        api(ref, "/manifests/" + ref.tag()),
                        "HEAD",
                        Manifests.ACCEPT,
                        what,
                        null);
        r.body().close();
        Optional<String> announced = r.headers().firstValue("Docker-Content-Digest");
        if (announced.isPresent()) {
            try {
                Digests.sha256Hex(announced.get(), what);
                return announced.get();
            } catch (OciException notSha256) {
                // another algorithm or garbage: hash the body ourselves
            }
        }
        return manifest(ref, ref.tag(), null).digest();
    }

    private static String manifestWhat(ImageReference ref, String reference) {
        return "manifest "
                + ref.registry()
                + "/"
                + ref.repository()
                + (Digests.isDigest(reference) ? "@" : ":")
                + reference;
    }

    /** Streams a blob, verified against the descriptor as it is read. */
    public InputStream blob(ImageReference ref, Descriptor d) throws IOException {
        String what = "blob " + d.digest() + " of " + ref.registry() + "/" + ref.repository();
        Digests.sha256Hex(d.digest(), what);
        HttpResponse<InputStream> r = get(ref, api(ref, "/blobs/" + d.digest()), "*/*", what);
        long declared = r.headers().firstValueAsLong("Content-Length").orElse(-1);
        if (declared >= 0 && declared != d.size()) {
            r.body().close();
            throw new OciException(
                    OciException.Kind.INVALID_CONTENT,
                    what
                            + ": the registry announces "
                            + declared
                            + " bytes, the manifest says "
                            + d.size());
        }
        return new VerifiedBlobStream(
                new Resuming(ref, d, what, r.body()), d.digest(), d.size(), what);
    }

    /**
     * Bytes {@code [offset, offset+length)} of a blob (HTTP Range). Returns null when the registry
     * answers with the whole blob (200: it ignores Range), so the caller can pull the layer whole.
     * A transfer that breaks is asked again up to the client's attempts; an answer with another
     * range or another length than asked is refused (the bytes cannot be checked against the blob's
     * digest, so they must at least be where they were asked for).
     */
    public byte[] blobRange(ImageReference ref, Descriptor d, long offset, int length)
            throws IOException {
        String what = "blob " + d.digest() + " of " + ref.registry() + "/" + ref.repository();
        Digests.sha256Hex(d.digest(), what);
        if (offset < 0 || length <= 0 || offset + length > d.size()) {
            throw new IllegalArgumentException(
                    "range " + offset + "+" + length + " outside blob of " + d.size() + " bytes");
        }
        long last = offset + length - 1;
        IOException failure = null;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            HttpResponse<InputStream> r =
                    request(
                            ref,
                            api(ref, "/blobs/" + d.digest()),
                            "GET",
                            "*/*",
                            what,
                            "bytes=" + offset + "-" + last);
            try (InputStream body = r.body()) {
                if (r.statusCode() == 200) {
                    return null;
                }
                String range = r.headers().firstValue("Content-Range").orElse("");
                if (!range.equals("bytes " + offset + "-" + last + "/" + d.size())
                        && !range.equals("bytes " + offset + "-" + last + "/*")) {
                    throw new OciException(
                            OciException.Kind.INVALID_CONTENT,
                            what
                                    + ": asked for bytes "
                                    + offset
                                    + "-"
                                    + last
                                    + ", the registry answered Content-Range '"
                                    + range
                                    + "'; refused");
                }
                byte[] bytes = body.readNBytes(length + 1);
                if (bytes.length == length) {
                    return bytes;
                }
                if (bytes.length > length) {
                    throw new OciException(
                            OciException.Kind.INVALID_CONTENT,
                            what
                                    + ": asked for "
                                    + length
                                    + " bytes at "
                                    + offset
                                    + ", the registry sent more; refused");
                }
                failure =
                        new OciException(
                                OciException.Kind.UNREACHABLE,
                                what
                                        + ": range "
                                        + offset
                                        + "-"
                                        + last
                                        + " ended after "
                                        + bytes.length
                                        + " of "
                                        + length
                                        + " bytes");
            } catch (OciException e) {
                throw e;
            } catch (IOException e) {
                failure =
                        new OciException(
                                OciException.Kind.UNREACHABLE,
                                what
                                        + ": range "
                                        + offset
                                        + "-"
                                        + last
                                        + " broke off ("
                                        + e.getMessage()
                                        + ")",
                                e);
            }
            if (attempt < attempts) {
                sleep(backoff(attempt));
            }
        }
        throw failure;
    }

    /**
     * Several ranges of a blob in one request (a {@code multipart/byteranges} answer, as registries
     * serving blobs through Go's {@code http.ServeContent} give). A registry that answers with one
     * part or the whole blob is asked range by range instead; each part must be the range asked.
     */
    List<byte[]> blobRanges(ImageReference ref, Descriptor d, List<long[]> ranges)
            throws IOException {
        String what = "blob " + d.digest() + " of " + ref.registry() + "/" + ref.repository();
        StringBuilder header = new StringBuilder("bytes=");
        for (long[] r : ranges) {
            header.append(header.length() > 6 ? "," : "")
                    .append(r[0])
                    .append('-')
                    .append(r[0] + r[1] - 1);
        }
        HttpResponse<InputStream> resp =
                request(
                        ref,
                        api(ref, "/blobs/" + d.digest()),
                        "GET",
                        "*/*",
                        what,
                        header.toString());
        String type = resp.headers().firstValue("Content-Type").orElse("");
        int b = type.indexOf("boundary=");
        if (resp.statusCode() != 206 || !type.startsWith("multipart/byteranges") || b < 0) {
            resp.body().close();
            List<byte[]> out = new ArrayList<>();
            for (long[] r : ranges) {
                byte[] got = blobRange(ref, d, r[0], (int) r[1]);
                if (got == null) {
                    return null;
                }
                out.add(got);
            }
            return out;
        }
        String boundary = type.substring(b + 9).replace("\"", "").trim();
        List<byte[]> out = new ArrayList<>();
        try (InputStream in = new java.io.BufferedInputStream(resp.body(), 1 << 16)) {
            for (long[] r : ranges) {
                String want = "bytes " + r[0] + "-" + (r[0] + r[1] - 1) + "/" + d.size();
                String line;
                do {
                    line = line(in, what);
                } while (line.isEmpty());
                if (!line.equals("--" + boundary)) {
                    throw new OciException(
                            OciException.Kind.INVALID_CONTENT,
                            what
                                    + ": multipart answer has '"
                                    + line
                                    + "' where a part should start");
                }
                String range = null;
                while (!(line = line(in, what)).isEmpty()) {
                    if (line.regionMatches(true, 0, "Content-Range:", 0, 14)) {
                        range = line.substring(14).trim();
                    }
                }
                if (!want.equals(range)) {
                    throw new OciException(
                            OciException.Kind.INVALID_CONTENT,
                            what
                                    + ": asked for "
                                    + want
                                    + ", the registry answered Content-Range '"
                                    + range
                                    + "'; refused");
                }
                byte[] part = in.readNBytes((int) r[1]);
                if (part.length != r[1]) {
                    throw new OciException(
                            OciException.Kind.UNREACHABLE,
                            what + ": multipart answer ended inside " + want);
                }
                out.add(part);
            }
        }
        return out;
    }

    private static String line(InputStream in, String what) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0 || sb.length() > 8192) {
                throw new OciException(
                        OciException.Kind.UNREACHABLE, what + ": multipart answer broke off");
            }
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    /**
     * A blob body that survives a dropped connection: it asks again from the byte it got to (HTTP
     * Range), up to {@code attempts} times, so a flaky network does not restart a multi-GiB layer.
     * The digest check around it still covers every byte.
     */
    private final class Resuming extends BlockInputStream {
        private final ImageReference ref;
        private final Descriptor blob;
        private final String what;
        private volatile InputStream in;
        private long position;
        private int resumes;
        private volatile long lastProgress = System.nanoTime();
        private volatile boolean stalled;
        private final java.util.concurrent.ScheduledFuture<?> check;

        Resuming(ImageReference ref, Descriptor blob, String what, InputStream first) {
            this.ref = ref;
            this.blob = blob;
            this.what = what;
            this.in = first;
            long period = Math.max(10, stallTimeout.toMillis() / 4);
            this.check =
                    watchdog.scheduleAtFixedRate(
                            this::checkStall,
                            period,
                            period,
                            java.util.concurrent.TimeUnit.MILLISECONDS);
        }

        /** Closing the stream is the only way to unblock a read that waits for a silent server. */
        private void checkStall() {
            if (System.nanoTime() - lastProgress > stallTimeout.toNanos()) {
                stalled = true;
                lastProgress = System.nanoTime();
                closeQuietly();
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            while (true) {
                try {
                    int n = in.read(b, off, len);
                    if (n > 0) {
                        position += n;
                        lastProgress = System.nanoTime();
                    }
                    if (n < 0 && position < blob.size()) {
                        throw new IOException(
                                "connection closed after "
                                        + position
                                        + " of "
                                        + blob.size()
                                        + " bytes");
                    }
                    if (n < 0) {
                        check.cancel(false);
                    }
                    return n;
                } catch (InterruptedIOException e) {
                    check.cancel(false);
                    throw e;
                } catch (IOException e) {
                    IOException why =
                            stalled
                                    ? new IOException(
                                            "no data for " + stallTimeout.toSeconds() + " s", e)
                                    : e;
                    stalled = false;
                    if (++resumes >= attempts) {
                        check.cancel(false);
                        throw why;
                    }
                    closeQuietly();
                    sleep(backoff(resumes));
                    reopen();
                    lastProgress = System.nanoTime();
                }
            }
        }

        private void reopen() throws IOException {
            HttpResponse<InputStream> r =
                    get(ref, api(ref, "/blobs/" + blob.digest()), "*/*", what, position);
            InputStream body = r.body();
            if (r.statusCode() == 200 && position > 0) {
                // the server ignored the Range: skip what we already have
                long skip = position;
                byte[] buf = new byte[64 * 1024];
                while (skip > 0) {
                    int n = body.read(buf, 0, (int) Math.min(buf.length, skip));
                    if (n < 0) {
                        throw new IOException("blob shorter than before while resuming");
                    }
                    skip -= n;
                }
            } else if (r.statusCode() == 206) {
                String range = r.headers().firstValue("Content-Range").orElse("");
                if (!range.startsWith("bytes " + position + "-")) {
                    body.close();
                    throw new OciException(
                            what
                                    + ": resumed download answered range '"
                                    + range
                                    + "', wanted from "
                                    + position);
                }
            }
            in = body;
        }

        private void closeQuietly() {
            try {
                in.close();
            } catch (IOException ignored) {
                // the connection is already broken
            }
        }

        @Override
        public void close() throws IOException {
            check.cancel(false);
            in.close();
        }
    }

    private URI api(ImageReference ref, String path) {
        return URI.create(
                (options.isPlainHttp(ref.registry()) ? "http://" : "https://")
                        + ref.apiHost()
                        + "/v2/"
                        + ref.repository()
                        + path);
    }

    /** GET with auth, redirects and retries; returns a 200 response whose body the caller closes. */
    private HttpResponse<InputStream> get(ImageReference ref, URI uri, String accept, String what)
            throws IOException {
        return get(ref, uri, accept, what, -1);
    }

    /** As above; {@code from >= 0} asks for the bytes from there on (a 206 answer is then accepted). */
    private HttpResponse<InputStream> get(
            ImageReference ref, URI uri, String accept, String what, long from) throws IOException {
        return request(ref, uri, "GET", accept, what, from >= 0 ? "bytes=" + from + "-" : null);
    }

    /** GET or HEAD with auth, redirects and retries. */
    private HttpResponse<InputStream> request(
            ImageReference ref, URI uri, String method, String accept, String what, String range)
            throws IOException {
        String scopeKey = ref.apiHost() + "/" + ref.repository();
        boolean triedAuth = false;
        URI target = uri;
        for (int redirects = 0; ; ) {
            boolean sameHost =
                    target.getHost().equalsIgnoreCase(uri.getHost())
                            && target.getPort() == uri.getPort();
            String auth = sameHost ? authorization.get(scopeKey) : null;
            HttpResponse<InputStream> r = send(target, method, accept, auth, what, range);
            int status = r.statusCode();
            if (status == 200 || (status == 206 && range != null)) {
                return r;
            }
            String challenge = r.headers().firstValue("WWW-Authenticate").orElse(null);
            String body = snippet(r);
            if (status == 401 && sameHost && !triedAuth && challenge != null) {
                triedAuth = true;
                authorization.put(scopeKey, authenticate(ref, challenge, what));
                continue;
            }
            if (status >= 300 && status < 400 && r.headers().firstValue("Location").isPresent()) {
                if (++redirects > MAX_REDIRECTS) {
                    throw new OciException(
                            OciException.Kind.OTHER,
                            what + ": more than " + MAX_REDIRECTS + " redirects from " + uri);
                }
                target = target.resolve(r.headers().firstValue("Location").get());
                if (!options.isPlainHttp(ref.registry()) && !"https".equals(target.getScheme())) {
                    throw new OciException(
                            what + ": redirected to non-HTTPS " + target + "; refused");
                }
                continue;
            }
            if (status == 401 || status == 403) {
                Optional<RegistryCredentials> c = credentials.forRegistry(ref.registry());
                throw new OciException(
                        OciException.Kind.UNAUTHORIZED,
                        what
                                + ": access denied by "
                                + ref.registry()
                                + " (HTTP "
                                + status
                                + ")"
                                + (c.isPresent()
                                        ? "; the configured credentials for "
                                                + ref.registry()
                                                + " were refused"
                                        : "; no credentials configured for "
                                                + ref.registry()
                                                + " (use --authfile or a pull secret)"));
            }
            if (status == 404) {
                throw new OciException(
                        OciException.Kind.NOT_FOUND,
                        what + ": not found (HTTP 404 from " + target + ")" + body);
            }
            throw new OciException(
                    OciException.Kind.OTHER, what + ": HTTP " + status + " from " + target + body);
        }
    }

    /** One request, retried on transient failures. */
    private HttpResponse<InputStream> send(URI uri, String accept, String auth, String what)
            throws IOException {
        return send(uri, "GET", accept, auth, what, null);
    }

    /** @param range a Range header value ({@code bytes=A-B}), or null */
    private HttpResponse<InputStream> send(
            URI uri, String method, String accept, String auth, String what, String range)
            throws IOException {
        IOException last = null;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            HttpRequest.Builder b =
                    HttpRequest.newBuilder(uri)
                            .method(method, HttpRequest.BodyPublishers.noBody())
                            .header("Accept", accept)
                            .header("User-Agent", "kcfs")
                            .timeout(options.requestTimeout());
            if ("http".equals(uri.getScheme())) {
                // an HTTP/2 client would offer an h2c upgrade that plain registries and proxies
                // need not understand
                b.version(HttpClient.Version.HTTP_1_1);
            }
            if (range != null) {
                b.header("Range", range);
            }
            if (auth != null) {
                b.header("Authorization", auth);
            }
            long waitMs = backoff(attempt);
            try {
                HttpResponse<InputStream> r =
                        http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
                int s = r.statusCode();
                if (s == 429 || s == 500 || s == 502 || s == 503 || s == 504) {
                    r.body().close();
                    last =
                            new OciException(
                                    OciException.Kind.UNREACHABLE,
                                    what
                                            + ": HTTP "
                                            + s
                                            + " from "
                                            + uri
                                            + " after "
                                            + attempt
                                            + " attempts");
                    long retryAfter = r.headers().firstValueAsLong("Retry-After").orElse(-1);
                    if (retryAfter >= 0 && retryAfter <= 10) {
                        waitMs = Math.max(waitMs, retryAfter * 1000);
                    }
                } else {
                    return r;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(what + ": interrupted");
            } catch (java.net.ConnectException e) {
                // nothing listens there: retrying in a few seconds rarely changes that, and callers
                // (the node agent, the operator) retry whole pulls with their own backoff
                throw new OciException(
                        OciException.Kind.UNREACHABLE,
                        what
                                + ": cannot connect to "
                                + uri.getHost()
                                + (uri.getPort() > 0 ? ":" + uri.getPort() : "")
                                + " ("
                                + (e.getMessage() != null ? e.getMessage() : "connection refused")
                                + "); is the registry running and the address right?",
                        e);
            } catch (javax.net.ssl.SSLException e) {
                if (isPlainHttpAnswer(e)) {
                    throw new OciException(
                            OciException.Kind.UNREACHABLE,
                            what
                                    + ": "
                                    + uri.getHost()
                                    + (uri.getPort() > 0 ? ":" + uri.getPort() : "")
                                    + " answered the TLS handshake with plain HTTP;"
                                    + " if this registry really serves plain HTTP, allow it (kcfs pull --plain-http, kcfs-node"
                                    + " --plain-http-registry, the operator's plain-HTTP registries)",
                            e);
                }
                last =
                        new OciException(
                                OciException.Kind.UNREACHABLE,
                                what
                                        + ": TLS with "
                                        + uri.getHost()
                                        + " failed ("
                                        + e.getMessage()
                                        + ") after "
                                        + attempt
                                        + " attempts",
                                e);
            } catch (IOException e) {
                last =
                        new OciException(
                                OciException.Kind.UNREACHABLE,
                                what
                                        + ": cannot reach "
                                        + uri
                                        + " ("
                                        + e
                                        + ") after "
                                        + attempt
                                        + " attempts",
                                e);
            }
            if (attempt < attempts) {
                sleep(waitMs);
            }
        }
        throw last;
    }

    /** A TLS client that got an HTTP response instead of a ServerHello (the JDK's wording for it). */
    private static boolean isPlainHttpAnswer(javax.net.ssl.SSLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null
                    && (m.contains("Unsupported or unrecognized SSL message")
                            || m.contains("plaintext connection"))) {
                return true;
            }
        }
        return false;
    }

    /** Closes a small response body (manifest, token) that has not been read completely within the stall timeout. */
    private Deadline deadline(InputStream body) {
        java.util.concurrent.ScheduledFuture<?> f =
                watchdog.schedule(
                        () -> {
                            try {
                                body.close();
                            } catch (IOException ignored) {
                                // the reader gets "closed"
                            }
                        },
                        stallTimeout.toMillis(),
                        java.util.concurrent.TimeUnit.MILLISECONDS);
        return () -> f.cancel(false);
    }

    @FunctionalInterface
    private interface Deadline extends AutoCloseable {
        @Override
        void close();
    }

    private long backoff(int attempt) {
        return Math.min(10_000, firstBackoff.toMillis() << Math.min(attempt - 1, 20));
    }

    private static void sleep(long ms) throws InterruptedIOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry");
        }
    }

    /** The Authorization header that answers a challenge. */
    private String authenticate(ImageReference ref, String challenge, String what)
            throws IOException {
        Challenge c = Challenge.parse(challenge);
        Optional<RegistryCredentials> creds = credentials.forRegistry(ref.registry());
        if (c.scheme().equals("basic")) {
            RegistryCredentials rc =
                    creds.orElseThrow(
                            () ->
                                    new OciException(
                                            OciException.Kind.UNAUTHORIZED,
                                            what
                                                    + ": "
                                                    + ref.registry()
                                                    + " requires a user name and password; none configured (use --authfile or a pull secret)"));
            return basic(rc);
        }
        if (!c.scheme().equals("bearer")) {
            throw new OciException(
                    OciException.Kind.UNAUTHORIZED,
                    what + ": unsupported auth scheme '" + c.scheme() + "' from " + ref.registry());
        }
        String realm = c.params().get("realm");
        if (realm == null) {
            throw new OciException(
                    what + ": Bearer challenge from " + ref.registry() + " has no realm");
        }
        StringBuilder q = new StringBuilder();
        if (c.params().containsKey("service")) {
            q.append("service=")
                    .append(URLEncoder.encode(c.params().get("service"), StandardCharsets.UTF_8));
        }
        String scope = c.params().getOrDefault("scope", "repository:" + ref.repository() + ":pull");
        q.append(q.length() > 0 ? "&" : "")
                .append("scope=")
                .append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
        URI tokenUri = URI.create(realm + (realm.contains("?") ? "&" : "?") + q);
        if (!options.isPlainHttp(ref.registry()) && !"https".equals(tokenUri.getScheme())) {
            throw new OciException(what + ": token realm " + realm + " is not HTTPS; refused");
        }
        HttpResponse<InputStream> r =
                send(
                        tokenUri,
                        "application/json",
                        creds.map(RegistryClient::basic).orElse(null),
                        what + " (token)");
        try (InputStream in = r.body();
                Deadline d = deadline(in)) {
            byte[] body = in.readNBytes(1 << 20);
            if (r.statusCode() == 401 || r.statusCode() == 403) {
                throw new OciException(
                        OciException.Kind.UNAUTHORIZED,
                        what
                                + ": token server "
                                + realm
                                + " refused "
                                + (creds.isPresent()
                                        ? "the configured credentials"
                                        : "anonymous access; configure credentials")
                                + " (HTTP "
                                + r.statusCode()
                                + ")");
            }
            if (r.statusCode() != 200) {
                throw new OciException(
                        what + ": token server " + realm + " answered HTTP " + r.statusCode());
            }
            JsonNode json;
            try {
                json = JSON.readTree(body);
            } catch (IOException e) {
                throw new OciException(
                        what + ": token server " + realm + " answered with invalid JSON");
            }
            String token = json.path("token").asText("");
            if (token.isEmpty()) {
                token = json.path("access_token").asText("");
            }
            if (token.isEmpty()) {
                throw new OciException(
                        what + ": token server " + realm + " answered without a token");
            }
            return "Bearer " + token;
        }
    }

    private static String basic(RegistryCredentials c) {
        return "Basic "
                + Base64.getEncoder()
                        .encodeToString(
                                (c.username() + ":" + c.password())
                                        .getBytes(StandardCharsets.UTF_8));
    }

    private static String snippet(HttpResponse<InputStream> r) {
        try (InputStream in = r.body()) {
            byte[] b = in.readNBytes(300);
            String s = new String(b, StandardCharsets.UTF_8).strip();
            return s.isEmpty() ? "" : ": " + s;
        } catch (IOException e) {
            return "";
        }
    }

    /** A parsed {@code WWW-Authenticate} header: scheme (lowercase) and its auth-params. */
    record Challenge(String scheme, Map<String, String> params) {
        static Challenge parse(String header) {
            String h = header.strip();
            int sp = h.indexOf(' ');
            String scheme = (sp < 0 ? h : h.substring(0, sp)).toLowerCase(Locale.ROOT);
            Map<String, String> params = new LinkedHashMap<>();
            int i = sp < 0 ? h.length() : sp + 1;
            while (i < h.length()) {
                while (i < h.length() && (h.charAt(i) == ' ' || h.charAt(i) == ',')) {
                    i++;
                }
                int eq = h.indexOf('=', i);
                if (eq < 0) {
                    break;
                }
                String key = h.substring(i, eq).trim().toLowerCase(Locale.ROOT);
                i = eq + 1;
                StringBuilder v = new StringBuilder();
                if (i < h.length() && h.charAt(i) == '"') {
                    i++;
                    while (i < h.length() && h.charAt(i) != '"') {
                        if (h.charAt(i) == '\\' && i + 1 < h.length()) {
                            i++;
                        }
                        v.append(h.charAt(i++));
                    }
                    i++;
                } else {
                    while (i < h.length() && h.charAt(i) != ',') {
                        v.append(h.charAt(i++));
                    }
                }
                params.put(key, v.toString().trim());
            }
            return new Challenge(scheme, params);
        }
    }

    private final class Source implements ImageSource {
        private final ImageReference ref;

        Source(ImageReference ref) {
            this.ref = ref;
        }

        @Override
        public ImageManifest resolve(Platform platform) throws IOException {
            FetchedManifest top = manifest(ref, ref.manifestReference(), null);
            return Manifests.resolve(
                    top.bytes(),
                    top.contentType(),
                    top.digest(),
                    platform,
                    d -> manifest(ref, d.digest(), d.mediaType()).bytes(),
                    describe());
        }

        @Override
        public InputStream openBlob(Descriptor blob) throws IOException {
            return blob(ref, blob);
        }

        @Override
        public BlobRanges ranges(Descriptor blob) {
            return new BlobRanges() {
                @Override
                public byte[] read(long offset, int length) throws IOException {
                    return blobRange(ref, blob, offset, length);
                }

                @Override
                public List<byte[]> readMany(List<long[]> ranges) throws IOException {
                    return ranges.size() == 1
                            ? BlobRanges.super.readMany(ranges)
                            : blobRanges(ref, blob, ranges);
                }
            };
        }

        @Override
        public String describe() {
            return ref.toString();
        }
    }
}
