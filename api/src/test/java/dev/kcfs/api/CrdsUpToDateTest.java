package dev.kcfs.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The build regenerates crds/ from the annotated classes (crd-generator-maven-plugin at
 * process-classes) after copying what was there to target/crds-before-build. A difference means the
 * checked-in CRDs were stale: this build has already rewritten them, so they only need committing.
 */
class CrdsUpToDateTest {
    private static final String HOW_TO_FIX =
            "crds/ was stale and the build has regenerated it from the classes in dev.kcfs.api: "
                    + "run `./mvnw -pl api process-classes`, review `git diff crds/` and commit crds/";

    @Test
    void committedCrdsEqualFreshlyGeneratedOnes() throws IOException {
        Path fresh = Path.of(System.getProperty("kcfs.crds.dir"));
        Path before = Path.of(System.getProperty("kcfs.crds.before"));

        List<String> freshNames = yamlNames(fresh);
        assertThat(freshNames)
                .as("the generator must write both CRDs into %s", fresh)
                .containsExactlyInAnyOrder(
                        "composefsimages.kcfs.dev-v1.yml", "composefsnodes.kcfs.dev-v1.yml");
        assertThat(Files.isDirectory(before) ? yamlNames(before) : List.of())
                .as(HOW_TO_FIX + " (files added or removed)")
                .containsExactlyInAnyOrderElementsOf(freshNames);
        for (String name : freshNames) {
            assertThat(Files.readString(before.resolve(name)))
                    .as(HOW_TO_FIX + " (%s differs)", name)
                    .isEqualTo(Files.readString(fresh.resolve(name)));
        }
    }

    private static List<String> yamlNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".yml") || n.endsWith(".yaml"))
                    .sorted()
                    .collect(Collectors.toList());
        }
    }
}
