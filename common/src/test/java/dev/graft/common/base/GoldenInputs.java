package dev.graft.common.base;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The deterministic images of tools/golden/golden.js: pixel = (i*31 + j*17 + c*7 + k*13) % 256, RGB NHWC. */
final class GoldenInputs {
    private GoldenInputs() {}

    static INDArray images(int size, int... ks) {
        float[] data = new float[ks.length * size * size * 3];
        int p = 0;
        for (int k : ks)
            for (int i = 0; i < size; i++)
                for (int j = 0; j < size; j++)
                    for (int c = 0; c < 3; c++) data[p++] = (i * 31 + j * 17 + c * 7 + k * 13) % 256;
        return Nd4j.create(data, new long[] {ks.length, size, size, 3}, 'c');
    }
}
