package dev.graft.featureworker.internal;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.FeatureRow;
import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Split;
import dev.graft.common.image.RgbImage;
import dev.graft.common.image.ImageDecoder;
import dev.graft.common.image.ImageRejectedException;
import dev.graft.common.image.Resizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Turns a batch of image records into feature rows: read the contract headers, guard and decode,
 * resize into one NHWC buffer ({@link #decode}), one forward pass through the base for all its cuts
 * ({@link #extract}). Pure computation: no Kafka I/O.
 * A record that cannot be featurized becomes a {@link Rejection} naming the stage; the others go on.
 */
public final class BatchFeaturizer {
    /** Default split percentages when a record arrives without a split header. */
    static final double DEFAULT_VALIDATION_PERCENT = 10;
    static final double DEFAULT_TEST_PERCENT = 10;

    /** Values of the {@code graft.dlq.stage} header, in processing order. */
    public static final String STAGE_CONTRACT = "contract";
    public static final String STAGE_GUARD = "guard";
    public static final String STAGE_DECODE = "decode";
    public static final String STAGE_PREPROCESS = "preprocess";
    public static final String STAGE_EXTRACT = "extract";

    /**
     * Pixel buffers kept for reuse by default: two decoded batches (one in the forward pass, one queued behind it),
     * plus one spare. A worker queueing more batches asks for more ({@link #BatchFeaturizer(BaseNetwork,
     * ImageDecoder, int)}).
     */
    static final int POOLED_BUFFERS = 3;

    private final BaseNetwork base;
    private final ImageDecoder decoder;
    private final PixelBufferPool buffers;
    /** A smaller batch runs zero-padded to this many images (0: as it is); see {@link #lanes(List, ImageDecoder, int, int)}. */
    private final int padTo;
    /** One image of zeros, for the padding rows. */
    private float[] zeros;
    /** The last forward pass's input array ({@link #inputArray}); touched only by the thread that extracts. */
    private INDArray input;

    public BatchFeaturizer(BaseNetwork base, ImageDecoder decoder) {
        this(base, decoder, POOLED_BUFFERS);
    }

    /** @param pooledBuffers pixel buffers kept for reuse: the decoded batches held at once, plus one */
    public BatchFeaturizer(BaseNetwork base, ImageDecoder decoder, int pooledBuffers) {
        this(base, decoder, new PixelBufferPool(pooledBuffers), 0);
    }

    private BatchFeaturizer(BaseNetwork base, ImageDecoder decoder, PixelBufferPool buffers, int padTo) {
        if (padTo < 0) throw new IllegalArgumentException("padTo must be >= 0: " + padTo);
        this.base = base;
        this.decoder = decoder;
        this.buffers = buffers;
        this.padTo = padTo;
    }

    /**
     * One featurizer per inference lane, one per copy of the base in {@code bases}, sharing {@code pooledBuffers} pixel
     * buffers and the decoder: a batch decoded by any of them ({@link #decode} uses no network state) can be
     * extracted by any other, which gives its buffer back to the shared pool.
     *
     * @throws IllegalArgumentException unless the copies are of one base (the same ids for the same cuts)
     */
    public static List<BatchFeaturizer> lanes(List<BaseNetwork> bases, ImageDecoder decoder, int pooledBuffers) {
        return lanes(bases, decoder, pooledBuffers, 0);
    }

    /**
     * As {@link #lanes(List, ImageDecoder, int)}, each featurizer running a batch of fewer than {@code padTo} images
     * as one of {@code padTo} (the rest zeros, their outputs dropped). The base's buffers are per batch size (the
     * folded executor keeps two sizes' worth), so a partial batch (the input paused, or the worker's batch wait
     * ran out) made new ones: at 224 px, one batch of 15 among batches of 16 left the process 190 MB larger for
     * good, and the worker's memory check once stepped up 600 MB mid-run (eighteenth session). A partial batch
     * now costs a full one's forward pass instead.
     *
     * @param padTo the worker's batch size; 0 runs every batch at its own size
     */
    public static List<BatchFeaturizer> lanes(List<BaseNetwork> bases, ImageDecoder decoder, int pooledBuffers, int padTo) {
        if (bases.isEmpty()) throw new IllegalArgumentException("at least one base copy");
        List<String> ids = idsOf(bases.get(0));
        PixelBufferPool shared = new PixelBufferPool(pooledBuffers);
        List<BatchFeaturizer> lanes = new ArrayList<>(bases.size());
        for (BaseNetwork b : bases) {
            if (!idsOf(b).equals(ids)) {
                throw new IllegalArgumentException("inference lanes need copies of one base: " + idsOf(b) + " is not " + ids);
            }
            lanes.add(new BatchFeaturizer(b, decoder, shared, padTo));
        }
        return List.copyOf(lanes);
    }

    private static List<String> idsOf(BaseNetwork b) {
        return b.refs().stream().map(BaseRef::id).toList();
    }

    /** Pixel buffers free in this featurizer's pool (shared by the lanes of one worker). */
    int freeBuffers() {
        return buffers.freeCount();
    }

    /** The first cut's ref (the only one unless the base has several cuts). */
    public BaseRef baseRef() {
        return base.ref();
    }

    /** One ref per cut of the base; every featurized image gets one row per ref. */
    public List<BaseRef> baseRefs() {
        return base.refs();
    }

    public record Rejection(ConsumerRecord<byte[], byte[]> record, String stage, Exception error) {}

    /**
     * @param rows one row per featurized image and cut (rows of a cut carry that cut's base id)
     * @param images how many images were featurized
     */
    public record Result(List<FeatureRow> rows, List<Rejection> rejections, int images) {}

    private record Prepared(ConsumerRecord<byte[], byte[]> record, String imageId, String task, String label, Split split) {}

    /**
     * A batch after decoding: the images that decoded, in one NHWC buffer (pooled: {@link #extract} gives it back,
     * so a batch is extracted once), and the rejections so far.
     */
    public static final class Decoded {
        private final List<Prepared> ok;
        private final List<Rejection> rejections;
        private float[] buffer;

        private Decoded(List<Prepared> ok, List<Rejection> rejections, float[] buffer) {
            this.ok = ok;
            this.rejections = rejections;
            this.buffer = buffer;
        }
    }

    /**
     * One forward pass of {@code n} blank images on the calling thread, results discarded: the first pass on a
     * fresh thread pays ND4J's and oneDNN's per-thread set-up, which a worker overlaps with its group join.
     */
    public void warmUp(int n) {
        int size = base.ref().inputSize();
        extract(new float[n * Resizer.floatsPerImage(size)], n, size, true);
    }

    /** First phase: contract headers, guard, decode, resize into one buffer. Uses no network state. */
    public Decoded decode(List<ConsumerRecord<byte[], byte[]>> records) {
        int size = base.ref().inputSize();
        int pixels = size * size * 3;
        List<Rejection> rejections = new ArrayList<>();
        List<Prepared> ok = new ArrayList<>(records.size());
        float[] buffer = buffers.take(records.size() * pixels); // each decoded image overwrites its whole slot
        for (ConsumerRecord<byte[], byte[]> r : records) {
            Prepared p;
            try {
                p = readContract(r);
            } catch (IllegalArgumentException e) {
                rejections.add(new Rejection(r, STAGE_CONTRACT, e));
                continue;
            }
            try {
                RgbImage img = decoder.decode(r.value());
                Resizer.resizeInto(img, size, buffer, ok.size() * pixels);
            } catch (ImageRejectedException e) {
                rejections.add(new Rejection(r, stageOf(e), e));
                continue;
            } catch (RuntimeException e) {
                rejections.add(new Rejection(r, STAGE_PREPROCESS, e));
                continue;
            }
            ok.add(p);
        }
        return new Decoded(ok, rejections, buffer);
    }

    /**
     * Second phase: one forward pass for all cuts; a failing batch is retried image by image. Gives the batch's
     * pixel buffer back to the pool, so {@code d} cannot be extracted again.
     */
    public Result extract(Decoded d) {
        float[] buffer = d.buffer;
        if (buffer == null) throw new IllegalStateException("this batch was extracted already");
        d.buffer = null;
        try {
            return extract(d, buffer);
        } finally {
            buffers.give(buffer);
        }
    }

    private Result extract(Decoded d, float[] buffer) {
        List<Prepared> ok = d.ok;
        List<Rejection> rejections = new ArrayList<>(d.rejections);
        List<FeatureRow> rows = new ArrayList<>(ok.size() * base.refs().size());
        if (ok.isEmpty()) {
            return new Result(rows, rejections, 0);
        }
        int size = base.ref().inputSize();
        int pixels = size * size * 3;
        List<float[][]> vectors; // per cut, per image
        try {
            vectors = extract(buffer, ok.size(), size, true);
        } catch (RuntimeException batchFailure) {
            // One bad input must not sink the batch: run each image alone and reject only the culprits.
            vectors = new ArrayList<>();
            for (int c = 0; c < base.refs().size(); c++) vectors.add(new float[ok.size()][]);
            for (int i = 0; i < ok.size(); i++) {
                float[] one = new float[pixels];
                System.arraycopy(buffer, i * pixels, one, 0, pixels);
                try {
                    List<float[][]> single = extract(one, 1, size, false); // a retry: not worth a padded pass
                    for (int c = 0; c < single.size(); c++) vectors.get(c)[i] = single.get(c)[0];
                } catch (RuntimeException e) {
                    rejections.add(new Rejection(ok.get(i).record(), STAGE_EXTRACT, e));
                }
            }
        }
        int images = 0;
        for (int c = 0; c < base.refs().size(); c++) {
            String baseId = base.refs().get(c).id();
            float[][] v = vectors.get(c);
            for (int i = 0; i < ok.size(); i++) {
                if (v[i] != null) {
                    Prepared p = ok.get(i);
                    ConsumerRecord<byte[], byte[]> r = p.record();
                    rows.add(new FeatureRow(p.imageId(), p.task(), p.label(), p.split(), baseId, v[i],
                            r.topic() + "-" + r.partition() + "@" + r.offset()));
                    if (c == 0) images++;
                }
            }
        }
        return new Result(rows, rejections, images);
    }

    /** {@code guard} for refusals from the header or size caps (no pixel decoded), {@code decode} otherwise. */
    static String stageOf(ImageRejectedException e) {
        return switch (e.reason()) {
            case EMPTY, TOO_LARGE_BYTES, TOO_MANY_PIXELS, BAD_ASPECT -> STAGE_GUARD;
            case UNSUPPORTED_FORMAT, CORRUPT -> STAGE_DECODE;
        };
    }

    /** @param pad run {@code n} images as {@link #padTo} when that is more (the rest zeros) */
    private List<float[][]> extract(float[] buffer, int n, int size, boolean pad) {
        int pixels = size * size * 3;
        int rows = pad && padTo > n ? padTo : n;
        INDArray input = inputArray(rows, size);
        // one bulk copy into the native buffer (Nd4j.create(float[]) copies element by element); with the padding it
        // overwrites all of it, so a base that preprocesses its input in place leaves nothing behind for the next batch
        java.nio.FloatBuffer in = input.data().asNioFloat();
        in.put(0, buffer, 0, n * pixels);
        if (rows > n) {
            if (zeros == null || zeros.length != pixels) zeros = new float[pixels];
            for (int r = n; r < rows; r++) in.put(r * pixels, zeros, 0, pixels);
        }
        List<INDArray> outs = base.extractAll(input);
        if (outs.size() != base.refs().size()) {
            throw new IllegalStateException("base returned " + outs.size() + " outputs for " + base.refs().size() + " cuts");
        }
        List<float[][]> vectors = new ArrayList<>(outs.size());
        for (INDArray out : outs) {
            float[][] m = out.toFloatMatrix();
            vectors.add(rows > n ? java.util.Arrays.copyOf(m, n) : m);
        }
        return vectors;
    }

    /**
     * The native input array for a batch of {@code n}: the previous batch's when it had the same size, else a new one
     * that replaces it. A fresh array per batch (9.6 MB at 224 px batch 16) is native memory that ND4J frees only
     * when the GC collects its Java wrapper; at ~50 img/s the worker held ~2.4 GB of them between two young GCs
     * (twelfth session). Only the inference thread extracts, so the array is confined to it.
     */
    private INDArray inputArray(int n, int size) {
        INDArray in = input;
        if (in == null || in.size(0) != n || in.size(1) != size) {
            in = Nd4j.createUninitialized(DataType.FLOAT, n, size, size, 3);
            input = in;
        }
        return in;
    }

    static Prepared readContract(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null || r.key().length == 0) {
            throw new IllegalArgumentException("image record has no key (the image id)");
        }
        if (r.value() == null) {
            throw new IllegalArgumentException("image record has no value (the image bytes)");
        }
        String id = new String(r.key(), StandardCharsets.UTF_8);
        String task = ImageHeaders.get(r.headers(), ImageHeaders.TASK)
                .orElseThrow(() -> new IllegalArgumentException("image " + id + " has no " + ImageHeaders.TASK + " header"));
        String label = ImageHeaders.get(r.headers(), ImageHeaders.LABEL).orElse(null);
        Optional<String> splitHeader = ImageHeaders.get(r.headers(), ImageHeaders.SPLIT);
        Split split = splitHeader.isPresent() ? Split.parse(splitHeader.get())
                : Split.assign(id, DEFAULT_VALIDATION_PERCENT, DEFAULT_TEST_PERCENT);
        return new Prepared(r, id, task, label, split);
    }
}
