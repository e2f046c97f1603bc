package dev.graft.finetune;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where fine-tuning starts: the <b>freeze point</b> is the first trainable vertex in the base's topological
 * order (DL4J's {@code getTopologicalOrderStr} of the base cut at its cut layer); every vertex before it is
 * frozen, it and every vertex after it are trained.
 *
 * <p>{@code unfreezeFrom} is either a vertex name of the cut base (e.g. {@code block_12_expand}) or
 * {@code last N blocks} ({@code last 1 block} too). A <b>block</b> is the set of vertices named
 * {@code block_K_*} (the Keras MobileNetV2 naming: {@code block_12_expand}, {@code block_12_depthwise}, ...,
 * {@code block_12_project_BN}, {@code block_12_add}); the last N blocks are the N highest K present in the cut
 * base, and the freeze point is the first vertex of the lowest of them. Anything else is rejected with an
 * {@link IllegalArgumentException} saying what is accepted.
 */
public record FreezePoint(String unfreezeFrom, String firstTrainable, int index) {

    private static final Pattern LAST_BLOCKS = Pattern.compile("last\\s+(\\d{1,4})\\s+blocks?");
    private static final Pattern BLOCK = Pattern.compile("block_(\\d+)_.*");

    /**
     * @param order vertex names of the cut base in topological order, network inputs excluded
     */
    public static FreezePoint resolve(List<String> order, String unfreezeFrom) {
        if (unfreezeFrom == null || unfreezeFrom.isBlank()) {
            throw new IllegalArgumentException("unfreezeFrom is empty; give a layer name or 'last N blocks'");
        }
        String u = unfreezeFrom.trim();
        Matcher m = LAST_BLOCKS.matcher(u.toLowerCase(Locale.ROOT));
        if (m.matches()) {
            int n = Integer.parseInt(m.group(1));
            TreeSet<Integer> blocks = new TreeSet<>();
            for (String v : order) {
                Matcher b = BLOCK.matcher(v);
                if (b.matches()) blocks.add(Integer.parseInt(b.group(1)));
            }
            if (blocks.isEmpty()) {
                throw new IllegalArgumentException("'" + u + "': this base has no block_K_* layers; name the first "
                        + "layer to train instead, e.g. " + sample(order));
            }
            if (n < 1 || n > blocks.size()) {
                throw new IllegalArgumentException("'" + u + "': the base (up to its cut) has " + blocks.size()
                        + " blocks (block_" + blocks.first() + " .. block_" + blocks.last() + "); N must be 1.."
                        + blocks.size());
            }
            int first = new ArrayList<>(blocks.descendingSet()).get(n - 1);
            String prefix = "block_" + first + "_";
            for (int i = 0; i < order.size(); i++) {
                if (order.get(i).startsWith(prefix)) return new FreezePoint(u, order.get(i), i);
            }
            throw new IllegalStateException("no vertex starts with " + prefix); // unreachable: the block exists
        }
        int i = order.indexOf(u);
        if (i < 0) {
            throw new IllegalArgumentException("unknown layer '" + u + "': not a layer of the base up to its cut "
                    + "(" + order.size() + " vertices, e.g. " + sample(order) + "); or use 'last N blocks'");
        }
        return new FreezePoint(u, u, i);
    }

    /** The vertices frozen by this freeze point (those before it in {@code order}). */
    public List<String> frozen(List<String> order) {
        return order.subList(0, index);
    }

    private static String sample(List<String> order) {
        int from = Math.max(0, order.size() - 6);
        return String.join(", ", order.subList(from, order.size()));
    }
}
