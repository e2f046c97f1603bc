package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.Split;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Measures training time per epoch for 3000 vectors (dim 96 and 1280) with the default head
 * (dense 256, batch 64). Printed to the test output; the assertion is only a loose sanity bound
 * because the build machine is shared.
 */
class TrainingSpeedTest {

    private static VectorStore store(int dim, int n) {
        VectorStore s = new VectorStore("speed", "synthetic", dim);
        Random r = new Random(11);
        for (int i = 0; i < n; i++) {
            int c = i % 10;
            s.add("i" + i, "c" + c, Split.TRAIN, Blobs.vector(r, c, 10, dim, 3.0, dim / 10));
        }
        return s;
    }

    @Test
    void millisPerEpochFor3000Vectors() {
        HeadTrainer trainer = new HeadTrainer();
        trainer.train(HeadConfig.defaults().withEpochs(1), store(96, 256), Optional.empty()); // warm-up
        for (int dim : new int[] {96, 1280}) {
            VectorStore s = store(dim, 3000);
            TrainedHead head = trainer.train(HeadConfig.defaults().withEpochs(3), s, Optional.empty());
            System.out.printf("SPEED dim %d: %d vectors, %.0f ms/epoch (default head %s, batch %d)%n", dim,
                    head.info().trainCount(), head.info().millisPerEpoch(), head.config().architecture(),
                    head.config().batchSize());
            assertThat(head.info().millisPerEpoch()).isLessThan(60_000);
        }
    }
}
