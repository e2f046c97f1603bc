package dev.graft.common.base;

import dev.graft.common.contract.BaseRef;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A frozen pretrained network cut at one or more layers: images in, one vector per image and cut out.
 * A network with several cuts runs the base once and pools every cut ({@link #refs()}, {@link #extractAll});
 * {@link #ref()} and {@link #extract} then stand for its first cut.
 * Implementations are not thread-safe; use one per worker thread.
 */
public interface BaseNetwork extends AutoCloseable {

    /** Identity (content hash), spec, cut, input size, feature width and preprocessing of the first cut. */
    BaseRef ref();

    /**
     * One {@link BaseRef} per cut, in the order of {@link #extractAll}. Each has the id a single-cut load of that
     * cut gives (weights + cut + input size + preprocessing). All refs share the input size and preprocessing.
     */
    default List<BaseRef> refs() {
        return List.of(ref());
    }

    /**
     * Runs the network up to the cut and averages the cut layer's output over space.
     *
     * @param rgb255 {@code [n, inputSize, inputSize, 3]} float32, RGB, values in [0,255], NHWC;
     *               the base applies its own normalisation
     * @return {@code [n, featureDim]} float32 (the first cut's, for a network with several cuts)
     */
    INDArray extract(INDArray rgb255);

    /**
     * One forward pass for all cuts.
     *
     * @param rgb255 as in {@link #extract}
     * @return one {@code [n, refs().get(i).featureDim()]} float32 array per cut, in the order of {@link #refs()}
     */
    default List<INDArray> extractAll(INDArray rgb255) {
        return List.of(extract(rgb255));
    }

    /** Which engine runs the forward pass: {@code folded} (the inference-only executor) or {@code dl4j}. */
    default String executor() {
        return "dl4j";
    }

    @Override
    void close();
}
