package dev.graft.headtrainer;

import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.Split;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Labelled bottleneck vectors of one task and one base, kept compact in memory.
 *
 * <p><b>Layout.</b> All vectors live row-major in one heap {@code float[]} that doubles when full
 * (amortised O(1) append, at most 2x slack, reported by {@link #bytesUsed()}). A heap array rather
 * than an off-heap buffer: the head is trained by ND4J, which needs its own off-heap copy anyway
 * (it cannot wrap a foreign direct buffer through its public API), so off-heap storage would not
 * save that copy but would add manual freeing. The split accessors copy each selected row exactly
 * once, straight into the ND4J buffer. A float[] holds at most 2^31-1 floats: ~1.6 M rows at 1280-d.
 *
 * <p><b>Dedup.</b> One row per image id: features may be redelivered. A redelivery with the same
 * label is a no-op; with a different label the row is relabelled (the vector is kept: same image,
 * same base, same vector). Unlabelled rows are not stored.
 *
 * <p><b>Labels.</b> Indices are assigned in order of first appearance (any split) and never change,
 * so a head trained earlier has a label list that is a prefix of {@link #labels()}.
 *
 * <p>Thread-safe: methods are synchronized (a consumer thread adds, a trainer thread reads).
 */
public final class VectorStore {

    public enum AddResult { ADDED, DUPLICATE, RELABELLED, SKIPPED_UNLABELLED }

    /**
     * Rows of one split: {@code features} [n, dim] float (its own ND4J buffer), {@code labels} label
     * indices into {@link VectorStore#labels()} at the time of the call, {@code imageIds} row ids.
     */
    public record SplitData(INDArray features, int[] labels, List<String> imageIds, List<String> labelNames) {
        public int size() {
            return labels.length;
        }
    }

    private static final int INITIAL_ROWS = 256;

    private final String task;
    private final String baseId;
    private final int dim;
    private float[] data;
    private int[] labelOf;
    private byte[] splitOf;
    private final List<String> ids = new ArrayList<>();
    private final Map<String, Integer> rowOf = new HashMap<>();
    private final List<String> labels = new ArrayList<>();
    private final Map<String, Integer> labelIndex = new HashMap<>();
    private final int[] splitCounts = new int[Split.values().length];
    private int rows;
    private long trainChanges;

    public VectorStore(String task, String baseId, int dim) {
        this.task = Objects.requireNonNull(task, "task");
        this.baseId = Objects.requireNonNull(baseId, "baseId");
        if (dim < 1) {
            throw new IllegalArgumentException("dim must be >= 1: " + dim);
        }
        this.dim = dim;
        this.data = new float[Math.multiplyExact(INITIAL_ROWS, dim)];
        this.labelOf = new int[INITIAL_ROWS];
        this.splitOf = new byte[INITIAL_ROWS];
    }

    public String task() {
        return task;
    }

    public String baseId() {
        return baseId;
    }

    public int dim() {
        return dim;
    }

    /** Adds a feature row of this store's task and base. */
    public AddResult add(FeatureRow row) {
        if (!task.equals(row.task())) {
            throw new IllegalArgumentException("row of task '" + row.task() + "' in store of task '" + task + "'");
        }
        if (!baseId.equals(row.baseId())) {
            throw new IllegalArgumentException("row of base '" + row.baseId() + "' in store of base '" + baseId + "'");
        }
        return add(row.imageId(), row.label(), row.split(), row.vector());
    }

    public synchronized AddResult add(String imageId, String label, Split split, float[] vector) {
        Objects.requireNonNull(imageId, "imageId");
        Objects.requireNonNull(split, "split");
        Objects.requireNonNull(vector, "vector");
        if (vector.length != dim) {
            throw new IllegalArgumentException("vector of image '" + imageId + "' has length " + vector.length
                    + ", store dim is " + dim);
        }
        if (label == null || label.isBlank()) {
            return AddResult.SKIPPED_UNLABELLED;
        }
        Integer existing = rowOf.get(imageId);
        if (existing != null) {
            int li = labelIndexFor(label);
            if (labelOf[existing] == li) {
                return AddResult.DUPLICATE;
            }
            labelOf[existing] = li;
            if (splitOf[existing] == Split.TRAIN.ordinal()) {
                trainChanges++;
            }
            return AddResult.RELABELLED;
        }
        for (float v : vector) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("vector of image '" + imageId + "' has a non-finite value");
            }
        }
        ensureCapacity(rows + 1);
        System.arraycopy(vector, 0, data, rows * dim, dim);
        labelOf[rows] = labelIndexFor(label);
        splitOf[rows] = (byte) split.ordinal();
        ids.add(imageId);
        rowOf.put(imageId, rows);
        splitCounts[split.ordinal()]++;
        if (split == Split.TRAIN) {
            trainChanges++;
        }
        rows++;
        return AddResult.ADDED;
    }

    private int labelIndexFor(String label) {
        Integer li = labelIndex.get(label);
        if (li == null) {
            li = labels.size();
            labels.add(label);
            labelIndex.put(label, li);
        }
        return li;
    }

    private void ensureCapacity(int neededRows) {
        if (neededRows <= labelOf.length) {
            return;
        }
        int newRows = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(neededRows, 2L * labelOf.length));
        long floats = (long) newRows * dim;
        if (floats > Integer.MAX_VALUE - 8) {
            newRows = (Integer.MAX_VALUE - 8) / dim;
            if (newRows < neededRows) {
                throw new IllegalStateException("store full: " + rows + " rows of dim " + dim);
            }
        }
        data = Arrays.copyOf(data, newRows * dim);
        labelOf = Arrays.copyOf(labelOf, newRows);
        splitOf = Arrays.copyOf(splitOf, newRows);
    }

    /** Rows stored (all splits). */
    public synchronized int size() {
        return rows;
    }

    public synchronized int size(Split split) {
        return splitCounts[split.ordinal()];
    }

    /** Monotone count of train rows added or relabelled: the input of {@link TrainingPolicy#check}. */
    public synchronized long trainChanges() {
        return trainChanges;
    }

    /** Label vocabulary, index order = first appearance. An immutable snapshot. */
    public synchronized List<String> labels() {
        return List.copyOf(labels);
    }

    /** -1 if unknown. */
    public synchronized int labelIndex(String label) {
        return labelIndex.getOrDefault(label, -1);
    }

    public synchronized boolean contains(String imageId) {
        return rowOf.containsKey(imageId);
    }

    /** Rows per label index in one split. */
    public synchronized int[] labelCounts(Split split) {
        int[] counts = new int[labels.size()];
        for (int r = 0; r < rows; r++) {
            if (splitOf[r] == split.ordinal()) {
                counts[labelOf[r]]++;
            }
        }
        return counts;
    }

    public SplitData train() {
        return split(Split.TRAIN);
    }

    public SplitData validation() {
        return split(Split.VALIDATION);
    }

    public SplitData test() {
        return split(Split.TEST);
    }

    /**
     * The rows of one split in insertion order. Each vector is copied once, from the heap array
     * straight into the native buffer of a new [n, dim] float INDArray. n = 0 gives a [0, dim] array.
     */
    public synchronized SplitData split(Split split) {
        int n = splitCounts[split.ordinal()];
        int[] y = new int[n];
        List<String> rowIds = new ArrayList<>(n);
        INDArray x = n == 0 ? Nd4j.create(DataType.FLOAT, 0, dim) : Nd4j.createUninitialized(DataType.FLOAT, n, dim);
        FloatBuffer out = n == 0 ? null : x.data().asNioFloat();
        int i = 0;
        for (int r = 0; r < rows; r++) {
            if (splitOf[r] == split.ordinal()) {
                out.put(i * dim, data, r * dim, dim);
                y[i] = labelOf[r];
                rowIds.add(ids.get(r));
                i++;
            }
        }
        return new SplitData(x, y, Collections.unmodifiableList(rowIds), List.copyOf(labels));
    }

    /**
     * Approximate heap bytes held: the vector array at its current capacity, the per-row label and
     * split arrays, and the id index (string payload + ~64 bytes of HashMap/ArrayList overhead per row).
     */
    public synchronized long bytesUsed() {
        long b = 4L * data.length + 4L * labelOf.length + splitOf.length;
        for (String id : ids) {
            b += 40 + id.length() + 64;
        }
        return b;
    }

    /** Bytes the vectors themselves need (rows x dim x 4), without slack or ids. */
    public synchronized long vectorBytes() {
        return 4L * rows * dim;
    }
}
