package dev.graft.app;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.base.BaseNetworks;
import dev.graft.common.base.BaseResolver;
import dev.graft.common.base.BaseSpec;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** Which pretrained base to run, where to cut it, at which resolution. */
public final class BaseOptions {
    /** Demo and default resolution/cut chosen from measurements on Fashion-MNIST (README, "Choosing the defaults"). */
    public static final String DEFAULT_SPEC = "nsfwjs:mobilenet_v2";

    @Option(names = "--base", paramLabel = "SPEC", defaultValue = DEFAULT_SPEC,
            description = "Pretrained base: nsfwjs:mobilenet_v2 | nsfwjs:inception_v3 | tfjs:PATH/model.json | "
                    + "keras:PATH.h5 | dl4j:PATH.zip | zoo:vgg16|resnet50|squeezenet|... (default: ${DEFAULT-VALUE}).")
    String spec;

    @Option(names = "--cut", paramLabel = "LAYER",
            description = "Layer whose output, averaged over space, is the feature vector (default: the network's bottleneck).")
    String cut;

    @Option(names = "--input-size", paramLabel = "PIXELS", defaultValue = "0",
            description = "Square input resolution (default: the network's native size, 224 for mobilenet_v2).")
    int inputSize;

    @Option(names = "--model-cache", paramLabel = "DIR",
            description = "Where pretrained networks are cached (default: $GRAFT_HOME/models or ~/.graft/models).")
    Path modelCache;

    /** Fails fast on a malformed or unknown spec, before anything is loaded or connected. */
    public void validate() {
        BaseSpec.parse(spec);
        if (inputSize < 0) {
            throw new IllegalArgumentException("--input-size must be positive, got " + inputSize);
        }
    }

    public BaseNetwork load() {
        return BaseNetworks.load(spec, cut, inputSize, cacheDir());
    }

    /** The base cut at several layers, run once per batch ({@code graft-base:} specs are refused here). */
    public BaseNetwork load(List<String> cuts) {
        BaseNetworks.Source src = new BaseResolver(null, BaseResolver.defaultBasesDir(), cacheDir()).loadSource(spec);
        return BaseNetworks.loadCuts(src, cuts, inputSize);
    }

    public Path cacheDir() {
        return modelCache != null ? modelCache : BaseNetworks.defaultCacheDir();
    }
}
