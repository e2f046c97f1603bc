package dev.graft.app.probe;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * Which layers of a network to probe. {@code auto}: block outputs (element-wise add and merge vertices, e.g.
 * MobileNetV2's {@code block_K_add}, InceptionV3's {@code mixedK}; pooling layers for plain chains like VGG)
 * that lie below the network's bottleneck, {@value #AUTO_BLOCKS} of them spread evenly over depth, plus the
 * bottleneck itself. An explicit list is checked against the graph and sorted by depth.
 */
public final class ProbeLayers {
    /** Block outputs picked by {@code auto}, besides the bottleneck. */
    public static final int AUTO_BLOCKS = 5;

    private ProbeLayers() {}

    /**
     * @param conf the full network's configuration
     * @param bottleneck the network's default cut (the last layer auto picks)
     * @param layers {@code auto} (or blank) or a comma-separated list of vertex names
     * @return layer names, shallowest first
     * @throws IllegalArgumentException on an unknown name, naming candidates
     */
    public static List<String> select(ComputationGraphConfiguration conf, String bottleneck, String layers) {
        if (layers == null || layers.isBlank() || layers.trim().toLowerCase(Locale.ROOT).equals("auto")) {
            return auto(conf, bottleneck, AUTO_BLOCKS);
        }
        List<String> names = new ArrayList<>();
        for (String s : layers.split(",")) {
            if (!s.isBlank()) names.add(s.trim());
        }
        if (names.isEmpty()) throw new IllegalArgumentException("--layers lists no layer");
        return explicit(conf, bottleneck, names);
    }

    /** Block outputs below {@code bottleneck}, {@code blocks} of them spread over depth, then the bottleneck. */
    public static List<String> auto(ComputationGraphConfiguration conf, String bottleneck, int blocks) {
        requireVertex(conf, bottleneck, bottleneck, "the network's bottleneck");
        List<String> pool = blockOutputs(conf, bottleneck);
        List<String> out = new ArrayList<>(spread(pool, blocks));
        out.remove(bottleneck);
        out.add(bottleneck);
        return out;
    }

    /** Checks every name against the graph, drops duplicates and sorts by depth (topological order). */
    public static List<String> explicit(ComputationGraphConfiguration conf, String bottleneck, List<String> names) {
        Set<String> unique = new LinkedHashSet<>();
        for (String n : names) {
            requireVertex(conf, n, bottleneck, "layer");
            if (conf.getNetworkInputs().contains(n)) {
                throw new IllegalArgumentException("'" + n + "' is the network's input; the probe always reports "
                        + "raw pixels as a baseline row");
            }
            unique.add(n);
        }
        List<String> order = order(conf);
        List<String> sorted = new ArrayList<>(unique);
        sorted.sort((a, b) -> Integer.compare(order.indexOf(a), order.indexOf(b)));
        return sorted;
    }

    /**
     * Block outputs strictly below {@code bottleneck}, in topological order: add/merge vertices; for a network
     * without any, its pooling layers.
     */
    static List<String> blockOutputs(ComputationGraphConfiguration conf, String bottleneck) {
        List<String> order = order(conf);
        int end = order.indexOf(bottleneck);
        Map<String, GraphVertex> vertices = conf.getVertices();
        List<String> merges = new ArrayList<>();
        List<String> pools = new ArrayList<>();
        for (String v : order.subList(0, end)) {
            GraphVertex gv = vertices.get(v);
            if (gv instanceof ElementWiseVertex || gv instanceof MergeVertex) merges.add(v);
            if (gv instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof SubsamplingLayer) pools.add(v);
        }
        return merges.isEmpty() ? pools : merges;
    }

    /** {@code k} items spread evenly over {@code items} (first and last included), or all of them if fewer. */
    static List<String> spread(List<String> items, int k) {
        if (items.size() <= k) return List.copyOf(items);
        if (k <= 0) return List.of();
        if (k == 1) return List.of(items.get(items.size() - 1));
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < k; i++) {
            out.add(items.get((int) Math.round((double) i * (items.size() - 1) / (k - 1))));
        }
        return List.copyOf(out);
    }

    /** Vertex names in topological order (computed once for a configuration no graph was built from yet). */
    static List<String> order(ComputationGraphConfiguration conf) {
        if (conf.getTopologicalOrderStr() == null) {
            new ComputationGraph(conf).topologicalSortOrder();   // stores the order in the configuration
        }
        List<String> order = conf.getTopologicalOrderStr();
        if (order == null) throw new IllegalStateException("no topological order for the network's graph");
        return order;
    }

    private static void requireVertex(ComputationGraphConfiguration conf, String name, String bottleneck, String what) {
        if (conf.getVertices().containsKey(name) || conf.getNetworkInputs().contains(name)) return;
        List<String> order = order(conf);
        List<String> examples = new ArrayList<>(conf.getVertices().containsKey(bottleneck)
                ? blockOutputs(conf, bottleneck) : List.of());
        if (conf.getVertices().containsKey(bottleneck)) examples.add(bottleneck);
        throw new IllegalArgumentException("unknown " + what + " '" + name + "'; the network has " + order.size()
                + " vertices (" + order.get(0) + " … " + order.get(order.size() - 1) + "), block outputs: "
                + String.join(", ", examples) + " (or use --layers auto)");
    }
}
