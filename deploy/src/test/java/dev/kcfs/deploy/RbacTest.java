package dev.kcfs.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The chart's RBAC is least privilege: the exact rules of each role, and what each service account
 * can and cannot do, evaluated from the rendered Roles, ClusterRoles and their bindings.
 */
class RbacTest {
    private static final String NS = RenderedChart.NAMESPACE;
    private static final String OPERATOR = "kcfs-operator";
    private static final String NODE = "kcfs-node";

    /** One rendered rule, normalised: "group/resource verb [names]" per combination. */
    private record Grant(
            String namespace, String group, String resource, String verb, Set<String> names) {
        boolean covers(String ns, String g, String r, String v, String name) {
            return (namespace == null || namespace.equals(ns))
                    && group.equals(g)
                    && resource.equals(r)
                    && verb.equals(v)
                    && (names.isEmpty() || names.contains(name));
        }
    }

    /** Everything a service account of the release is granted, through any binding. */
    private static List<Grant> grants(RenderedChart chart, String serviceAccount) {
        List<Grant> grants = new ArrayList<>();
        for (String bindingKind : List.of("ClusterRoleBinding", "RoleBinding")) {
            for (JsonNode binding : chart.ofKind(bindingKind)) {
                boolean bound = false;
                for (JsonNode s : binding.path("subjects")) {
                    bound |=
                            "ServiceAccount".equals(s.path("kind").asText())
                                    && serviceAccount.equals(s.path("name").asText())
                                    && NS.equals(s.path("namespace").asText());
                }
                if (!bound) {
                    continue;
                }
                String roleKind = binding.path("roleRef").path("kind").asText();
                String bindingNs =
                        "RoleBinding".equals(bindingKind)
                                ? binding.path("metadata").path("namespace").asText()
                                : null;
                JsonNode role =
                        roleKind.equals("Role")
                                ? chart.ofKind("Role").stream()
                                        .filter(
                                                r ->
                                                        r.path("metadata")
                                                                        .path("name")
                                                                        .asText()
                                                                        .equals(
                                                                                binding.path(
                                                                                                "roleRef")
                                                                                        .path(
                                                                                                "name")
                                                                                        .asText())
                                                                && r.path("metadata")
                                                                        .path("namespace")
                                                                        .asText()
                                                                        .equals(bindingNs))
                                        .findFirst()
                                        .orElseThrow(
                                                () ->
                                                        new AssertionError(
                                                                "binding "
                                                                        + binding.path("metadata")
                                                                        + " names a missing Role"))
                                : chart.get(
                                        "ClusterRole",
                                        binding.path("roleRef").path("name").asText());
                for (JsonNode rule : role.path("rules")) {
                    Set<String> names = new TreeSet<>();
                    rule.path("resourceNames").forEach(n -> names.add(n.asText()));
                    for (JsonNode g : rule.path("apiGroups")) {
                        for (JsonNode r : rule.path("resources")) {
                            for (JsonNode v : rule.path("verbs")) {
                                grants.add(
                                        new Grant(
                                                bindingNs,
                                                g.asText(),
                                                r.asText(),
                                                v.asText(),
                                                names));
                            }
                        }
                    }
                }
            }
        }
        return grants;
    }

    private static boolean can(
            List<Grant> grants,
            String ns,
            String group,
            String resource,
            String verb,
            String name) {
        return grants.stream().anyMatch(g -> g.covers(ns, group, resource, verb, name));
    }

    private static Set<String> rules(JsonNode role) {
        Set<String> out = new TreeSet<>();
        for (JsonNode rule : role.path("rules")) {
            List<String> parts = new ArrayList<>();
            for (String field : List.of("apiGroups", "resources", "resourceNames", "verbs")) {
                List<String> values = new ArrayList<>();
                rule.path(field).forEach(v -> values.add(v.asText()));
                parts.add(field + "=" + values);
            }
            out.add(String.join(" ", parts));
        }
        return out;
    }

    @Test
    void noWildcardsAnywhere() {
        for (RenderedChart chart :
                List.of(
                        RenderedChart.render(),
                        RenderedChart.render(Map.of("pullSecrets.clusterWide", "true")))) {
            for (String kind : List.of("Role", "ClusterRole")) {
                for (JsonNode role : chart.ofKind(kind)) {
                    for (JsonNode rule : role.path("rules")) {
                        for (String field :
                                List.of("apiGroups", "resources", "verbs", "resourceNames")) {
                            rule.path(field)
                                    .forEach(
                                            v ->
                                                    assertThat(v.asText())
                                                            .as(
                                                                    "%s %s %s",
                                                                    kind,
                                                                    role.path("metadata")
                                                                            .path("name")
                                                                            .asText(),
                                                                    field)
                                                            .isNotEqualTo("*"));
                        }
                        assertThat(rule.has("nonResourceURLs")).isFalse();
                    }
                }
            }
        }
    }

    @Test
    void operatorClusterRoleIsExactly() {
        assertThat(rules(RenderedChart.render().get("ClusterRole", OPERATOR)))
                .containsExactlyInAnyOrder(
                        "apiGroups=[kcfs.dev] resources=[composefsimages] resourceNames=[] verbs=[get, list, watch, update, patch]",
                        "apiGroups=[kcfs.dev] resources=[composefsimages/status] resourceNames=[] verbs=[get, update, patch]",
                        "apiGroups=[kcfs.dev] resources=[composefsimages/finalizers] resourceNames=[] verbs=[update]",
                        "apiGroups=[kcfs.dev] resources=[composefsnodes] resourceNames=[] verbs=[get, list, watch]",
                        "apiGroups=[] resources=[nodes] resourceNames=[] verbs=[get, list, watch]");
    }

    @Test
    void nodeClusterRoleIsExactly() {
        assertThat(rules(RenderedChart.render().get("ClusterRole", NODE)))
                .containsExactlyInAnyOrder(
                        "apiGroups=[kcfs.dev] resources=[composefsimages] resourceNames=[] verbs=[get, list, watch]",
                        "apiGroups=[kcfs.dev] resources=[composefsnodes] resourceNames=[] verbs=[get, create, update, patch]",
                        "apiGroups=[kcfs.dev] resources=[composefsnodes/status] resourceNames=[] verbs=[update, patch]",
                        "apiGroups=[] resources=[nodes] resourceNames=[] verbs=[get, list, watch]");
    }

    @Test
    void operatorCanDoItsJobAndNothingMore() {
        List<Grant> op = grants(RenderedChart.render(), OPERATOR);
        // its job
        assertThat(can(op, null, "kcfs.dev", "composefsimages", "watch", "x")).isTrue();
        assertThat(can(op, null, "kcfs.dev", "composefsimages/status", "patch", "x")).isTrue();
        assertThat(can(op, null, "kcfs.dev", "composefsimages/finalizers", "update", "x")).isTrue();
        assertThat(can(op, null, "kcfs.dev", "composefsnodes", "list", "x")).isTrue();
        assertThat(can(op, NS, "coordination.k8s.io", "leases", "update", "kcfs-operator"))
                .isTrue();
        // the leader elector of fabric8 7 renews its Lease with PATCH (the real API server refused
        // it without)
        assertThat(can(op, NS, "coordination.k8s.io", "leases", "patch", "kcfs-operator")).isTrue();
        assertThat(can(op, NS, "coordination.k8s.io", "leases", "patch", "someone-elses-lease"))
                .isFalse();
        assertThat(can(op, NS, "coordination.k8s.io", "leases", "create", "kcfs-operator"))
                .isTrue();
        assertThat(can(op, "default", "", "events", "create", "x")).isTrue();
        assertThat(can(op, NS, "", "secrets", "get", "pull")).isTrue();
        // nothing more
        assertThat(can(op, NS, "coordination.k8s.io", "leases", "update", "someone-elses-lease"))
                .isFalse();
        assertThat(can(op, "kube-system", "coordination.k8s.io", "leases", "get", "kcfs-operator"))
                .isFalse();
        assertThat(can(op, null, "kcfs.dev", "composefsimages", "create", "x")).isFalse();
        assertThat(can(op, null, "kcfs.dev", "composefsimages", "delete", "x")).isFalse();
        assertThat(can(op, null, "kcfs.dev", "composefsnodes", "update", "x")).isFalse();
        assertThat(can(op, null, "kcfs.dev", "composefsnodes/status", "patch", "x")).isFalse();
        assertThat(can(op, null, "", "nodes", "patch", "x")).isFalse();
        assertThat(can(op, "kube-system", "", "events", "create", "x")).isFalse();
        assertThat(can(op, "other", "", "secrets", "get", "x")).isFalse();
        for (String verb : List.of("get", "list", "watch", "create", "update", "patch", "delete")) {
            assertThat(can(op, NS, "", "pods", verb, "x")).as("operator %s pods", verb).isFalse();
            assertThat(can(op, NS, "apps", "daemonsets", verb, "x"))
                    .as("operator %s daemonsets", verb)
                    .isFalse();
        }
        assertThat(op).noneMatch(g -> g.resource().equals("secrets") && !g.verb().equals("get"));
    }

    @Test
    void nodeAgentCannotChangeWhatIsWanted() {
        List<Grant> node = grants(RenderedChart.render(), NODE);
        assertThat(can(node, null, "kcfs.dev", "composefsimages", "watch", "x")).isTrue();
        assertThat(can(node, null, "kcfs.dev", "composefsnodes", "create", "node-1")).isTrue();
        assertThat(can(node, null, "kcfs.dev", "composefsnodes/status", "update", "node-1"))
                .isTrue();
        assertThat(can(node, null, "", "nodes", "get", "node-1")).isTrue();
        assertThat(can(node, NS, "", "secrets", "get", "pull")).isTrue();
        for (String verb : List.of("create", "update", "patch", "delete", "deletecollection")) {
            assertThat(can(node, null, "kcfs.dev", "composefsimages", verb, "x"))
                    .as("node %s composefsimages", verb)
                    .isFalse();
            assertThat(can(node, null, "kcfs.dev", "composefsimages/status", verb, "x")).isFalse();
            assertThat(can(node, null, "", "nodes", verb, "node-1")).isFalse();
        }
        assertThat(can(node, null, "kcfs.dev", "composefsnodes", "delete", "node-1")).isFalse();
        // it does not list other nodes' reports; it writes events (how a build pulled) only where
        // events about the cluster-scoped images go, and never changes or deletes one
        assertThat(can(node, null, "kcfs.dev", "composefsnodes", "list", "x")).isFalse();
        assertThat(can(node, "default", "", "events", "create", "x")).isTrue();
        assertThat(can(node, NS, "", "events", "create", "x")).isFalse();
        assertThat(can(node, "kube-system", "", "events", "create", "x")).isFalse();
        for (String verb : List.of("get", "list", "update", "patch", "delete")) {
            assertThat(can(node, "default", "", "events", verb, "x"))
                    .as("node %s events", verb)
                    .isFalse();
        }
        assertThat(can(node, "kube-system", "", "secrets", "get", "x")).isFalse();
        assertThat(can(node, NS, "", "pods", "get", "x")).isFalse();
        assertThat(can(node, NS, "coordination.k8s.io", "leases", "update", "kcfs-operator"))
                .isFalse();
        assertThat(node).noneMatch(g -> g.resource().equals("secrets") && !g.verb().equals("get"));
    }

    @Test
    void nodeAgentsWriteOnlyTheirOwnComposefsNode() {
        RenderedChart chart = RenderedChart.render();
        JsonNode policy = chart.get("ValidatingAdmissionPolicy", "kcfs-node-own-node-only");
        JsonNode rule = policy.path("spec").path("matchConstraints").path("resourceRules").get(0);
        assertThat(rule.path("resources").toString())
                .isEqualTo("[\"composefsnodes\",\"composefsnodes/status\"]");
        assertThat(rule.path("operations").toString())
                .isEqualTo("[\"CREATE\",\"UPDATE\",\"DELETE\"]");
        assertThat(policy.path("spec").path("failurePolicy").asText()).isEqualTo("Fail");
        // it applies to the node agent's service account only, and compares names with the token's
        // node
        assertThat(policy.path("spec").path("matchConditions").get(0).path("expression").asText())
                .isEqualTo(
                        "request.userInfo.username == \"system:serviceaccount:"
                                + NS
                                + ":"
                                + NODE
                                + "\"");
        assertThat(policy.path("spec").path("validations").get(0).path("expression").asText())
                .contains(
                        "request.name == request.userInfo.extra[\"authentication.kubernetes.io/node-name\"][0]");
        JsonNode binding = chart.get("ValidatingAdmissionPolicyBinding", "kcfs-node-own-node-only");
        assertThat(binding.path("spec").path("policyName").asText())
                .isEqualTo("kcfs-node-own-node-only");
        assertThat(binding.path("spec").path("validationActions").toString())
                .isEqualTo("[\"Deny\"]");

        RenderedChart without = RenderedChart.render(Map.of("node.ownNodeOnlyPolicy", "false"));
        assertThat(without.ofKind("ValidatingAdmissionPolicy")).isEmpty();
        assertThat(without.ofKind("ValidatingAdmissionPolicyBinding")).isEmpty();
    }

    @Test
    void pullSecretAccessFollowsTheValues() {
        // default: get in the release namespace only, through Roles
        RenderedChart defaults = RenderedChart.render();
        assertThat(defaults.ofKind("ClusterRole"))
                .noneMatch(
                        r ->
                                r.path("rules").findValues("resources").stream()
                                        .anyMatch(
                                                resources ->
                                                        resources
                                                                .toString()
                                                                .contains("\"secrets\"")));
        assertThat(
                        defaults.ofKind("Role").stream()
                                .filter(r -> r.toString().contains("\"secrets\""))
                                .map(r -> r.path("metadata").path("namespace").asText()))
                .containsExactly(NS);

        // extra namespaces: one Role + RoleBinding each, still get only
        RenderedChart listed =
                RenderedChart.render(
                        Map.of(
                                "pullSecrets.namespaces[0]",
                                "team-a",
                                "pullSecrets.namespaces[1]",
                                "team-b",
                                "pullSecrets.namespaces[2]",
                                NS));
        for (String sa : List.of(OPERATOR, NODE)) {
            List<Grant> g = grants(listed, sa);
            assertThat(can(g, "team-a", "", "secrets", "get", "x")).isTrue();
            assertThat(can(g, "team-b", "", "secrets", "get", "x")).isTrue();
            assertThat(can(g, NS, "", "secrets", "get", "x")).isTrue();
            assertThat(can(g, "team-c", "", "secrets", "get", "x")).isFalse();
            assertThat(can(g, "team-a", "", "secrets", "list", "x")).isFalse();
        }

        // cluster-wide: one ClusterRole with get on secrets, still no list/watch
        RenderedChart wide = RenderedChart.render(Map.of("pullSecrets.clusterWide", "true"));
        assertThat(rules(wide.get("ClusterRole", "kcfs-pull-secrets")))
                .containsExactly("apiGroups=[] resources=[secrets] resourceNames=[] verbs=[get]");
        for (String sa : List.of(OPERATOR, NODE)) {
            List<Grant> g = grants(wide, sa);
            assertThat(can(g, "anywhere", "", "secrets", "get", "x")).isTrue();
            assertThat(can(g, "anywhere", "", "secrets", "watch", "x")).isFalse();
        }
        assertThat(wide.ofKind("Role")).noneMatch(r -> r.toString().contains("\"secrets\""));
    }
}
