package dev.graft.headtrainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.Split;
import java.util.List;
import org.junit.jupiter.api.Test;

class VectorStoreTest {

    private final VectorStore store = new VectorStore("t", "base1", 3);

    private static float[] v(float a, float b, float c) {
        return new float[] {a, b, c};
    }

    @Test
    void deduplicatesByImageIdAndRelabels() {
        assertThat(store.add("a", "cat", Split.TRAIN, v(1, 2, 3))).isEqualTo(VectorStore.AddResult.ADDED);
        assertThat(store.add("a", "cat", Split.TRAIN, v(1, 2, 3))).isEqualTo(VectorStore.AddResult.DUPLICATE);
        assertThat(store.size()).isEqualTo(1);
        assertThat(store.trainChanges()).isEqualTo(1);
        assertThat(store.add("a", "dog", Split.TRAIN, v(1, 2, 3))).isEqualTo(VectorStore.AddResult.RELABELLED);
        assertThat(store.size()).isEqualTo(1);
        assertThat(store.trainChanges()).isEqualTo(2);
        assertThat(store.train().labels()).containsExactly(1);
        assertThat(store.add("u", null, Split.TRAIN, v(0, 0, 0))).isEqualTo(VectorStore.AddResult.SKIPPED_UNLABELLED);
        assertThat(store.size()).isEqualTo(1);
    }

    @Test
    void labelVocabularyGrowsInOrderOfFirstAppearance() {
        store.add("1", "zebra", Split.VALIDATION, v(0, 0, 1));
        store.add("2", "ant", Split.TRAIN, v(0, 1, 0));
        store.add("3", "zebra", Split.TRAIN, v(1, 0, 0));
        List<String> before = store.labels();
        store.add("4", "moth", Split.TEST, v(1, 1, 1));
        assertThat(before).containsExactly("zebra", "ant");
        assertThat(store.labels()).containsExactly("zebra", "ant", "moth");
        assertThat(store.labelIndex("moth")).isEqualTo(2);
        assertThat(store.labelIndex("nope")).isEqualTo(-1);
        assertThatThrownBy(() -> store.labels().add("x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void splitsCarryTheirRowsInInsertionOrder() {
        store.add("t1", "a", Split.TRAIN, v(1, 2, 3));
        store.add("v1", "b", Split.VALIDATION, v(4, 5, 6));
        store.add("t2", "b", Split.TRAIN, v(7, 8, 9));
        store.add("x1", "a", Split.TEST, v(10, 11, 12));

        VectorStore.SplitData train = store.train();
        assertThat(train.features().shape()).containsExactly(2, 3);
        assertThat(train.features().toFloatMatrix()).isEqualTo(new float[][] {{1, 2, 3}, {7, 8, 9}});
        assertThat(train.labels()).containsExactly(0, 1);
        assertThat(train.imageIds()).containsExactly("t1", "t2");
        assertThat(train.labelNames()).containsExactly("a", "b");

        assertThat(store.validation().features().toFloatMatrix()).isEqualTo(new float[][] {{4, 5, 6}});
        assertThat(store.test().imageIds()).containsExactly("x1");
        assertThat(store.size(Split.TRAIN)).isEqualTo(2);
        assertThat(store.labelCounts(Split.TRAIN)).containsExactly(1, 1);

        VectorStore empty = new VectorStore("t", "b", 5);
        assertThat(empty.validation().features().shape()).containsExactly(0, 5);
        assertThat(empty.validation().size()).isZero();
    }

    @Test
    void growsBeyondInitialCapacityAndReportsBytes() {
        VectorStore big = new VectorStore("t", "b", 96);
        long empty = big.bytesUsed();
        for (int i = 0; i < 3000; i++) {
            float[] vec = new float[96];
            vec[i % 96] = i;
            big.add("img-" + i, "l" + (i % 7), i % 10 == 0 ? Split.VALIDATION : Split.TRAIN, vec);
        }
        assertThat(big.size()).isEqualTo(3000);
        assertThat(big.vectorBytes()).isEqualTo(3000L * 96 * 4);
        assertThat(big.bytesUsed()).isGreaterThan(empty).isBetween(big.vectorBytes(), 2 * big.vectorBytes() + 3000L * 200);
        VectorStore.SplitData val = big.validation();
        assertThat(val.size()).isEqualTo(300);
        assertThat(val.features().getFloat(299, (2990 % 96))).isEqualTo(2990f);
        assertThat(val.labels()[299]).isEqualTo(big.labelIndex("l" + (2990 % 7)));
        System.out.printf("VectorStore: 3000 x 96 floats: %d vector bytes, %d bytes used%n",
                big.vectorBytes(), big.bytesUsed());
    }

    @Test
    void rejectsForeignRowsAndWrongDimensions() {
        assertThatThrownBy(() -> store.add(new FeatureRow("i", "other", "a", Split.TRAIN, "base1", v(1, 1, 1), "s")))
                .hasMessageContaining("task");
        assertThatThrownBy(() -> store.add(new FeatureRow("i", "t", "a", Split.TRAIN, "base2", v(1, 1, 1), "s")))
                .hasMessageContaining("base");
        assertThatThrownBy(() -> store.add("i", "a", Split.TRAIN, new float[2])).hasMessageContaining("length 2");
        assertThatThrownBy(() -> store.add("i", "a", Split.TRAIN, v(1, Float.NaN, 1))).hasMessageContaining("non-finite");
        assertThat(store.add(new FeatureRow("i", "t", "a", Split.TRAIN, "base1", v(1, 1, 1), "s")))
                .isEqualTo(VectorStore.AddResult.ADDED);
    }
}
