package dev.graft.featureworker;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.BaseRef;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A stand-in base for tests without the pretrained network: the feature is each image's mean per channel. */
final class FakeBase implements BaseNetwork {
    private final BaseRef ref;

    FakeBase(int inputSize) {
        this.ref = new BaseRef("fake-" + inputSize, "fake:mean", "mean", inputSize, 3, "none");
    }

    @Override
    public BaseRef ref() {
        return ref;
    }

    @Override
    public INDArray extract(INDArray rgb255) {
        return rgb255.mean(1, 2);
    }

    @Override
    public void close() {}
}
