package dev.kcfs.oci.registry;

import dev.kcfs.oci.Digests;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

/** Pushes blobs and manifests to a test registry: blob upload POST then PUT, manifest PUT. */
public final class RegistryPusher {
    private final String address;
    private final String basicAuth;
    private final TestTokenServer tokens;
    private final HttpClient http =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    RegistryPusher(String address, String basicAuth, TestTokenServer tokens) {
        this.address = address;
        this.basicAuth = basicAuth;
        this.tokens = tokens;
    }

    private HttpRequest.Builder auth(HttpRequest.Builder b, String repo) {
        if (basicAuth != null) {
            b.header("Authorization", basicAuth);
        } else if (tokens != null) {
            b.header("Authorization", "Bearer " + tokens.mint(repo, List.of("pull", "push")));
        }
        return b;
    }

    /** Uploads a blob (monolithic) and returns its digest. */
    public String blob(String repo, byte[] data) throws IOException, InterruptedException {
        String digest = Digests.sha256(data);
        HttpResponse<String> start =
                http.send(
                        auth(
                                        HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://"
                                                                + address
                                                                + "/v2/"
                                                                + repo
                                                                + "/blobs/uploads/")),
                                        repo)
                                .POST(HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (start.statusCode() != 202) {
            throw new IOException(
                    "blob upload start: HTTP " + start.statusCode() + " " + start.body());
        }
        URI location =
                URI.create("http://" + address + "/")
                        .resolve(start.headers().firstValue("Location").orElseThrow());
        String sep = location.toString().contains("?") ? "&" : "?";
        HttpResponse<String> put =
                http.send(
                        auth(
                                        HttpRequest.newBuilder(
                                                URI.create(location + sep + "digest=" + digest)),
                                        repo)
                                .header("Content-Type", "application/octet-stream")
                                .PUT(HttpRequest.BodyPublishers.ofByteArray(data))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (put.statusCode() != 201) {
            throw new IOException("blob upload: HTTP " + put.statusCode() + " " + put.body());
        }
        return digest;
    }

    /** Uploads a blob from a file (for big benchmark layers); the caller knows its digest. */
    public void blob(String repo, java.nio.file.Path file, String digest)
            throws IOException, InterruptedException {
        HttpResponse<String> start =
                http.send(
                        auth(
                                        HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://"
                                                                + address
                                                                + "/v2/"
                                                                + repo
                                                                + "/blobs/uploads/")),
                                        repo)
                                .POST(HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        URI location =
                URI.create("http://" + address + "/")
                        .resolve(start.headers().firstValue("Location").orElseThrow());
        String sep = location.toString().contains("?") ? "&" : "?";
        HttpResponse<String> put =
                http.send(
                        auth(
                                        HttpRequest.newBuilder(
                                                URI.create(location + sep + "digest=" + digest)),
                                        repo)
                                .header("Content-Type", "application/octet-stream")
                                .PUT(HttpRequest.BodyPublishers.ofFile(file))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (put.statusCode() != 201) {
            throw new IOException("blob upload: HTTP " + put.statusCode() + " " + put.body());
        }
    }

    /** Puts a manifest or index under a tag (or digest) and returns its digest. */
    public String manifest(String repo, String reference, String mediaType, byte[] json)
            throws IOException, InterruptedException {
        HttpResponse<String> put =
                http.send(
                        auth(
                                        HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://"
                                                                + address
                                                                + "/v2/"
                                                                + repo
                                                                + "/manifests/"
                                                                + reference)),
                                        repo)
                                .header("Content-Type", mediaType)
                                .PUT(HttpRequest.BodyPublishers.ofByteArray(json))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (put.statusCode() != 201) {
            throw new IOException("manifest put: HTTP " + put.statusCode() + " " + put.body());
        }
        return Digests.sha256(json);
    }
}
