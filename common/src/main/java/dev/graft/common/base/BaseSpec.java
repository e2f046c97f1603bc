package dev.graft.common.base;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A parsed base-network spec:
 * <ul>
 *   <li>{@code nsfwjs:mobilenet_v2} (the default), {@code nsfwjs:inception_v3}: the nsfwjs@4.4.0 models</li>
 *   <li>{@code tfjs:PATH/model.json}: any TF.js layers-format Keras functional model</li>
 *   <li>{@code keras:PATH.h5}: a Keras functional model with weights (HDF5)</li>
 *   <li>{@code dl4j:PATH.zip}: a ComputationGraph saved by ModelSerializer</li>
 *   <li>{@code zoo:NAME}: a DL4J zoo model with pretrained ImageNet weights ({@link #ZOO_NAMES})</li>
 *   <li>{@code graft-base:TASK/bN}: base version N of a task, fine-tuned and published on the model registry
 *       ({@code base-published} event); loaded through {@link BaseResolver}, not {@link BaseNetworks} alone</li>
 * </ul>
 * File schemes take an optional {@code ?pre=NAME} suffix naming the {@link Preprocessing} (default {@code unit}),
 * e.g. {@code keras:/models/net.h5?pre=tf}.
 *
 * @param scheme one of {@link #SCHEMES}
 * @param name model name for nsfwjs/zoo, file path for tfjs/keras/dl4j
 * @param preprocessing explicit preprocessing, or null for the model's own default
 */
public record BaseSpec(String scheme, String name, Preprocessing preprocessing) {

    public static final String DEFAULT = "nsfwjs:mobilenet_v2";
    public static final String GRAFT_BASE = "graft-base";
    public static final List<String> SCHEMES = List.of("nsfwjs", "tfjs", "keras", "dl4j", "zoo", GRAFT_BASE);
    private static final java.util.regex.Pattern BASE_VERSION = java.util.regex.Pattern.compile("(.+)/b([1-9][0-9]{0,8})");
    public static final List<String> NSFWJS_NAMES = List.of("mobilenet_v2", "inception_v3");
    public static final List<String> ZOO_NAMES = ZooBases.NAMES;

    private static final String ACCEPTED = "accepted: nsfwjs:" + String.join("|", NSFWJS_NAMES)
            + ", tfjs:PATH/model.json, keras:PATH.h5, dl4j:PATH.zip, zoo:" + String.join("|", ZooBases.NAMES)
            + ", graft-base:TASK/bN"
            + " (file schemes may end in ?pre=" + String.join("|", java.util.Arrays.stream(Preprocessing.values())
                    .map(Preprocessing::id).toList()) + ")";

    public BaseSpec {
        if (!SCHEMES.contains(scheme)) throw bad(scheme + ":" + name, "unknown scheme '" + scheme + "'");
    }

    /** Parses a spec; null or blank means {@link #DEFAULT}. */
    public static BaseSpec parse(String spec) {
        if (spec == null || spec.isBlank()) spec = DEFAULT;
        String s = spec.trim();
        int colon = s.indexOf(':');
        if (colon <= 0) throw bad(spec, "missing scheme");
        String scheme = s.substring(0, colon).toLowerCase(Locale.ROOT);
        String rest = s.substring(colon + 1).trim();
        if (!SCHEMES.contains(scheme)) throw bad(spec, "unknown scheme '" + scheme + "'");
        if (rest.isEmpty()) throw bad(spec, "nothing after '" + scheme + ":'");
        switch (scheme) {
            case "nsfwjs" -> {
                String n = rest.toLowerCase(Locale.ROOT);
                if (!NSFWJS_NAMES.contains(n)) throw bad(spec, "unknown nsfwjs model '" + rest + "'");
                return new BaseSpec(scheme, n, null);
            }
            case GRAFT_BASE -> {
                if (!BASE_VERSION.matcher(rest).matches()) throw bad(spec, "expects TASK/bN, e.g. graft-base:nsfw/b1");
                return new BaseSpec(scheme, rest, null);
            }
            case "zoo" -> {
                String n = rest.toLowerCase(Locale.ROOT);
                if (!ZooBases.NAMES.contains(n)) throw bad(spec, "unknown zoo model '" + rest + "'");
                return new BaseSpec(scheme, n, null);
            }
            default -> {
                Preprocessing pre = null;
                int q = rest.lastIndexOf("?pre=");
                if (q >= 0) {
                    try {
                        pre = Preprocessing.of(rest.substring(q + 5));
                    } catch (IllegalArgumentException e) {
                        throw bad(spec, e.getMessage());
                    }
                    rest = rest.substring(0, q);
                }
                String lower = rest.toLowerCase(Locale.ROOT);
                String want = switch (scheme) {
                    case "tfjs" -> ".json";
                    case "keras" -> ".h5";
                    default -> ".zip";
                };
                if (!lower.endsWith(want) && !(scheme.equals("keras") && lower.endsWith(".hdf5"))) {
                    throw bad(spec, scheme + ": expects a path ending in " + want);
                }
                return new BaseSpec(scheme, rest, pre);
            }
        }
    }

    /** The file of a file-scheme spec. */
    public Path path() {
        if (!isFile()) throw new IllegalStateException(this + " is not a file spec");
        return Path.of(name);
    }

    public boolean isFile() {
        return scheme.equals("tfjs") || scheme.equals("keras") || scheme.equals("dl4j");
    }

    /** Whether this is a published fine-tuned base ({@code graft-base:TASK/bN}). */
    public boolean isGraftBase() {
        return scheme.equals(GRAFT_BASE);
    }

    /** The task of a {@code graft-base:TASK/bN} spec. */
    public String baseTask() {
        return graftBase().group(1);
    }

    /** The base version N of a {@code graft-base:TASK/bN} spec. */
    public int baseVersion() {
        return Integer.parseInt(graftBase().group(2));
    }

    /** The spec of base version {@code version} of {@code task}. */
    public static BaseSpec graftBase(String task, int version) {
        return parse(GRAFT_BASE + ":" + task + "/b" + version);
    }

    private java.util.regex.Matcher graftBase() {
        java.util.regex.Matcher m = BASE_VERSION.matcher(name);
        if (!isGraftBase() || !m.matches()) throw new IllegalStateException(this + " is not a graft-base spec");
        return m;
    }

    /**
     * Short model name for base ids: {@code mobilenet_v2}, {@code vgg16}, the file name without extension, or
     * {@code TASK-bN} for {@code graft-base:TASK/bN} (the name of the file it is cached as, so its id is the one
     * of that file loaded as a {@code dl4j:} spec).
     */
    public String shortName() {
        if (isGraftBase()) return (baseTask() + "-b" + baseVersion()).replaceAll("[^A-Za-z0-9_.-]", "_");
        if (!isFile()) return name;
        String f = path().getFileName().toString();
        if (scheme.equals("tfjs") && f.equals("model.json") && path().getParent() != null
                && path().getParent().getFileName() != null) {
            f = path().getParent().getFileName().toString();
        }
        int dot = f.lastIndexOf('.');
        String base = dot > 0 ? f.substring(0, dot) : f;
        return base.replaceAll("[^A-Za-z0-9_.-]", "_");
    }

    /** The canonical string, parseable by {@link #parse(String)}. */
    @Override
    public String toString() {
        return scheme + ":" + name + (preprocessing == null ? "" : "?pre=" + preprocessing.id());
    }

    private static IllegalArgumentException bad(String spec, String why) {
        return new IllegalArgumentException("bad base spec '" + spec + "': " + why + "; " + ACCEPTED);
    }
}
