package dev.graft.common.contract;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BitVectorHelper;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.flatbuf.Buffer;
import org.apache.arrow.flatbuf.FieldNode;
import org.apache.arrow.flatbuf.MessageHeader;
import org.apache.arrow.flatbuf.RecordBatch;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.ipc.ReadChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageMetadataResult;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.util.ValueVectorUtility;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Encodes a feature batch ({@code List<FeatureRow>}) as one Arrow IPC stream (schema message + one
 * record batch + end-of-stream marker) and back. Columns, in order:
 *
 * <pre>
 * image_id  utf8      not null
 * task      utf8      not null
 * label     utf8      nullable
 * split     utf8      not null   train | validation | test
 * base_id   utf8      not null
 * source    utf8      nullable
 * vector    fixed_size_list&lt;item: float32 not null&gt;[dim]  not null
 * </pre>
 *
 * All rows of a batch have the same dim. Each instance owns one allocator (a {@link RootAllocator}, or a
 * child of a shared allocator); it is thread-safe, and {@link #close()} releases the allocator.
 */
public final class FeatureBatchCodec implements AutoCloseable {
    public static final String IMAGE_ID = "image_id";
    public static final String TASK = "task";
    public static final String LABEL = "label";
    public static final String SPLIT = "split";
    public static final String BASE_ID = "base_id";
    public static final String SOURCE = "source";
    public static final String VECTOR = "vector";
    public static final String VECTOR_ITEM = "item";

    /** Upper bound of memory one codec may hold; a malformed batch claiming more is rejected, not allocated. */
    public static final long DEFAULT_ALLOCATION_LIMIT = 1L << 30;

    private static final String[] STRING_COLUMNS = {IMAGE_ID, TASK, LABEL, SPLIT, BASE_ID, SOURCE};

    private final BufferAllocator allocator;

    /** A codec with its own {@link RootAllocator}. */
    public FeatureBatchCodec() {
        this.allocator = new RootAllocator(DEFAULT_ALLOCATION_LIMIT);
    }

    /** A codec allocating from a child of {@code parent}; closing the codec closes only the child. */
    public FeatureBatchCodec(BufferAllocator parent) {
        this.allocator = parent.newChildAllocator("feature-batch-codec", 0, DEFAULT_ALLOCATION_LIMIT);
    }

    /** The Arrow schema of a batch with vectors of length {@code dim}. */
    public static Schema schema(int dim) {
        if (dim < 1) {
            throw new IllegalArgumentException("feature dim must be >= 1: " + dim);
        }
        Field item = new Field(VECTOR_ITEM,
                FieldType.notNullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)), null);
        return new Schema(List.of(
                utf8(IMAGE_ID, false), utf8(TASK, false), utf8(LABEL, true), utf8(SPLIT, false),
                utf8(BASE_ID, false), utf8(SOURCE, true),
                new Field(VECTOR, FieldType.notNullable(new ArrowType.FixedSizeList(dim)), List.of(item))));
    }

    private static Field utf8(String name, boolean nullable) {
        return new Field(name, nullable ? FieldType.nullable(ArrowType.Utf8.INSTANCE)
                : FieldType.notNullable(ArrowType.Utf8.INSTANCE), null);
    }

    /**
     * Encodes a non-empty batch whose rows all have the same vector length.
     *
     * @throws IllegalArgumentException empty batch, or rows of different dims
     */
    public byte[] encode(List<FeatureRow> rows) {
        Objects.requireNonNull(rows, "rows");
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("a feature batch needs at least one row");
        }
        int n = rows.size();
        int dim = rows.get(0).vector().length;
        if (dim < 1) {
            throw new IllegalArgumentException("row 0 (" + rows.get(0).imageId() + ") has an empty vector");
        }
        for (int i = 1; i < n; i++) {
            FeatureRow r = rows.get(i);
            if (r.vector().length != dim) {
                throw new IllegalArgumentException("all rows of a feature batch must have the same dim: row 0 has "
                        + dim + ", row " + i + " (" + r.imageId() + ") has " + r.vector().length);
            }
        }
        try (VectorSchemaRoot root = VectorSchemaRoot.create(schema(dim), allocator)) {
            fill(root, rows, dim);
            ByteArrayOutputStream out = new ByteArrayOutputStream(64 + n * (dim * 4 + 160));
            try (ArrowStreamWriter writer = new ArrowStreamWriter(root, null, Channels.newChannel(out))) {
                writer.start();
                writer.writeBatch();
                writer.end();
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("cannot write Arrow stream to memory", e);
        }
    }

    private static void fill(VectorSchemaRoot root, List<FeatureRow> rows, int dim) {
        int n = rows.size();
        VarCharVector[] strings = new VarCharVector[STRING_COLUMNS.length];
        for (int c = 0; c < STRING_COLUMNS.length; c++) {
            strings[c] = (VarCharVector) root.getVector(STRING_COLUMNS[c]);
            strings[c].allocateNew(n * 32L, n);
        }
        FixedSizeListVector list = (FixedSizeListVector) root.getVector(VECTOR);
        list.setInitialCapacity(n);
        list.allocateNew();
        Float4Vector items = (Float4Vector) list.getDataVector();
        if (items.getValueCapacity() < n * dim) {
            items.setInitialCapacity(n * dim);
            items.allocateNew();
        }
        ArrowBuf data = items.getDataBuffer();
        for (int i = 0; i < n; i++) {
            FeatureRow r = rows.get(i);
            setString(strings[0], i, r.imageId());
            setString(strings[1], i, r.task());
            setString(strings[2], i, r.label());
            setString(strings[3], i, r.split().wire());
            setString(strings[4], i, r.baseId());
            setString(strings[5], i, r.source());
            list.setNotNull(i);
            data.nioBuffer((long) i * dim * Float.BYTES, dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer().put(r.vector());
        }
        int items0 = n * dim;
        // All elements present: set the validity bits in bulk (full bytes, then the tail bits).
        ArrowBuf validity = items.getValidityBuffer();
        validity.setOne(0L, (long) (items0 / 8));
        for (int b = items0 - items0 % 8; b < items0; b++) {
            BitVectorHelper.setBit(validity, b);
        }
        for (VarCharVector v : strings) {
            v.setValueCount(n);
        }
        list.setValueCount(n);
        items.setValueCount(items0);
        root.setRowCount(n);
    }

    private static void setString(VarCharVector v, int i, String s) {
        if (s == null) {
            v.setNull(i);
        } else {
            v.setSafe(i, s.getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Decodes bytes written by {@link #encode(List)}.
     *
     * <p>The stream is read message by message rather than through {@code ArrowStreamReader}: that reader
     * allocates whatever body length a (corrupt) header claims and leaks the body buffer when the batch
     * metadata is inconsistent. Here every length is checked against the input first, and every buffer is
     * released on every path.
     *
     * @throws MalformedFeatureBatchException not an Arrow IPC stream of exactly one batch with the schema above
     */
    public List<FeatureRow> decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new MalformedFeatureBatchException("not a valid feature batch: empty input, expected an Arrow IPC stream",
                    null);
        }
        try (ReadChannel in = new ReadChannel(Channels.newChannel(new ByteArrayInputStream(bytes)))) {
            MessageMetadataResult schemaMessage = nextMessage(bytes, in);
            if (schemaMessage == null || schemaMessage.headerType() != MessageHeader.Schema
                    || schemaMessage.getMessageBodyLength() != 0) {
                throw new MalformedFeatureBatchException("Arrow stream does not start with a schema message", null);
            }
            Schema schema = MessageSerializer.deserializeSchema(schemaMessage);
            int dim = checkSchema(schema);
            MessageMetadataResult batchMessage = nextMessage(bytes, in);
            if (batchMessage == null || batchMessage.headerType() != MessageHeader.RecordBatch) {
                throw new MalformedFeatureBatchException("Arrow stream has a schema but no record batch", null);
            }
            long bodyLength = batchMessage.getMessageBodyLength();
            if (bodyLength < 0 || bodyLength > bytes.length - in.bytesRead()) {
                throw new MalformedFeatureBatchException("record batch body of " + bodyLength
                        + " bytes exceeds the input", null);
            }
            RecordBatch batchFb = (RecordBatch) batchMessage.getMessage().header(new RecordBatch());
            List<FeatureRow> rows;
            ArrowBuf body = MessageSerializer.readMessageBody(in, bodyLength, allocator);
            try {
                checkBatch(batchFb, bodyLength);
                try (ArrowRecordBatch batch = MessageSerializer.deserializeRecordBatch(batchFb, body);
                     VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator)) {
                    new VectorLoader(root).load(batch);
                    ValueVectorUtility.validate(root);
                    rows = read(root, dim);
                }
            } finally {
                int refs = body.refCnt();
                if (refs > 0) {
                    body.getReferenceManager().release(refs);
                }
            }
            if (bytes.length - in.bytesRead() >= 4 && nextMessage(bytes, in) != null) {
                throw new MalformedFeatureBatchException("Arrow stream has more than one message after the schema",
                        null);
            }
            return rows;
        } catch (MalformedFeatureBatchException e) {
            throw new MalformedFeatureBatchException("not a valid feature batch (" + bytes.length + " bytes): "
                    + e.getMessage(), e.getCause());
        } catch (IOException | RuntimeException e) {
            throw new MalformedFeatureBatchException("not a valid feature batch (" + bytes.length + " bytes): "
                    + e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    /** Reads the next message's metadata after checking its length prefix against the input; null at end of stream. */
    private static MessageMetadataResult nextMessage(byte[] bytes, ReadChannel in) throws IOException {
        int pos = (int) in.bytesRead();
        int remaining = bytes.length - pos;
        if (remaining < 4) {
            throw new MalformedFeatureBatchException("Arrow stream ends without an end-of-stream marker", null);
        }
        int prefix = 4;
        int length = leInt(bytes, pos);
        if (length == -1) { // continuation marker, then the length
            if (remaining < 8) {
                throw new MalformedFeatureBatchException("Arrow stream truncated in a message header", null);
            }
            prefix = 8;
            length = leInt(bytes, pos + 4);
        }
        if (length == 0) {
            return MessageSerializer.readMessage(in); // end of stream
        }
        if (length < 0 || length > remaining - prefix) {
            throw new MalformedFeatureBatchException("Arrow message metadata of " + length + " bytes exceeds the input",
                    null);
        }
        return MessageSerializer.readMessage(in);
    }

    private static int leInt(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }

    /** Every buffer inside the body, every count an int: what {@code deserializeRecordBatch} assumes. */
    private static void checkBatch(RecordBatch fb, long bodyLength) {
        if (fb.compression() != null) {
            throw new MalformedFeatureBatchException("compressed Arrow batches are not used by Graft", null);
        }
        if (fb.length() < 0 || fb.length() > Integer.MAX_VALUE) {
            throw new MalformedFeatureBatchException("record batch length " + fb.length() + " out of range", null);
        }
        for (int i = 0; i < fb.nodesLength(); i++) {
            FieldNode node = fb.nodes(i);
            if (node.length() < 0 || node.length() > Integer.MAX_VALUE || node.nullCount() < 0
                    || node.nullCount() > node.length()) {
                throw new MalformedFeatureBatchException("field node " + i + " out of range", null);
            }
        }
        for (int i = 0; i < fb.buffersLength(); i++) {
            Buffer b = fb.buffers(i);
            if (b.offset() < 0 || b.length() < 0 || b.offset() > bodyLength || b.length() > bodyLength - b.offset()) {
                throw new MalformedFeatureBatchException("buffer " + i + " [" + b.offset() + ", +" + b.length()
                        + ") outside the " + bodyLength + "-byte body", null);
            }
        }
    }

    private static int checkSchema(Schema schema) {
        List<Field> fields = schema.getFields();
        Field vector = fields.size() == 7 ? fields.get(6) : null;
        if (vector == null || !(vector.getType() instanceof ArrowType.FixedSizeList)) {
            throw new MalformedFeatureBatchException("unexpected Arrow schema " + schema, null);
        }
        int dim = ((ArrowType.FixedSizeList) vector.getType()).getListSize();
        Schema expected = schema(Math.max(1, dim));
        if (dim < 1 || !expected.getFields().equals(fields)) {
            throw new MalformedFeatureBatchException("unexpected Arrow schema " + schema + ", expected " + expected,
                    null);
        }
        return dim;
    }

    private static List<FeatureRow> read(VectorSchemaRoot root, int dim) {
        int n = root.getRowCount();
        VarCharVector imageId = (VarCharVector) root.getVector(IMAGE_ID);
        VarCharVector task = (VarCharVector) root.getVector(TASK);
        VarCharVector label = (VarCharVector) root.getVector(LABEL);
        VarCharVector split = (VarCharVector) root.getVector(SPLIT);
        VarCharVector baseId = (VarCharVector) root.getVector(BASE_ID);
        VarCharVector source = (VarCharVector) root.getVector(SOURCE);
        FixedSizeListVector list = (FixedSizeListVector) root.getVector(VECTOR);
        Float4Vector items = (Float4Vector) list.getDataVector();
        for (FieldVector v : root.getFieldVectors()) {
            if (v.getValueCount() != n) {
                throw new MalformedFeatureBatchException("column " + v.getName() + " has " + v.getValueCount()
                        + " values, batch has " + n + " rows", null);
            }
        }
        if (items.getValueCount() < n * dim) {
            throw new MalformedFeatureBatchException("vector column has " + items.getValueCount()
                    + " floats, expected " + n + " x " + dim, null);
        }
        if (list.getNullCount() != 0 || items.getNullCount() != 0) {
            throw new MalformedFeatureBatchException("vector column contains nulls", null);
        }
        ArrowBuf data = items.getDataBuffer();
        List<FeatureRow> rows = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            float[] vec = new float[dim];
            data.nioBuffer((long) i * dim * Float.BYTES, dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer().get(vec);
            String s = required(split, i);
            Split sp;
            try {
                sp = Split.parse(s);
            } catch (IllegalArgumentException e) {
                throw new MalformedFeatureBatchException("row " + i + ": " + e.getMessage(), e);
            }
            rows.add(new FeatureRow(required(imageId, i), required(task, i), optional(label, i), sp,
                    required(baseId, i), vec, optional(source, i)));
        }
        return rows;
    }

    private static String required(VarCharVector v, int i) {
        if (v.isNull(i)) {
            throw new MalformedFeatureBatchException("row " + i + ": " + v.getName() + " is null", null);
        }
        return new String(v.get(i), StandardCharsets.UTF_8);
    }

    private static String optional(VarCharVector v, int i) {
        return v.isNull(i) ? null : new String(v.get(i), StandardCharsets.UTF_8);
    }

    /** Bytes currently allocated by this codec (0 between calls). */
    public long allocatedBytes() {
        return allocator.getAllocatedMemory();
    }

    /** Releases the allocator; fails if memory is still allocated (a leak). */
    @Override
    public void close() {
        allocator.close();
    }
}
