package dev.graft.featureworker.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PixelBufferPoolTest {

    @Test
    void aGivenBackBufferIsTakenAgainByTheNextBatchThatFitsIt() {
        PixelBufferPool pool = new PixelBufferPool(3);
        float[] full = pool.take(100);
        assertThat(full).hasSize(100);
        pool.give(full);
        assertThat(pool.take(100)).isSameAs(full);
        pool.give(full);
        assertThat(pool.take(40)).as("a partial batch reuses a full batch's buffer").isSameAs(full);
        assertThat(pool.take(40)).as("none free: a new one of the size asked").hasSize(40).isNotSameAs(full);
    }

    @Test
    void theShortestFittingBufferIsTakenSoLargeOnesStayForFullBatches() {
        PixelBufferPool pool = new PixelBufferPool(3);
        float[] small = new float[50];
        float[] large = new float[200];
        pool.give(large);
        pool.give(small);
        assertThat(pool.take(40)).isSameAs(small);
        assertThat(pool.take(60)).isSameAs(large);
        assertThat(pool.take(10)).as("nothing free").isNotIn(small, large);
    }

    @Test
    void atMostCapacityBuffersAreKeptTheLargestOnes() {
        PixelBufferPool pool = new PixelBufferPool(2);
        float[] a = new float[10];
        float[] b = new float[30];
        float[] c = new float[20];
        pool.give(a);
        pool.give(b);
        pool.give(c);
        assertThat(pool.freeCount()).isEqualTo(2);
        assertThat(pool.take(1)).isSameAs(c);
        assertThat(pool.take(1)).isSameAs(b);
        assertThat(pool.freeCount()).as("the shortest, a, was dropped").isZero();
    }

    @Test
    void givingABufferBackTwiceIsABug() {
        PixelBufferPool pool = new PixelBufferPool(3);
        float[] a = pool.take(8);
        pool.give(a);
        assertThatThrownBy(() -> pool.give(a)).isInstanceOf(IllegalStateException.class).hasMessageContaining("twice");
        assertThatThrownBy(() -> new PixelBufferPool(-1)).hasMessageContaining("capacity");
    }
}
