package dev.graft.common.base;

import dev.graft.common.contract.BaseRef;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A frozen pretrained network cut at a layer: images in, one vector per image out.
 * Implementations are not thread-safe; use one per worker thread.
 */
public interface BaseNetwork extends AutoCloseable {

    /** Identity (content hash), spec, cut, input size, feature width and preprocessing. */
    BaseRef ref();

    /**
     * Runs the network up to the cut and averages the cut layer's output over space.
     *
     * @param rgb255 {@code [n, inputSize, inputSize, 3]} float32, RGB, values in [0,255], NHWC;
     *               the base applies its own normalisation
     * @return {@code [n, featureDim]} float32
     */
    INDArray extract(INDArray rgb255);

    @Override
    void close();
}
