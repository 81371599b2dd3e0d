package dev.kcfs.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kcfs.oci.ImageReference;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CRD's {@code spec.source.image} pattern and core's {@link ImageReference#parse} agree on a
 * table of references: what the API server admits the operator and the nodes can parse, and what it
 * refuses they refuse, except registry hosts the parser takes without checking their grammar
 * ({@code cli-only}: the CLI accepts them; the CRD keeps them out of the cluster).
 */
class ImageReferenceGrammarTest {
    private static final Pattern CRD = Pattern.compile(SourceSpec.IMAGE_PATTERN);
    private static final String HEX =
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(
            delimiter = '|',
            textBlock =
                    """
      busybox                                    | valid
      busybox:1.36                               | valid
      library/busybox:latest                     | valid
      docker.io/library/busybox:1.36             | valid
      index.docker.io/library/busybox            | valid
      127.0.0.1:5000/kcfs/tiny:v1                | valid
      localhost/a/b_c/d__e/f-g:Tag_1.x           | valid
      localhost:5000/x                           | valid
      ghcr.io/org/repo@sha256:HEX                | valid
      reg.example:443/r:t@sha256:HEX             | valid
      Reg.Example/r                              | valid
      a.b-c.d/e---f/g.h:_t                       | valid
      busybox@sha256:HEX                         | valid
      ''                                         | invalid
      Upper/Case                                 | invalid
      UPPER                                      | invalid
      repo:                                      | invalid
      repo@sha256:abc                            | invalid
      repo@sha512:HEX                            | invalid
      repo@sha256:HEX:tag                        | invalid
      https://ghcr.io/a/b                        | invalid
      a//b                                       | invalid
      -lead/x                                    | invalid
      x/-lead                                    | invalid
      repo:-tag                                  | invalid
      repo:.tag                                  | invalid
      a b                                        | invalid
      a..b                                       | invalid
      a_-b                                       | invalid
      trailing/                                  | invalid
      /leading                                   | invalid
      ghcr.io/                                   | invalid
      reg.example:port/r                         | cli-only
      -reg.example/r                             | cli-only
      [::1]:5000/r                               | cli-only
      """)
    void crdPatternAndParserAgree(String ref, String expected) {
        String reference = ref == null ? "" : ref.replace("HEX", HEX);
        boolean parses;
        try {
            ImageReference.parse(reference);
            parses = true;
        } catch (IllegalArgumentException e) {
            parses = false;
        }
        assertThat(CRD.matcher(reference).matches())
                .as("CRD pattern on '%s'", reference)
                .isEqualTo(expected.equals("valid"));
        assertThat(parses)
                .as("ImageReference.parse('%s')", reference)
                .isEqualTo(!expected.equals("invalid"));
    }
}
