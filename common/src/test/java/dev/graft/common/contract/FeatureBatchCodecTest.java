package dev.graft.common.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FeatureBatchCodecTest {
    FeatureBatchCodec codec;

    @BeforeEach
    void open() {
        codec = new FeatureBatchCodec();
    }

    @AfterEach
    void close() {
        assertThat(codec.allocatedBytes()).isZero();
        codec.close(); // throws if anything leaked
    }

    @ParameterizedTest
    @CsvSource({"1,1", "1,256", "96,1", "96,256", "1280,1", "1280,256"})
    void roundTrips(int dim, int n) {
        List<FeatureRow> rows = rows(n, dim, new Random(dim * 31L + n));
        byte[] bytes = codec.encode(rows);
        assertThat(codec.allocatedBytes()).isZero();
        List<FeatureRow> back = codec.decode(bytes);
        assertThat(codec.allocatedBytes()).isZero();
        assertThat(back).hasSize(n);
        for (int i = 0; i < n; i++) {
            FeatureRow a = rows.get(i);
            FeatureRow b = back.get(i);
            assertThat(b.imageId()).isEqualTo(a.imageId());
            assertThat(b.task()).isEqualTo(a.task());
            assertThat(b.label()).isEqualTo(a.label());
            assertThat(b.split()).isEqualTo(a.split());
            assertThat(b.baseId()).isEqualTo(a.baseId());
            assertThat(b.source()).isEqualTo(a.source());
            assertThat(b.vector()).containsExactly(a.vector());
        }
    }

    @Test
    void keepsNullLabelAndSourceAndNonAsciiAndSpecialFloats() {
        float[] v = {Float.NaN, Float.NEGATIVE_INFINITY, -0.0f, Float.MIN_VALUE, Float.MAX_VALUE};
        FeatureRow r = new FeatureRow("ïmage/ü 1", "nsfw", null, Split.TEST, "base-1", v, null);
        FeatureRow back = codec.decode(codec.encode(List.of(r))).get(0);
        assertThat(back.label()).isNull();
        assertThat(back.source()).isNull();
        assertThat(back.imageId()).isEqualTo("ïmage/ü 1");
        assertThat(Float.floatToRawIntBits(back.vector()[0])).isEqualTo(Float.floatToRawIntBits(Float.NaN));
        assertThat(Arrays.copyOfRange(back.vector(), 1, 5)).containsExactly(Arrays.copyOfRange(v, 1, 5));
        assertThat(Float.floatToRawIntBits(back.vector()[2])).isEqualTo(Float.floatToRawIntBits(-0.0f));
    }

    @Test
    void rejectsMixedDimsAndEmptyBatches() {
        FeatureRow a = new FeatureRow("a", "t", "x", Split.TRAIN, "b", new float[3], null);
        FeatureRow b = new FeatureRow("b", "t", "x", Split.TRAIN, "b", new float[4], null);
        assertThatThrownBy(() -> codec.encode(List.of(a, b))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("same dim");
        assertThatThrownBy(() -> codec.encode(List.of())).isInstanceOf(IllegalArgumentException.class);
        FeatureRow empty = new FeatureRow("e", "t", "x", Split.TRAIN, "b", new float[0], null);
        assertThatThrownBy(() -> codec.encode(List.of(empty))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rejectsMalformedBytes() {
        byte[] good = codec.encode(rows(4, 8, new Random(1)));
        assertThatThrownBy(() -> codec.decode(new byte[0])).isInstanceOf(MalformedFeatureBatchException.class);
        assertThatThrownBy(() -> codec.decode(null)).isInstanceOf(MalformedFeatureBatchException.class);
        assertThatThrownBy(() -> codec.decode("{\"json\": true}".getBytes()))
                .isInstanceOf(MalformedFeatureBatchException.class).hasMessageContaining("not a valid feature batch");
        for (int cut : new int[] {4, 8, 100, good.length / 2, good.length - 9}) {
            assertThatThrownBy(() -> codec.decode(Arrays.copyOf(good, cut)))
                    .as("truncated to %d of %d bytes", cut, good.length)
                    .isInstanceOf(MalformedFeatureBatchException.class);
        }
        Random rnd = new Random(7);
        for (int i = 0; i < 200; i++) {
            byte[] bad = good.clone();
            for (int k = 0; k < 4; k++) {
                bad[rnd.nextInt(bad.length)] ^= (byte) (1 + rnd.nextInt(255));
            }
            try {
                codec.decode(bad); // a flip inside float data or a string is not detectable, and fine
            } catch (MalformedFeatureBatchException expected) {
                // fine
            }
            assertThat(codec.allocatedBytes()).as("after corrupt input %d", i).isZero();
        }
        byte[] random = new byte[4096];
        rnd.nextBytes(random);
        assertThatThrownBy(() -> codec.decode(random)).isInstanceOf(MalformedFeatureBatchException.class);
    }

    @Test
    void rejectsAnotherSchema() throws Exception {
        byte[] other;
        try (BufferAllocator a = new RootAllocator();
             VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(List.of(
                     new Field("x", FieldType.nullable(new ArrowType.Int(32, true)), null))), a)) {
            IntVector x = (IntVector) root.getVector("x");
            x.allocateNew(1);
            x.set(0, 42);
            root.setRowCount(1);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ArrowStreamWriter w = new ArrowStreamWriter(root, null, Channels.newChannel(out))) {
                w.start();
                w.writeBatch();
                w.end();
            }
            other = out.toByteArray();
        }
        assertThatThrownBy(() -> codec.decode(other)).isInstanceOf(MalformedFeatureBatchException.class)
                .hasMessageContaining("unexpected Arrow schema");
    }

    @Test
    void aSharedAllocatorIsLeftEmpty() {
        try (BufferAllocator shared = new RootAllocator()) {
            try (FeatureBatchCodec c = new FeatureBatchCodec(shared)) {
                c.decode(c.encode(rows(16, 96, new Random(3))));
            }
            assertThat(shared.getAllocatedMemory()).isZero();
        }
    }

    @Test
    void schemaIsTheDocumentedOne() {
        assertThat(FeatureBatchCodec.schema(96).toString()).isEqualTo(
                "Schema<image_id: Utf8 not null, task: Utf8 not null, label: Utf8, split: Utf8 not null,"
                        + " base_id: Utf8 not null, source: Utf8, vector: FixedSizeList(96)<item: FloatingPoint(SINGLE)"
                        + " not null> not null>");
    }

    static List<FeatureRow> rows(int n, int dim, Random rnd) {
        List<FeatureRow> rows = new ArrayList<>(n);
        Split[] splits = Split.values();
        for (int i = 0; i < n; i++) {
            float[] v = new float[dim];
            for (int j = 0; j < dim; j++) {
                v[j] = rnd.nextFloat() * 6 - 1;
            }
            rows.add(new FeatureRow("img-" + i + "-" + rnd.nextInt(1000), "task-a", i % 3 == 0 ? null : "label" + (i % 5),
                    splits[i % 3], "base-" + dim, v, i % 2 == 0 ? "graft.images-0@" + i : null));
        }
        return rows;
    }
}
