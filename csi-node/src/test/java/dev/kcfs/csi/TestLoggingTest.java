package dev.kcfs.csi;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class TestLoggingTest {
    /**
     * Two logback-test.xml on one classpath (this module's and the operator's test jar) made logback
     * print its whole configuration status at the start of every test run.
     */
    @Test
    void oneLogbackTestConfigurationOnTheClasspath() throws Exception {
        List<URL> found =
                Collections.list(getClass().getClassLoader().getResources("logback-test.xml"));
        assertThat(found).hasSize(1);
    }
}
