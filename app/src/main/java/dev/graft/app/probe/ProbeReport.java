package dev.graft.app.probe;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The result of a probe: one row per layer (shallowest first) plus the raw-pixel baseline, the table printed by
 * {@code graft probe} and its recommendation. Pure data and formatting.
 *
 * @param title first line (what was probed, on which sample)
 * @param layers probed layers, shallowest first (at least one)
 * @param pixels the raw-pixel baseline row
 * @param classes number of classes in the training sample (chance = 1 / classes)
 * @param notes lines printed under the table (what the speed column measured, timings)
 */
public record ProbeReport(String title, List<Row> layers, Row pixels, int classes, List<String> notes) {

    /**
     * @param layer vertex name, or {@link #PIXELS} for the baseline
     * @param width feature dimension
     * @param accuracy validation accuracy in [0,1]
     * @param correct correctly classified validation images
     * @param count validation images
     * @param imagesPerSecond forward-pass throughput up to this layer (for the baseline: decode + resize)
     * @param l2 the L2 strength the probe chose
     */
    public record Row(String layer, int width, double accuracy, int correct, int count, double imagesPerSecond, double l2) {
        public Row {
            Objects.requireNonNull(layer, "layer");
            if (!(accuracy >= 0 && accuracy <= 1)) throw new IllegalArgumentException("accuracy must be in [0,1], got " + accuracy);
            if (count <= 0 || correct < 0 || correct > count) {
                throw new IllegalArgumentException("bad counts " + correct + "/" + count);
            }
        }

        /** Binomial standard error of the accuracy. */
        public double standardError() {
            return Math.sqrt(accuracy * (1 - accuracy) / count);
        }
    }

    /** Name of the raw-pixel baseline row. */
    public static final String PIXELS = "raw pixels";

    public ProbeReport {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(pixels, "pixels");
        layers = List.copyOf(layers);
        notes = List.copyOf(notes);
        if (layers.isEmpty()) throw new IllegalArgumentException("no layer rows");
    }

    /** The layer with the best validation accuracy; on a tie, the shallower (cheaper) one. */
    public Row best() {
        Row best = layers.get(0);
        for (Row r : layers) {
            if (r.accuracy() > best.accuracy()) best = r;
        }
        return best;
    }

    /**
     * The fastest layer whose accuracy is within one standard error of the best, if it is faster than the best;
     * else null.
     */
    public Row cheaperAlternative() {
        Row best = best();
        Row alt = null;
        for (Row r : layers) {
            if (r != best && r.accuracy() >= best.accuracy() - best.standardError()
                    && r.imagesPerSecond() > best.imagesPerSecond()
                    && (alt == null || r.imagesPerSecond() > alt.imagesPerSecond())) {
                alt = r;
            }
        }
        return alt;
    }

    /** Raw pixels within one standard error of the best layer (or better). */
    public boolean pixelsAsGood() {
        Row best = best();
        return pixels.accuracy() >= best.accuracy() - best.standardError();
    }

    /** Recommendation lines. */
    public List<String> recommendation() {
        Row best = best();
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "recommended cut: %s (validation accuracy %.4f ± %.4f, %d-d, %.1f images/s to depth)",
                best.layer(), best.accuracy(), best.standardError(), best.width(), best.imagesPerSecond()));
        Row alt = cheaperAlternative();
        if (alt != null) {
            out.add(String.format(Locale.ROOT, "  %s is within one standard error (%.4f) at %.1f images/s: a cheaper choice",
                    alt.layer(), alt.accuracy(), alt.imagesPerSecond()));
        }
        if (pixelsAsGood()) {
            out.add(String.format(Locale.ROOT, "  raw pixels are as good on this sample (%.4f, within one standard error "
                    + "of the best layer): the network adds little here; more labels or another base may", pixels.accuracy()));
        } else {
            out.add(String.format(Locale.ROOT, "  raw pixels: %.4f, %.1f points below", pixels.accuracy(),
                    100 * (best.accuracy() - pixels.accuracy())));
        }
        return out;
    }

    /** The table, recommendation and notes as printed by {@code graft probe}. */
    public String render() {
        int nameWidth = PIXELS.length() + 2;
        for (Row r : layers) nameWidth = Math.max(nameWidth, r.layer().length() + 2);
        String fmt = "%-" + nameWidth + "s %7s %9s %7s %15s%n";
        StringBuilder sb = new StringBuilder();
        sb.append(title).append('\n');
        sb.append(String.format(Locale.ROOT, fmt, "layer", "width", "val acc", "± SE", "img/s to depth"));
        appendRow(sb, fmt, pixels, best());
        for (Row r : layers) appendRow(sb, fmt, r, best());
        sb.append(String.format(Locale.ROOT, "chance: %.4f (%d classes); * = best layer%n", 1.0 / classes, classes));
        for (String line : recommendation()) sb.append(line).append('\n');
        for (String n : notes) sb.append(n).append('\n');
        return sb.toString();
    }

    private static void appendRow(StringBuilder sb, String fmt, Row r, Row best) {
        sb.append(String.format(Locale.ROOT, fmt, r.layer() + (r == best ? " *" : ""), Integer.toString(r.width()),
                String.format(Locale.ROOT, "%.4f", r.accuracy()), String.format(Locale.ROOT, "%.4f", r.standardError()),
                String.format(Locale.ROOT, "%.1f", r.imagesPerSecond())));
    }

    /** JSON-ready map ({@code --json}). */
    public Map<String, Object> toJson(Map<String, Object> extra) {
        Map<String, Object> m = new LinkedHashMap<>(extra);
        m.put("title", title);
        m.put("classes", classes);
        m.put("chance", 1.0 / classes);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Row r : layers) rows.add(row(r));
        m.put("layers", rows);
        m.put("raw_pixels", row(pixels));
        m.put("recommended", best().layer());
        Row alt = cheaperAlternative();
        m.put("cheaper_alternative", alt == null ? null : alt.layer());
        m.put("pixels_as_good", pixelsAsGood());
        m.put("notes", notes);
        return m;
    }

    private static Map<String, Object> row(Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layer", r.layer());
        m.put("width", r.width());
        m.put("validation_accuracy", r.accuracy());
        m.put("standard_error", r.standardError());
        m.put("correct", r.correct());
        m.put("validation_images", r.count());
        m.put("images_per_s", r.imagesPerSecond());
        m.put("l2", r.l2());
        return m;
    }
}
